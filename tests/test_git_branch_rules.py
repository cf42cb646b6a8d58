"""The branch rules: commit to an existing branch, refuse to create the default branch, else
create an orphan whose root is the same deterministic genesis commit everywhere."""

from __future__ import annotations

from pathlib import Path

from pytest_agentv.git.repository import genesis_sha
from pytest_agentv.store.git import RUNS_GENESIS
from tests.git_fixtures import git
from tests.helpers import BRANCH, git_store, worktree_state
from tests.runs import make_run

RUNS_ROOT = genesis_sha(RUNS_GENESIS.message, RUNS_GENESIS.readme)


def test_a_new_branch_is_an_orphan_rooted_at_the_same_genesis_everywhere(
    source_repo: Path, tmp_path: Path, make_bare_remote: object
) -> None:
    other_project = tmp_path / "other"
    other_project.mkdir()
    git_store(source_repo).write(make_run())
    git_store(other_project).write(make_run())  # not in git: local cache repository

    roots = {
        git("rev-list", "--max-parents=0", BRANCH, cwd=source_repo),
        git("rev-list", "--max-parents=0", BRANCH, cwd=other_project / ".agentv/cache/local.git"),
    }
    assert roots == {RUNS_ROOT}
    assert git("log", "--format=%P", "-1", RUNS_ROOT, cwd=source_repo) == ""  # no parents
    # the project's own history is not an ancestor of the runs branch
    assert git("merge-base", "main", BRANCH, cwd=source_repo, check=False) == ""


def test_an_existing_branch_gets_a_child_of_its_tip(source_repo: Path, bare_remote: Path) -> None:
    git("branch", "evals", "main", cwd=source_repo)
    old_tip = git("rev-parse", "evals", cwd=source_repo)
    store = git_store(source_repo, branch="evals")

    store.write(make_run())

    assert git("rev-parse", "evals^", cwd=source_repo) == old_tip
    assert git("rev-parse", "evals~1:README.md", cwd=source_repo) == git(
        "rev-parse", "evals:README.md", cwd=source_repo
    )


def test_creating_the_remote_default_branch_is_refused_and_the_run_kept(
    source_repo: Path, bare_remote: Path
) -> None:
    git("remote", "add", "origin", str(bare_remote), cwd=source_repo)
    git("checkout", "--quiet", "-b", "work", cwd=source_repo)
    store = git_store(source_repo, remote="origin", branch="main")
    run = make_run()

    result = store.write(run)

    assert not result.delivered
    (problem,) = result.problems
    assert "refusing to create branch 'main'" in problem
    assert "--agentv-branch" in problem and "create the branch first" in problem
    assert "agentv-results sync" in problem
    spooled = source_repo / ".agentv" / "spool" / run.run_id
    assert str(spooled) == result.location and (spooled / "summary.json").is_file()
    assert git("ls-remote", str(bare_remote)) == ""
    assert store.pending_run_ids() == {run.run_id}
    assert [stored.summary.run_id for stored in store.list()] == [run.run_id]

    # creating the branch first is the fix: sync then delivers the kept run
    git("push", "--quiet", str(bare_remote), "main", cwd=source_repo)
    report = store.sync()
    assert report.pushed == (run.run_id,) and report.delivered
    assert git("log", "-1", "--format=%s", "main", cwd=bare_remote) == f"Run: {run.run_id}"
    assert not spooled.exists()


def test_the_remote_head_decides_what_the_default_branch_is(
    source_repo: Path, make_bare_remote: object
) -> None:
    remote = make_bare_remote("trunky", initial_branch="trunk")  # type: ignore[operator]
    git("remote", "add", "origin", str(remote), cwd=source_repo)
    refused = git_store(source_repo, remote="origin", branch="trunk").write(make_run())
    assert not refused.delivered and "'trunk'" in refused.problems[0]

    # main is not the default here (the remote said so), so it may be created as an orphan;
    # the refused trunk run stays spooled for trunk: it never goes to another branch
    created = git_store(source_repo, remote="origin", branch="master").write(make_run())
    assert created.delivered
    assert git("rev-list", "--max-parents=0", "master", cwd=remote) == RUNS_ROOT
    assert git("rev-list", "--count", "master", cwd=remote) == "2"
    assert git_store(source_repo, remote="origin", branch="trunk").spool.run_ids() == [
        refused.run_id
    ]


def test_without_a_remote_the_source_head_is_the_default(source_repo: Path) -> None:
    git("checkout", "--quiet", "-b", "develop", cwd=source_repo)
    refused = git_store(source_repo, branch="main").write(make_run())
    # main exists in the source repository, so it is simply committed to
    assert refused.delivered
    assert git("rev-list", "--count", "main", cwd=source_repo) == "2"


def test_main_and_master_are_default_when_nothing_says_otherwise(
    tmp_path: Path, git_env: Path
) -> None:
    for branch in ("main", "master"):
        result = git_store(tmp_path, branch=branch).write(make_run())
        assert not result.delivered and f"'{branch}'" in result.problems[0]
    assert git_store(tmp_path, branch="results").write(make_run()).delivered


def test_the_checked_out_branch_is_never_committed_to(source_repo: Path, bare_remote: Path) -> None:
    before = worktree_state(source_repo)
    store = git_store(source_repo, branch="main")
    result = store.write(make_run())
    assert not result.delivered and "checked out" in result.problems[0]
    assert worktree_state(source_repo) == before
    # reading it is harmless, and allowed
    assert store.tip() == git("rev-parse", "main", cwd=source_repo)
    assert [commit.run_id for commit in store.walk()] == [None]

    # with a remote, a cache repository holds the branch instead and the source is untouched
    git("push", "--quiet", str(bare_remote), "main", cwd=source_repo)
    git("remote", "add", "origin", str(bare_remote), cwd=source_repo)
    before = worktree_state(source_repo)
    pushed = git_store(source_repo, branch="main", remote="origin").write(make_run())
    assert pushed.delivered and any("cache repository" in note for note in pushed.notes)
    assert worktree_state(source_repo) == before
    assert git("rev-list", "--count", "main", cwd=bare_remote) == "3"  # initial + 2 runs


def test_a_branch_that_exists_only_remotely_is_fetched_not_recreated(
    source_repo: Path, bare_remote: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    first = git_store(elsewhere, remote=str(bare_remote)).write(make_run())
    remote_tip = git("rev-parse", BRANCH, cwd=bare_remote)
    git("remote", "add", "origin", str(bare_remote), cwd=source_repo)

    second = git_store(source_repo, remote="origin").write(make_run())

    assert first.delivered and second.delivered
    assert git("rev-parse", f"{BRANCH}^", cwd=bare_remote) == remote_tip
    assert git("rev-list", "--max-parents=0", BRANCH, cwd=bare_remote) == RUNS_ROOT


def test_a_path_prefix_on_a_shared_main_keeps_the_existing_files(
    source_repo: Path, bare_remote: Path
) -> None:
    git("push", "--quiet", str(bare_remote), "main", cwd=source_repo)
    old_tip = git("rev-parse", "main", cwd=bare_remote)
    elsewhere = source_repo.parent / "ci"
    elsewhere.mkdir()
    store = git_store(elsewhere, remote=str(bare_remote), branch="main", path="evals/runs")

    run = make_run()
    result = store.write(run)

    assert result.delivered
    assert git("rev-parse", "main^", cwd=bare_remote) == old_tip
    files = git("ls-tree", "-r", "--name-only", "main", cwd=bare_remote).splitlines()
    assert "README.md" in files
    assert f"evals/runs/{run.run_id[:2]}/{run.run_id[2:]}/summary.json" in files
    git("fsck", "--strict", cwd=bare_remote)


def test_the_runs_branch_root_is_the_one_every_earlier_version_made() -> None:
    """Two machines on different versions creating the runs branch at once must make the same
    root commit, so its bytes never change."""
    assert RUNS_ROOT == "9fd354911b496295cceb26d4ef54e759d2b6c593"

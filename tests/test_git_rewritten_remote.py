"""A run the remote once acknowledged is never pushed again after the branch is rewritten."""

from __future__ import annotations

from pathlib import Path

from tests.git_fixtures import git
from tests.helpers import BRANCH, assert_delivered_once, git_store
from tests.runs import make_run


def _run_ids(remote: Path) -> list[str]:
    log = git("log", "--format=%(trailers:key=AgentV-Run,valueonly)", BRANCH, cwd=remote)
    return [line for line in log.splitlines() if line]


def _purge_oldest_run(remote: Path, work: Path) -> None:
    """What a maintainer does about a leaked secret: drop the run's commit, force-push."""
    git("clone", "--quiet", "--branch", BRANCH, str(remote), str(work), cwd=remote.parent)
    git("-c", "user.name=Admin", "-c", "user.email=admin@example.com",
        "rebase", "--quiet", "--onto", "HEAD~2", "HEAD~1", cwd=work)  # fmt: skip
    git("push", "--quiet", "--force", "origin", BRANCH, cwd=work)


def test_purged_run_is_not_pushed_back(
    source_repo: Path, bare_remote: Path, tmp_path: Path
) -> None:
    git("remote", "add", "origin", str(bare_remote), cwd=source_repo)
    store = git_store(source_repo, remote="origin")
    leaked, kept = make_run(), make_run()
    assert store.write(leaked).delivered and store.write(kept).delivered
    _purge_oldest_run(bare_remote, tmp_path / "admin")
    assert _run_ids(bare_remote) == [kept.run_id]

    later = make_run()
    result = git_store(source_repo, remote="origin").write(later)

    assert result.delivered
    (problem,) = result.problems
    assert "was rewritten" in problem and f"Run: {leaked.run_id}" in problem
    assert "not pushed again" in problem
    assert_delivered_once(bare_remote, [kept.run_id, later.run_id])
    # the clone forgot it too: the next session neither pushes it nor complains again
    again = make_run()
    result = git_store(source_repo, remote="origin").write(again)
    assert result.delivered and result.problems == ()
    assert_delivered_once(bare_remote, [kept.run_id, later.run_id, again.run_id])
    assert leaked.run_id not in git("log", "--format=%B", BRANCH, cwd=source_repo)


def test_unpushed_runs_survive_a_rewrite(
    source_repo: Path, bare_remote: Path, tmp_path: Path
) -> None:
    git("remote", "add", "origin", str(bare_remote), cwd=source_repo)
    store = git_store(source_repo, remote="origin")
    leaked, kept = make_run(), make_run()
    assert store.write(leaked).delivered and store.write(kept).delivered
    # a run committed while the remote is unreachable, then the purge
    git("remote", "set-url", "origin", str(tmp_path / "gone.git"), cwd=source_repo)
    offline = make_run()
    assert not git_store(source_repo, remote="origin").write(offline).delivered
    git("remote", "set-url", "origin", str(bare_remote), cwd=source_repo)
    _purge_oldest_run(bare_remote, tmp_path / "admin")

    report = git_store(source_repo, remote="origin").sync()

    assert any("was rewritten" in problem for problem in report.problems)
    assert_delivered_once(bare_remote, [kept.run_id, offline.run_id])


def test_deleted_remote_branch_is_not_recreated(source_repo: Path, bare_remote: Path) -> None:
    git("remote", "add", "origin", str(bare_remote), cwd=source_repo)
    store = git_store(source_repo, remote="origin")
    assert store.write(make_run()).delivered
    git("update-ref", "-d", f"refs/heads/{BRANCH}", cwd=bare_remote)

    result = git_store(source_repo, remote="origin").write(make_run())

    assert not result.delivered
    assert "was deleted" in result.problems[0] and "not recreated" in result.problems[0]
    assert git("for-each-ref", cwd=bare_remote) == ""

"""The git store: layout, commit message and trailers, where objects go, the read API.

Every check is made against real repositories and cross-checked with the git CLI.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_agentv.store import RunExists, RunNotFound
from pytest_agentv.store.git import RunCommit
from pytest_agentv.store.paths import RUN_FILES, SUMMARY_FILE
from tests.git_fixtures import git
from tests.helpers import BRANCH, git_store, worktree_state
from tests.runs import make_run


def test_run_layout_message_and_trailers_read_back_with_git(
    source_repo: Path, bare_remote: Path
) -> None:
    git("remote", "add", "origin", str(bare_remote), cwd=source_repo)
    store = git_store(source_repo, remote="origin", path="evals/runs")
    run = make_run(model="gpt-4o\nmini", eval_file="evals/test_qa.py", scores={"f1": 0.5})

    result = store.write(run)

    assert result.delivered and not result.problems
    shard = f"evals/runs/{run.run_id[:2]}/{run.run_id[2:]}"
    assert shard in result.location
    listed = git("ls-tree", "-r", "--name-only", BRANCH, shard, cwd=bare_remote).splitlines()
    assert listed == [f"{shard}/{name}" for name in sorted(RUN_FILES)]
    for name, data in run.files.items():
        shown = git("show", f"{BRANCH}:{shard}/{name}", cwd=bare_remote)
        assert shown == data.decode().rstrip("\n")
    assert git("log", "-1", "--format=%s", BRANCH, cwd=bare_remote) == f"Run: {run.run_id}"
    parsed = git("log", "-1", "--format=%B", BRANCH, cwd=bare_remote)
    assert parsed.splitlines()[1] == ""
    trailers = git("interpret-trailers", "--parse", input_text=parsed)
    assert trailers.splitlines() == [
        f"AgentV-Run: {run.run_id}",
        "AgentV-Eval: evals/test_qa.py",
        "AgentV-Model: gpt-4o mini",  # one line: the newline is folded
        f"Source-Commit: {'a' * 40}",
        "AgentV-Timestamp: 2025-05-01T12:00:00.000000Z",
        "AgentV-Tests: total=2 passed=1 failed=1 skipped=0 errors=0",
        "AgentV-Scores: f1=0.5",
    ]
    model = git(
        "log", "-1", "--format=%(trailers:key=AgentV-Model,valueonly)", BRANCH, cwd=bare_remote
    )
    assert model == "gpt-4o mini"
    assert git(
        "log",
        "-1",
        "--format=%an <%ae>|%cn <%ce>|%ad",
        "--date=iso-strict",
        BRANCH,
        cwd=bare_remote,
    ) == (
        "Eval Author <author@example.com>|Eval Author <author@example.com>|"
        "2025-05-01T12:00:00+00:00"
    )
    git("fsck", "--strict", cwd=bare_remote)


def test_missing_values_are_unknown_and_no_scores_is_none(source_repo: Path) -> None:
    store = git_store(source_repo)
    run = make_run(model=None, eval_file=None, scores={})
    store.write(run)
    trailers = git("log", "-1", "--format=%(trailers)", BRANCH, cwd=source_repo)
    assert "AgentV-Model: unknown" in trailers
    assert "AgentV-Eval: unknown" in trailers
    assert "AgentV-Scores: none" in trailers


def test_no_remote_commits_to_the_local_branch_only_and_leaves_the_worktree_alone(
    source_repo: Path,
) -> None:
    (source_repo / "README.md").write_text("edited, not staged\n")
    (source_repo / "new.txt").write_text("untracked\n")
    before = worktree_state(source_repo)
    store = git_store(source_repo)

    first = store.write(make_run())
    second = store.write(make_run())

    assert first.delivered and second.delivered
    assert any("no remote configured" in note for note in first.notes)
    assert "source repository" in first.location
    assert worktree_state(source_repo) == before
    history = git("log", "--format=%s", BRANCH, cwd=source_repo).splitlines()
    assert history == [f"Run: {second.run_id}", f"Run: {first.run_id}", "AgentV runs branch"]
    assert store.pending_run_ids() == set()
    git("fsck", "--strict", cwd=source_repo)


def test_named_remote_keeps_objects_in_the_source_repository(
    source_repo: Path, bare_remote: Path
) -> None:
    git("remote", "add", "origin", str(bare_remote), cwd=source_repo)
    before = worktree_state(source_repo)
    store = git_store(source_repo, remote="origin")

    result = store.write(make_run())

    assert result.delivered
    tip = git("rev-parse", BRANCH, cwd=bare_remote)
    assert git("rev-parse", f"refs/heads/{BRANCH}", cwd=source_repo) == tip
    assert git("rev-parse", f"refs/remotes/origin/{BRANCH}", cwd=source_repo) == tip
    assert not (source_repo / ".agentv" / "cache").exists()
    assert worktree_state(source_repo) == before
    assert "origin" in store.describe()


def test_url_remote_uses_one_cache_repository_reused_across_runs(
    source_repo: Path, bare_remote: Path
) -> None:
    before = worktree_state(source_repo)
    results = [git_store(source_repo, remote=str(bare_remote)).write(make_run()) for _ in range(2)]

    assert all(result.delivered for result in results)
    caches = sorted((source_repo / ".agentv" / "cache").glob("*.git"))
    assert len(caches) == 1 and caches[0].name.startswith("remotes-runs-")
    assert git("rev-parse", BRANCH, cwd=caches[0]) == git("rev-parse", BRANCH, cwd=bare_remote)
    assert git("rev-list", "--count", BRANCH, cwd=bare_remote) == "3"
    # the cache and spool ignore themselves, so the user's status is unchanged
    assert worktree_state(source_repo) == before
    git("fsck", "--strict", cwd=bare_remote)


def test_outside_git_without_remote_uses_a_local_bare_repository(
    tmp_path: Path, git_env: Path
) -> None:
    store = git_store(tmp_path)
    result = store.write(make_run())
    assert result.delivered
    local = tmp_path / ".agentv" / "cache" / "local.git"
    assert any("not in a git repository" in note for note in result.notes)
    assert git("rev-list", "--count", BRANCH, cwd=local) == "2"
    # no git identity configured anywhere: the fixed one is used
    assert git("log", "-1", "--format=%an <%ae>", BRANCH, cwd=local) == "AgentV <agentv@localhost>"


def test_a_run_is_never_overwritten(source_repo: Path) -> None:
    store = git_store(source_repo)
    run = make_run()
    store.write(run)
    with pytest.raises(RunExists, match=run.run_id):
        store.write(run)
    assert git("rev-list", "--count", BRANCH, cwd=source_repo) == "2"


def test_a_commit_rewrites_only_the_trees_on_the_run_path(source_repo: Path) -> None:
    store = git_store(source_repo)
    first = make_run("aa00000000000001")
    second = make_run("bb00000000000002")
    store.write(first)
    store.write(second)
    # the untouched shard keeps its tree object: nothing else was rebuilt
    assert git("rev-parse", f"{BRANCH}~1:aa", cwd=source_repo) == git(
        "rev-parse", f"{BRANCH}:aa", cwd=source_repo
    )
    assert git("rev-parse", f"{BRANCH}~1:README.md", cwd=source_repo) == git(
        "rev-parse", f"{BRANCH}:README.md", cwd=source_repo
    )


def test_read_api(source_repo: Path, bare_remote: Path) -> None:
    git("remote", "add", "origin", str(bare_remote), cwd=source_repo)
    store = git_store(source_repo, remote="origin")
    assert store.tip() is None
    assert list(store.walk()) == []
    runs = [make_run() for _ in range(3)]
    for run in runs:
        store.write(run)

    tip = store.tip()
    assert tip == git("rev-parse", BRANCH, cwd=bare_remote)
    walked = list(store.walk())
    expected = git("log", "--first-parent", "--format=%H %ct", BRANCH, cwd=bare_remote)
    assert [f"{c.commit} {c.commit_time}" for c in walked] == expected.splitlines()
    assert [c.run_id for c in walked] == [r.run_id for r in reversed(runs)] + [None]
    assert isinstance(walked[0], RunCommit)
    assert walked[0].trailers["AgentV-Model"] == "gpt-test"
    assert walked[0].message == git("log", "-1", "--format=%B", BRANCH, cwd=bare_remote) + "\n"
    # stop_at stops before that commit
    assert [c.commit for c in store.walk(stop_at=walked[2].commit)] == [
        walked[0].commit,
        walked[1].commit,
    ]
    assert store.is_ancestor(walked[2].commit, walked[0].commit)
    assert not store.is_ancestor(walked[0].commit, walked[2].commit)
    assert not store.is_ancestor("0" * 40, walked[0].commit)

    summary = json.loads(store.read(runs[0].run_id, SUMMARY_FILE))
    assert summary["runId"] == runs[0].run_id
    with pytest.raises(RunNotFound):
        store.read("0123456789abcdef", SUMMARY_FILE)
    assert store.pending_run_ids() == set()
    listed = list(store.list())
    assert [stored.summary.run_id for stored in listed] == [r.run_id for r in reversed(runs)]
    assert not any(stored.pending for stored in listed)


def test_fetch_brings_in_runs_written_elsewhere(
    source_repo: Path, bare_remote: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    other = git_store(elsewhere, remote=str(bare_remote))
    here = git_store(source_repo, remote=str(bare_remote))
    here.fetch()  # no branch anywhere yet: nothing to do
    assert here.tip() is None
    run = make_run()
    other.write(run)

    here.fetch()

    assert here.tip() == git("rev-parse", BRANCH, cwd=bare_remote)
    assert json.loads(here.read(run.run_id, SUMMARY_FILE))["runId"] == run.run_id


def test_fetch_without_a_remote_is_a_no_op(source_repo: Path) -> None:
    store = git_store(source_repo)
    store.fetch()
    assert store.tip() is None


def test_walk_is_consistent_with_git_log_over_packed_history(source_repo: Path) -> None:
    store = git_store(source_repo)
    for _ in range(5):
        store.write(make_run())
    git("gc", "--quiet", "--aggressive", cwd=source_repo)  # packs, with deltas between commits
    store.write(make_run())  # one loose commit on top of the pack
    walked = [(c.commit, c.message) for c in store.walk()]
    log = git("log", "--format=%H%x00%B%x01", BRANCH, cwd=source_repo)
    expected = [
        tuple(entry.strip("\n").split("\0")) for entry in log.split("\x01") if entry.strip()
    ]
    assert [(sha, message.rstrip("\n")) for sha, message in walked] == expected


def test_runs_in_the_same_new_shard_from_two_writers_both_land(
    source_repo: Path, bare_remote: Path, tmp_path: Path
) -> None:
    """A lost race is rebuilt by adding the run directory alone, not its whole (new) shard."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    here = git_store(source_repo, remote=str(bare_remote))
    there = git_store(elsewhere, remote=str(bare_remote))
    here.write(make_run("cc00000000000000"))
    (bare_remote / "objects").rename(bare_remote / "objects.away")  # remote unusable
    kept = here.write(make_run("dd00000000000001"))
    assert not kept.delivered
    (bare_remote / "objects.away").rename(bare_remote / "objects")
    there.write(make_run("dd00000000000002"))  # the same new shard, first on the remote

    assert here.sync().pushed == ("dd00000000000001",)

    shard = git("ls-tree", "--name-only", f"{BRANCH}:dd", cwd=bare_remote).splitlines()
    assert shard == ["00000000000001", "00000000000002"]


def test_a_ref_lock_held_by_another_git_is_waited_for_not_reported(source_repo: Path) -> None:
    """The user's own `git fetch` may hold a ref's .lock for a moment: the write waits."""
    import threading

    store = git_store(source_repo)
    store.write(make_run())  # the branch exists now
    lock = source_repo / ".git" / "refs" / "heads" / "agentv" / "checkpoints" / "v1.lock"
    lock.write_text("held by another git process\n")
    releaser = threading.Timer(0.3, lock.unlink)
    releaser.start()
    try:
        result = store.write(make_run())
    finally:
        releaser.join()
    assert result.delivered, result.problems
    assert git("rev-list", "--count", BRANCH, cwd=source_repo) == "3"


def test_a_ref_lock_that_never_goes_away_keeps_the_run_in_the_spool(source_repo: Path) -> None:
    store = git_store(source_repo)
    store.write(make_run())
    lock = source_repo / ".git" / "refs" / "heads" / "agentv" / "checkpoints" / "v1.lock"
    lock.write_text("stuck\n")
    run = make_run()

    # a process that keeps the lock open is a live writer: its lock is never taken for stale
    with subprocess.Popen(
        [sys.executable, "-c", f"f = open({str(lock)!r}, 'ab'); print(1, flush=True); input()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    ) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline() == b"1\n"
            result = store.write(run)
        finally:
            holder.kill()

    assert not result.delivered
    assert f"{lock} is held by a running process (pid {holder.pid})" in result.problems[0]
    assert f"remove {lock}" in result.problems[0]
    assert (source_repo / ".agentv" / "spool" / run.run_id / "summary.json").is_file()
    lock.unlink()
    assert store.write(make_run()).delivered  # and the next write commits the spooled run too
    assert git("rev-list", "--count", BRANCH, cwd=source_repo) == "4"

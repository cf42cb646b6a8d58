"""Nothing lost: every delivery failure keeps the run locally, and sync delivers it later."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.git_fixtures import GitDaemon, HttpGitServer, git, init_bare
from tests.helpers import BRANCH, assert_delivered_once, git_store, worktree_state
from tests.runs import make_run


def test_missing_remote_repository_then_sync(source_repo: Path, tmp_path: Path) -> None:
    remote = tmp_path / "later.git"
    store = git_store(source_repo, remote=str(remote))
    run = make_run()

    result = store.write(run)

    assert not result.delivered
    (problem,) = result.problems
    assert "no git repository there" in problem
    assert "kept locally" in problem and "agentv-results sync" in problem
    assert store.pending_run_ids() == {run.run_id}
    assert [(s.summary.run_id, s.pending) for s in store.list()] == [(run.run_id, True)]

    init_bare(remote)
    report = store.sync()

    assert report.pushed == (run.run_id,) and report.pending == () and report.delivered
    assert_delivered_once(remote, [run.run_id])
    assert store.pending_run_ids() == set()


def test_connection_refused_then_the_next_run_pushes_both(
    source_repo: Path, git_daemon: GitDaemon
) -> None:
    url = git_daemon.new_remote()
    git_daemon.stop()
    git("remote", "add", "origin", url, cwd=source_repo)
    before = worktree_state(source_repo)
    store = git_store(source_repo, remote="origin")
    first = make_run()

    kept = store.write(first)

    assert not kept.delivered and "connection refused" in kept.problems[0].lower()
    assert "local branch" in kept.location
    assert git("log", "-1", "--format=%s", BRANCH, cwd=source_repo) == f"Run: {first.run_id}"

    git_daemon.start()
    second = make_run()
    assert store.write(second).delivered
    assert_delivered_once(git_daemon.path(), [first.run_id, second.run_id])
    assert worktree_state(source_repo) == before


def test_unresolvable_host_is_kept(source_repo: Path) -> None:
    store = git_store(source_repo, remote="http://no-such-host.invalid/runs.git")
    run = make_run()
    result = store.write(run)
    assert not result.delivered and "no-such-host.invalid" in result.problems[0]
    assert store.pending_run_ids() == {run.run_id}


def test_http_401_is_kept_and_credentials_are_scrubbed(
    source_repo: Path, http_auth_remote: HttpGitServer
) -> None:
    http_auth_remote.new_remote()
    wrong = http_auth_remote.url(user="agent", password="wrong-pass-123")
    run = make_run()

    result = git_store(source_repo, remote=wrong).write(run)

    assert not result.delivered
    text = " ".join([result.location, *result.problems, *result.notes])
    assert "401" in text and "wrong-pass-123" not in text and "agent:***@" in text

    # the same remote with the right credentials shares the cache and delivers the run
    report = git_store(source_repo, remote=http_auth_remote.url()).sync()
    assert report.pushed == (run.run_id,)
    assert_delivered_once(http_auth_remote.path(), [run.run_id])


def test_http_403_on_push_is_kept_then_synced(
    source_repo: Path, http_remote: HttpGitServer
) -> None:
    url = http_remote.new_remote()
    http_remote.deny_push = True
    store = git_store(source_repo, remote=url)
    run = make_run()

    result = store.write(run)

    assert not result.delivered and "403" in result.problems[0]
    http_remote.deny_push = False
    assert store.sync().pushed == (run.run_id,)
    assert_delivered_once(http_remote.path(), [run.run_id])


def test_server_dying_mid_push_delivers_exactly_once(
    source_repo: Path, http_remote: HttpGitServer
) -> None:
    url = http_remote.new_remote()
    store = git_store(source_repo, remote=url)
    first = make_run()
    assert store.write(first).delivered
    http_remote.drop_pushes = 1  # the remote takes the next push but the answer never comes
    second = make_run()

    result = store.write(second)

    assert not result.delivered, "the client cannot know the push arrived"
    assert store.pending_run_ids() == {second.run_id}
    report = store.sync()  # finds its run already there: no second copy
    assert report.pushed == (second.run_id,) and report.delivered
    assert_delivered_once(http_remote.path(), [first.run_id, second.run_id])


def test_refused_update_is_not_retried_forever(source_repo: Path, git_daemon: GitDaemon) -> None:
    url = git_daemon.new_remote()
    hook = git_daemon.path() / "hooks" / "pre-receive"  # run by receive-pack behind the daemon
    hook.write_text("#!/bin/sh\necho 'runs are frozen' >&2\nexit 1\n")
    hook.chmod(0o755)
    store = git_store(source_repo, remote=url)
    run = make_run()
    result = store.write(run)
    assert not result.delivered
    assert "refused" in result.problems[0] and "hook declined" in result.problems[0]
    assert store.pending_run_ids() == {run.run_id}
    hook.unlink()
    assert store.sync().pushed == (run.run_id,)


def test_unknown_remote_name_is_spooled_with_a_clear_message(source_repo: Path) -> None:
    run = make_run()
    result = git_store(source_repo, remote="upstream").write(run)
    assert not result.delivered
    assert "'upstream' is neither a remote of the source repository" in result.problems[0]
    assert (source_repo / ".agentv" / "spool" / run.run_id / "metadata.json").is_file()
    # fixing the configuration delivers it with the next sync
    remote = init_bare(source_repo.parent / "up.git")
    git("remote", "add", "upstream", str(remote), cwd=source_repo)
    assert git_store(source_repo, remote="upstream").sync().pushed == (run.run_id,)
    assert_delivered_once(remote, [run.run_id])


def test_unwritable_repository_keeps_the_run_in_the_spool(
    source_repo: Path, bare_remote: Path
) -> None:
    store = git_store(source_repo, remote=str(bare_remote))
    store.write(make_run())
    cache = next((source_repo / ".agentv" / "cache").glob("*.git"))
    shutil.rmtree(cache / "objects")
    (cache / "objects").write_text("not a directory\n")
    run = make_run()

    result = store.write(run)

    assert not result.delivered and str(source_repo / ".agentv" / "spool") in result.location
    assert (Path(result.location) / "summary.json").is_file()
    (cache / "objects").unlink()
    shutil.rmtree(cache)
    report = git_store(source_repo, remote=str(bare_remote)).sync()
    assert report.pushed == (run.run_id,)
    assert git("rev-list", "--count", BRANCH, cwd=bare_remote) == "3"

"""Locks and staging files a killed writer left are recovered; a live writer's never are."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from pytest_agentv.fs_locks import clean_staging
from pytest_agentv.store.spool import project_spool
from tests.cli_support import agentv
from tests.git_fixtures import git, init_bare
from tests.helpers import BRANCH, assert_delivered_once, git_store
from tests.runs import make_run


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def _object_lock(repo: Path, blob_of: Path) -> Path:
    sha = git("hash-object", str(blob_of), cwd=repo)
    lock = repo / ".git" / "objects" / sha[:2] / f"{sha[2:]}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_bytes(b"half a zlib stream")
    return lock


def _spool_with_remote_missing(source_repo: Path, tmp_path: Path) -> tuple[Path, list[str]]:
    """Two runs: one committed locally (remote missing), one spooled as a kill would leave it."""
    remote = tmp_path / "runs.git"
    git("remote", "add", "origin", str(remote), cwd=source_repo)
    first = make_run()
    assert not git_store(source_repo, remote="origin").write(first).delivered
    second = make_run()
    project_spool(source_repo).put(second)
    return remote, [first.run_id, second.run_id]


def test_stale_loose_object_lock_is_removed_and_sync_delivers(
    source_repo: Path, tmp_path: Path
) -> None:
    remote, run_ids = _spool_with_remote_missing(source_repo, tmp_path)
    spooled = project_spool(source_repo).path(run_ids[1]) / "metadata.json"
    lock = _object_lock(source_repo, spooled)
    _age(lock, 60)
    init_bare(remote)

    result = agentv(source_repo, "sync", "--backend", "git", "--remote", "origin")

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert not lock.exists()
    assert_delivered_once(remote, run_ids)
    git("fsck", "--strict", cwd=source_repo)


def test_a_live_writers_lock_is_left_alone_and_blocks_nothing(
    source_repo: Path, tmp_path: Path
) -> None:
    remote, run_ids = _spool_with_remote_missing(source_repo, tmp_path)
    blocked = project_spool(source_repo).path(run_ids[1]) / "metadata.json"
    lock = _object_lock(source_repo, blocked)
    _age(lock, 60)
    third = make_run()
    project_spool(source_repo).put(third)
    init_bare(remote)
    with subprocess.Popen(
        [sys.executable, "-c", f"f = open({str(lock)!r}, 'ab'); print(1, flush=True); input()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    ) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline() == b"1\n"
            result = agentv(source_repo, "sync", "--backend", "git", "--remote", "origin")
            assert lock.exists()
        finally:
            holder.kill()

    # an old lock that a running process holds open is never swept; writes go around it
    # (each commit is written as one pack, so no loose object of the run meets that lock)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert_delivered_once(remote, [*run_ids, third.run_id])

    result = agentv(source_repo, "sync", "--backend", "git", "--remote", "origin")
    assert result.returncode == 0, result.stderr
    assert not lock.exists()  # its holder is gone: now it is stale, and swept


def test_stale_ref_lock_is_removed(source_repo: Path, bare_remote: Path) -> None:
    git("remote", "add", "origin", str(bare_remote), cwd=source_repo)
    store = git_store(source_repo, remote="origin")
    first = make_run()
    assert store.write(first).delivered
    lock = source_repo / ".git" / "refs" / "heads" / f"{BRANCH}.lock"
    lock.write_text("0" * 40 + "\n")
    _age(lock, 60)

    second = make_run()
    result = git_store(source_repo, remote="origin").write(second)

    assert result.delivered, result.problems
    assert not lock.exists()
    assert_delivered_once(bare_remote, [first.run_id, second.run_id])


def test_staging_left_by_a_kill_is_cleaned_up(tmp_path: Path) -> None:
    spool = project_spool(tmp_path)
    spool.put(make_run())
    old_dir = spool.directory / ".tmp-20250101-abc"
    old_dir.mkdir()
    (old_dir / "metadata.json").write_bytes(b"{")
    old_done = spool.directory / ".done-20250101-x-123"
    old_done.mkdir()
    young = spool.directory / ".tmp-20250102-def"
    young.mkdir()
    for path in (old_dir, old_done):
        _age(path, 3600)

    assert len(spool.run_ids()) == 1

    assert not old_dir.exists() and not old_done.exists()
    assert young.exists()  # a live writer may be filling it right now
    assert clean_staging(spool.directory, max_age=0) == [young]


def test_sync_sweeps_stale_locks_no_write_ran_into(source_repo: Path, bare_remote: Path) -> None:
    git("remote", "add", "origin", str(bare_remote), cwd=source_repo)
    assert git_store(source_repo, remote="origin").write(make_run()).delivered
    orphan = source_repo / ".git" / "objects" / "ab" / f"{'c' * 38}.lock"
    orphan.parent.mkdir(exist_ok=True)
    orphan.write_bytes(b"killed mid-write")
    young = source_repo / ".git" / "objects" / "ab" / f"{'d' * 38}.lock"
    young.write_bytes(b"a writer may still be here")
    _age(orphan, 60)

    result = agentv(source_repo, "sync", "--backend", "git", "--remote", "origin")

    assert result.returncode == 0, result.stderr
    assert not orphan.exists()
    assert young.exists()

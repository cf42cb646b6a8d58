"""A run with a file over the host's per-file limit must not hold up later runs.

The remote is a real ``git daemon`` whose ``pre-receive`` hook refuses any pushed blob over a
limit, as GitHub refuses files over 100 MiB.
"""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pytest_agentv.branch.changes import ChangeSet
from pytest_agentv.branch.errors import FileTooLarge
from pytest_agentv.branch.spool import ChangeSpool
from pytest_agentv.branch.writer import BranchWriter
from pytest_agentv.models import TestRecord, Versions
from pytest_agentv.payload import RawEvent, RunInputs, build_run
from pytest_agentv.redact import Redactor
from pytest_agentv.run_ids import new_run_id
from pytest_agentv.settings import Settings, SettingsError, resolve_settings
from pytest_agentv.store.base import RunArtifacts
from pytest_agentv.store.git import GitArtifactStore
from tests.git_fixtures import GitDaemon, git
from tests.runs import make_run

BRANCH = "agentv/checkpoints/v1"
HOST_LIMIT = 200_000  # bytes; the hook's limit, standing in for GitHub's 100 MiB

PRE_RECEIVE = f"""#!/bin/sh
# refuse every pushed blob over {HOST_LIMIT} bytes, as a git host's per-file limit does
zero=0000000000000000000000000000000000000000
while read old new ref; do
  if [ "$old" = "$zero" ]; then range="$new"; else range="$old..$new"; fi
  big=$(git rev-list --objects $range |
        git cat-file --batch-check='%(objecttype) %(objectsize) %(rest)' |
        awk '$1 == "blob" && $2 > {HOST_LIMIT} {{ print $3; exit }}')
  if [ -n "$big" ]; then
    echo "error: $big is over the {HOST_LIMIT} byte file size limit" >&2
    exit 1
  fi
done
exit 0
"""


@pytest.fixture
def limited_remote(git_daemon: GitDaemon) -> str:
    """A ``git://`` remote whose pre-receive hook refuses blobs over :data:`HOST_LIMIT`."""
    url = git_daemon.new_remote()
    hook = git_daemon.path() / "hooks" / "pre-receive"
    hook.write_text(PRE_RECEIVE)
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return url


def big_run(size: int) -> RunArtifacts:
    """A complete run whose transcript is over ``size`` bytes (one long tool message)."""
    started = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
    return build_run(
        RunInputs(
            run_id=new_run_id(),
            started_at=started,
            finished_at=started + timedelta(seconds=3),
            tests=[TestRecord(nodeid="evals/test_big.py::test_a", outcome="passed", duration=1)],
            transcript=[
                RawEvent(
                    test="evals/test_big.py::test_a",
                    role="tool",
                    content="all 112 tests passed again\n" * (size // 27 + 1),
                    timestamp="2025-05-01T12:00:01Z",
                )
            ],
            versions=Versions(agentv="0.1.0", pytest="8", python="3.11", platform="linux"),
        ),
        Redactor(),
    )


def remote_runs(git_daemon: GitDaemon) -> list[str]:
    log = git("log", "--format=%s", BRANCH, cwd=git_daemon.path(), check=False)
    return [line.removeprefix("Run: ") for line in log.splitlines() if line.startswith("Run: ")]


def test_the_hook_refuses_a_big_file(tmp_path: Path, git_daemon: GitDaemon, limited_remote: str):
    """Without our limit, the host refuses the run: the hook is real."""
    root = tmp_path / "project"
    root.mkdir()
    store = GitArtifactStore(
        Settings(rootdir=root, backend="git", remote=limited_remote, max_file_size=None)
    )
    result = store.write(big_run(HOST_LIMIT + 1000))
    assert not result.delivered
    assert "refused" in result.problems[0]
    assert "pre-receive hook declined" in result.problems[0]
    assert remote_runs(git_daemon) == []


def test_a_run_over_the_limit_is_refused_and_later_runs_get_through(
    tmp_path: Path, git_daemon: GitDaemon, limited_remote: str
):
    root = tmp_path / "project"
    root.mkdir()
    store = GitArtifactStore(
        Settings(rootdir=root, backend="git", remote=limited_remote, max_file_size=HOST_LIMIT)
    )
    big = big_run(HOST_LIMIT + 1000)
    refused = store.write(big)
    assert not refused.delivered
    (problem,) = refused.problems
    assert f"run {big.run_id} was not committed" in problem
    size = len(big.files["transcript.jsonl"])
    assert f"its transcript.jsonl is {size / 1024:.1f} KiB" in problem
    assert "over the per-file limit of 195.3 KiB" in problem
    assert "max_file_size" in problem
    kept = root / ".agentv" / "spool" / "refused" / big.run_id
    assert (kept / "transcript.jsonl").read_bytes() == big.files["transcript.jsonl"]
    assert refused.location == str(kept)

    later = [make_run(), make_run()]
    for run in later:
        result = store.write(run)
        assert result.delivered, result.problems
    assert remote_runs(git_daemon) == [later[1].run_id, later[0].run_id]
    assert big.run_id not in store.pending_run_ids()
    report = store.sync()
    assert report.delivered, report.problems
    assert (kept / "summary.json").is_file()  # never picked up as a pending run
    git("fsck", "--strict", cwd=git_daemon.path())


def test_a_run_just_under_the_limit_is_delivered(
    tmp_path: Path, git_daemon: GitDaemon, limited_remote: str
):
    run = big_run(HOST_LIMIT * 9 // 10)
    size = len(run.files["transcript.jsonl"])
    assert HOST_LIMIT * 0.9 < size <= HOST_LIMIT
    store = GitArtifactStore(
        Settings(rootdir=tmp_path, backend="git", remote=limited_remote, max_file_size=HOST_LIMIT)
    )
    assert store.write(run).delivered
    assert remote_runs(git_daemon) == [run.run_id]


def test_the_writer_refuses_a_change_over_the_limit_before_keeping_it(tmp_path: Path):
    spool = ChangeSpool(tmp_path / "spool")
    writer = BranchWriter.for_project(tmp_path, "records", pending=spool)
    writer.max_file_size = 10
    change = ChangeSet(
        key="big-one", subject="Add", files={"a/small.txt": b"ok", "a/b.bin": b"x" * 11}
    )
    with pytest.raises(FileTooLarge) as raised:
        writer.apply(change)
    assert raised.value.path == "a/b.bin"
    assert (raised.value.size, raised.value.limit) == (11, 10)
    assert "a/b.bin is 11 bytes, over the per-file limit of 10 bytes" in str(raised.value)
    assert spool.waiting() == []
    assert writer.tip() is None


def test_max_file_size_from_every_source(tmp_path: Path):
    assert resolve_settings(tmp_path).max_file_size == 100 * 1024 * 1024
    assert (
        resolve_settings(tmp_path, env={"AGENTV_MAX_FILE_SIZE": "50MB"}).max_file_size == 50 * 10**6
    )
    assert resolve_settings(tmp_path, env={"AGENTV_MAX_FILE_SIZE": "0"}).max_file_size is None
    config = tmp_path / ".agentv" / "config.yaml"
    config.parent.mkdir()
    config.write_text("artifacts:\n  git:\n    max_file_size: 2KiB\n")
    assert resolve_settings(tmp_path).max_file_size == 2048
    cli = resolve_settings(tmp_path, cli={"max_file_size": "1MiB"})
    assert cli.max_file_size == 2**20
    assert cli.sources["max_file_size"] == "command line --agentv-max-file-size"
    with pytest.raises(
        SettingsError, match=r"AGENTV_MAX_FILE_SIZE: invalid value 'lots'.*0 for no"
    ):
        resolve_settings(tmp_path, env={"AGENTV_MAX_FILE_SIZE": "lots"})
    config.write_text("artifacts:\n  git:\n    max_file_size: huge\n")
    with pytest.raises(SettingsError, match="max_file_size"):
        resolve_settings(tmp_path)


def test_a_session_over_the_limit_warns_and_keeps_the_run(pytester: pytest.Pytester, git_env: Path):
    pytester.makepyfile(
        test_big="def test_big(agentv):\n    agentv.message('tool', 'all tests passed\\n' * 400)\n"
    )
    result = pytester.runpytest(
        "-p",
        "no:xdist",
        "--agentv-git",
        "--agentv-max-file-size=2KiB",
        "-W",
        "default::pytest_agentv.AgentvDeliveryWarning",
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["*was not committed: its transcript.jsonl is *KiB, over the per-file limit of 2.0 KiB*"]
    )
    refused = list((pytester.path / ".agentv" / "spool" / "refused").iterdir())
    assert [p.name for p in refused if p.name != ".gitignore"] and all(
        (p / "transcript.jsonl").is_file() for p in refused if p.name != ".gitignore"
    )
    strict = pytester.runpytest(
        "-p",
        "no:xdist",
        "--agentv-git",
        "--agentv-max-file-size=2KiB",
        "--agentv-strict",
        "-W",
        "default::pytest_agentv.AgentvDeliveryWarning",
    )
    assert strict.ret != 0

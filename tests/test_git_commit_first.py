"""A run is committed to the local branch before anything touches the network, and spooled
first whenever it cannot be committed at once: SIGKILL in either window loses nothing."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import BinaryIO

import filelock

from tests.git_fixtures import GitDaemon, git
from tests.helpers import BRANCH, assert_delivered_once, git_store
from tests.runs import make_run

REPO_ROOT = Path(__file__).resolve().parents[1]

# one write in a process of its own, so that the test can SIGKILL it mid-write
WRITER = """
import sys
from pathlib import Path
from pytest_agentv.settings import Settings
from pytest_agentv.store import open_store
from tests.runs import make_run

store = open_store(Settings(rootdir=Path(sys.argv[1]), backend="git", remote=sys.argv[2] or None,
                            network_timeout=600))
run = make_run()
print(run.run_id, flush=True)
store.write(run)
print("done", flush=True)
"""


def start_writer(project: Path, remote: str) -> tuple[subprocess.Popen[str], str]:
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(project), remote],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None
    return writer, writer.stdout.readline().strip()


def wait_for(condition: object, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def kill(writer: subprocess.Popen[str]) -> None:
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    assert writer.stdout is not None
    assert "done" not in writer.stdout.read()  # killed inside the write
    writer.stdout.close()


def test_a_run_is_on_the_local_branch_before_the_fetch_starts(
    source_repo: Path, bare_remote: Path
) -> None:
    git("remote", "add", "origin", str(bare_remote), cwd=source_repo)
    store = git_store(source_repo, remote="origin")
    first = make_run()
    assert store.write(first).delivered  # the branch exists here and on the remote
    silent = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    try:
        port = silent.getsockname()[1]
        git("remote", "set-url", "origin", f"git://127.0.0.1:{port}/runs", cwd=source_repo)
        writer, run_id = start_writer(source_repo, "origin")
        connection, _ = silent.accept()  # the writer is fetching: kill it there
        kill(writer)
        connection.close()
    finally:
        silent.close()

    log = git("log", "--format=%s", BRANCH, cwd=source_repo).splitlines()
    assert log[0] == f"Run: {run_id}"  # committed before the fetch, so the kill cost nothing
    assert not (source_repo / ".agentv" / "spool" / run_id).exists()  # and never spooled
    git("remote", "set-url", "origin", str(bare_remote), cwd=source_repo)
    report = git_store(source_repo, remote="origin").sync()
    assert report.delivered and report.pushed == (run_id,)
    assert_delivered_once(bare_remote, [first.run_id, run_id])


def test_a_write_waiting_for_another_writers_lock_spools_its_run_first(
    source_repo: Path,
) -> None:
    store = git_store(source_repo)
    first = make_run()
    assert store.write(first).delivered
    lock = filelock.FileLock(str(store.target().lock_path))
    with lock:  # another local writer holds the repository (its push could take minutes)
        writer, run_id = start_writer(source_repo, "")
        spooled = source_repo / ".agentv" / "spool" / run_id / "summary.json"
        wait_for(spooled.is_file, "the waiting writer to spool its run")
        kill(writer)

    assert git("log", "-1", "--format=%s", BRANCH, cwd=source_repo) == f"Run: {first.run_id}"
    report = git_store(source_repo).sync()
    assert report.delivered and report.pending == ()
    assert_delivered_once(source_repo, [first.run_id, run_id])
    assert not spooled.exists()


def test_a_write_behind_a_spooled_run_commits_the_older_run_first(source_repo: Path) -> None:
    store = git_store(source_repo)
    assert store.write(make_run()).delivered
    lock = filelock.FileLock(str(store.target().lock_path))
    with lock:
        writer, older = start_writer(source_repo, "")
        wait_for((source_repo / ".agentv" / "spool" / older / "summary.json").is_file, "spool")
        kill(writer)
    newer = make_run()

    result = store.write(newer)

    assert result.delivered, result.problems
    assert any("also committed 1 earlier run" in note for note in result.notes)
    log = git("log", "-2", "--format=%s", BRANCH, cwd=source_repo).splitlines()
    assert log == [f"Run: {newer.run_id}", f"Run: {older}"]


class LoggingDaemon(GitDaemon):
    """A ``git daemon`` that logs each service it is asked for (``--verbose``)."""

    def start(self) -> None:
        self.log = self.base.parent / "daemon.log"
        with self.log.open("ab") as log:
            self.process = self._spawn(log)
        wait_for(lambda: "Ready to rumble" in self.log.read_text(), "the daemon")

    def _spawn(self, log: BinaryIO) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                "git",
                "daemon",
                "--verbose",
                "--reuseaddr",
                "--enable=receive-pack",
                "--export-all",
                f"--base-path={self.base}",
                "--listen=127.0.0.1",
                f"--port={self.port}",
                str(self.base),
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )

    def services(self) -> list[str]:
        """Services asked for so far, oldest first (``upload-pack``: a fetch)."""
        return re.findall(r"Request (\S+) for", self.log.read_text())


def test_a_write_nobody_raced_pushes_without_fetching_first(tmp_path: Path, git_env: Path) -> None:
    (tmp_path / "served").mkdir()
    daemon = LoggingDaemon(tmp_path / "served")
    daemon.start()
    try:
        url = daemon.new_remote()
        ours, theirs = tmp_path / "ours", tmp_path / "theirs"
        ours.mkdir()
        theirs.mkdir()
        assert git_store(ours, remote=url).write(make_run()).delivered
        before = len(daemon.services())
        assert git_store(ours, remote=url).write(make_run()).delivered
        assert daemon.services()[before:] == ["receive-pack"]  # one round trip

        assert git_store(theirs, remote=url).write(make_run()).delivered  # the remote moves
        before = len(daemon.services())
        last = make_run()
        assert git_store(ours, remote=url).write(last).delivered
        # the push is turned down at the ref advertisement, then fetch, replay, push
        assert daemon.services()[before:] == ["receive-pack", "upload-pack", "receive-pack"]
        log = git("log", "--format=%s", BRANCH, cwd=daemon.path()).splitlines()
        assert log[0] == f"Run: {last.run_id}" and len(log) == 5
        git("fsck", "--strict", cwd=daemon.path())
    finally:
        daemon.stop()

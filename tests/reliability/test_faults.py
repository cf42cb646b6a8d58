"""Faults during delivery: the run is kept, the message says what happened, sync delivers later."""

from __future__ import annotations

import http.server
import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.git_fixtures import git, init_bare
from tests.helpers import assert_delivered_once, git_store
from tests.runs import make_run


@contextmanager
def http_status(status: int) -> Iterator[str]:
    """A server answering every request with ``status``; yields its repository URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_GET

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/runs.git"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.mark.parametrize(
    ("status", "says"),
    [
        (401, "authentication failed (HTTP 401)"),
        (403, "access denied (HTTP 403)"),
        (500, "the server failed (HTTP 500); try again later"),
        (503, "the server failed (HTTP 503)"),
    ],
)
def test_http_errors_keep_the_run_and_sync_delivers_after(
    source_repo: Path, tmp_path: Path, status: int, says: str
) -> None:
    with http_status(status) as url:
        git("remote", "add", "origin", url, cwd=source_repo)
        run = make_run()
        result = git_store(source_repo, remote="origin").write(run)
    assert not result.delivered
    assert says in result.problems[0] and "agentv-results sync" in result.problems[0]

    remote = init_bare(tmp_path / "runs.git")  # the fault is gone (here: the remote moved)
    git("remote", "set-url", "origin", str(remote), cwd=source_repo)
    assert git_store(source_repo, remote="origin").sync().delivered
    assert_delivered_once(remote, [run.run_id])


@contextmanager
def small_tmpfs(where: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``where`` (the test needs mount privileges, as root)."""
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"cannot mount a tmpfs for the disk-full test: {done.stderr}"
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_full_remote_disk_keeps_the_run(source_repo: Path, tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "disk", "512k") as disk:
        remote = init_bare(disk / "runs.git")
        filler = disk / "filler"
        with open(filler, "wb") as out:  # fill what is left
            try:
                while True:
                    out.write(b"\0" * 65536)
                    out.flush()
            except OSError:
                pass
        git("remote", "add", "origin", str(remote), cwd=source_repo)
        run = make_run()

        result = git_store(source_repo, remote="origin").write(run)

        assert not result.delivered
        problem = result.problems[0]
        assert "agentv-results sync" in problem
        assert git("for-each-ref", cwd=remote) == ""  # nothing half-written on the remote
        git("fsck", "--strict", cwd=remote)

        filler.unlink()  # space again
        assert git_store(source_repo, remote="origin").sync().delivered
        assert_delivered_once(remote, [run.run_id])


def test_a_read_only_project_spools_to_the_user_cache(
    source_repo: Path, bare_remote: Path, git_env: Path
) -> None:
    agentv_dir = source_repo / ".agentv"
    agentv_dir.mkdir()
    subprocess.run(["mount", "--bind", str(agentv_dir), str(agentv_dir)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(agentv_dir)], check=True)
        with pytest.raises(OSError):
            (agentv_dir / "probe").write_text("x")
        run = make_run()
        result = git_store(source_repo, remote=str(bare_remote)).write(run)
        assert result.delivered, result.problems
        assert_delivered_once(bare_remote, [run.run_id])
        assert os.listdir(agentv_dir) == []
        assert any((git_env / ".cache" / "pytest-agentv").rglob("*.git"))
    finally:
        subprocess.run(["umount", "-l", str(agentv_dir)], check=False)

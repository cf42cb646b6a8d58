"""A remote that accepts and never answers, or drips, cannot hang a session (real sockets)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_agentv.settings import SettingsError, resolve_settings
from tests.git_fixtures import git, init_bare
from tests.helpers import assert_delivered_once, git_store
from tests.runs import make_run


class StuckServer:
    """Accepts every connection on 127.0.0.1; then says nothing, or drips one byte a tick."""

    def __init__(self, drip: bytes = b"", every: float = 0.2) -> None:
        # drip: the first bytes sent, one a tick; its last byte then repeats forever
        self.drip, self.every = drip, every
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stop = threading.Event()
        self.accepted = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.listener.settimeout(0.1)
        held: list[socket.socket] = []
        sent_by: dict[int, int] = {}
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
                self.accepted += 1
                held.append(conn)
            except TimeoutError:
                pass
            if self.drip:
                for n, conn in enumerate(held):
                    with contextlib.suppress(OSError):
                        sent = sent_by.get(n, 0)
                        conn.sendall(self.drip[min(sent, len(self.drip) - 1) :][:1])
                        sent_by[n] = sent + 1
                self.stop.wait(self.every)
        for conn in held:
            conn.close()
        self.listener.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)


@pytest.fixture
def silent() -> Iterator[StuckServer]:
    server = StuckServer()
    yield server
    server.close()


@pytest.fixture
def dripping() -> Iterator[StuckServer]:
    server = StuckServer(drip=b"0fffa")  # a pkt-line of 4095 bytes, sent one byte a tick
    yield server
    server.close()


@pytest.mark.parametrize("scheme", ["git", "http"])
def test_a_silent_remote_times_out_and_the_run_is_kept(
    source_repo: Path, silent: StuckServer, scheme: str
) -> None:
    url = f"{scheme}://127.0.0.1:{silent.port}/runs.git"
    store = git_store(source_repo, remote=url, network_timeout=1.0)
    run = make_run()

    result = store.write(run)

    assert silent.accepted >= 1
    assert not result.delivered
    (problem,) = result.problems
    assert "no answer for 1s (network timeout)" in problem
    assert "AGENTV_NETWORK_TIMEOUT" in problem and "agentv-results sync" in problem
    assert store.pending_run_ids() == {run.run_id}


def test_a_dripping_remote_is_cut_off_after_the_total_limit(
    source_repo: Path, dripping: StuckServer
) -> None:
    url = f"git://127.0.0.1:{dripping.port}/runs.git"
    store = git_store(source_repo, remote=url, network_timeout=0.5)
    run = make_run()

    result = store.write(run)

    assert not result.delivered
    assert "no complete answer within 5s (network timeout 0.5s x 10)" in result.problems[0]
    assert store.pending_run_ids() == {run.run_id}


def test_after_a_timeout_sync_delivers_once_the_remote_answers(
    source_repo: Path, silent: StuckServer, tmp_path: Path
) -> None:
    git("remote", "add", "origin", f"git://127.0.0.1:{silent.port}/runs.git", cwd=source_repo)
    run = make_run()
    assert not git_store(source_repo, remote="origin", network_timeout=1.0).write(run).delivered
    remote = init_bare(tmp_path / "runs.git")
    git("remote", "set-url", "origin", str(remote), cwd=source_repo)

    report = git_store(source_repo, remote="origin", network_timeout=1.0).sync()

    assert report.delivered
    assert_delivered_once(remote, [run.run_id])


def test_the_timeout_comes_from_the_option_table(tmp_path: Path) -> None:
    assert resolve_settings(tmp_path).network_timeout == 30.0
    env = {"AGENTV_NETWORK_TIMEOUT": "2.5"}
    assert resolve_settings(tmp_path, env=env).network_timeout == 2.5
    ini = {"agentv_network_timeout": "7"}
    assert resolve_settings(tmp_path, env=env, ini=ini).network_timeout == 2.5
    assert resolve_settings(tmp_path, ini=ini).network_timeout == 7.0
    assert resolve_settings(tmp_path, cli={"network_timeout": 3.0}).network_timeout == 3.0
    with pytest.raises(SettingsError, match=r"AGENTV_NETWORK_TIMEOUT.*'soon' is not a number"):
        resolve_settings(tmp_path, env={"AGENTV_NETWORK_TIMEOUT": "soon"})


def test_a_session_against_a_silent_remote_ends_and_says_what_to_do(
    pytester: pytest.Pytester, silent: StuckServer
) -> None:
    pytester.makeini("[pytest]\nagentv_network_timeout = 1\n")
    pytester.makepyfile("def test_one(agentv):\n    agentv.score('s', 1)\n")
    url = f"git://127.0.0.1:{silent.port}/runs.git"
    result = pytester.runpytest_subprocess(
        "-p", "no:xdist", "--agentv-git", f"--agentv-remote={url}", "-W", "default", timeout=120
    )
    result.assert_outcomes(passed=1)
    # the warning, once, in pytest's warnings summary (printed before the plugin's summary),
    # then the run's line pointing at it
    result.stdout.fnmatch_lines(
        [
            "*= warnings summary =*",
            "*AgentvDeliveryWarning: *no answer for 1s (network timeout)*agentv-results sync*",
            "agentv: run * (1 test) NOT delivered, kept in*",
            "agentv: why: see the AgentvDeliveryWarning in the warnings summary",
        ]
    )
    assert result.stdout.str().count("no answer for 1s") == 1

"""Many writers, one remote: 8 processes x 5 runs each, racing over git:// and smart HTTP.

Processes are paired on a project directory: the two of a pair share a cache repository and
serialise on its file lock, while the four pairs race each other on the remote (lost races are
rebuilt on the new tip and pushed again).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.git_fixtures import GitDaemon, HttpGitServer, git
from tests.helpers import BRANCH, assert_delivered_once

PROCESSES = 8
RUNS_EACH = 5

WRITER = """
import json, sys
from pathlib import Path
from pytest_agentv.settings import Settings
from pytest_agentv.store import open_store
from tests.runs import make_run

rootdir, remote, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
store = open_store(Settings(rootdir=rootdir, backend="git", remote=remote))
for _ in range(count):
    result = store.write(make_run())
    print(json.dumps({"run": result.run_id, "delivered": result.delivered,
                      "problems": list(result.problems)}), flush=True)
"""


def race(
    tmp_path: Path, remote: str, processes: int = PROCESSES, runs_each: int = RUNS_EACH
) -> list[dict[str, object]]:
    """Start every writer at once; return what each write reported."""
    projects = [tmp_path / f"project{n % (processes // 2)}" for n in range(processes)]
    for project in projects:
        project.mkdir(exist_ok=True)
    repo_root = Path(__file__).resolve().parent.parent
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(project), remote, str(runs_each)],
            cwd=repo_root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for project in projects
    ]
    reports = []
    for writer in writers:
        out, err = writer.communicate(timeout=240)
        assert writer.returncode == 0, err
        reports.extend(json.loads(line) for line in out.splitlines())
    assert len(reports) == processes * runs_each
    return reports


def check(reports: list[dict[str, object]], remote: Path) -> None:
    undelivered = [report for report in reports if not report["delivered"]]
    assert not undelivered, undelivered
    assert_delivered_once(remote, [str(report["run"]) for report in reports])
    assert git("rev-list", "--count", "--first-parent", BRANCH, cwd=remote) == str(len(reports) + 1)


@pytest.mark.slow
def test_racing_writers_over_git_daemon(tmp_path: Path, git_daemon: GitDaemon) -> None:
    url = git_daemon.new_remote()
    check(race(tmp_path, url), git_daemon.path())


@pytest.mark.slow
def test_racing_writers_over_smart_http(tmp_path: Path, http_remote: HttpGitServer) -> None:
    url = http_remote.new_remote()
    check(race(tmp_path, url), http_remote.path())


@pytest.mark.slow
def test_sixteen_writers_over_git_daemon_deliver_in_their_first_session(
    tmp_path: Path, git_daemon: GitDaemon
) -> None:
    """Regression: with a fixed count of push attempts, a busy machine left runs undelivered
    (kept for a later session); the retry budget is now a time."""
    url = git_daemon.new_remote()
    check(race(tmp_path, url, processes=16, runs_each=2), git_daemon.path())

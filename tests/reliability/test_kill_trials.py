"""A sample of SIGKILL trials, fast enough for CI (the long run is bench/stress.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.git_fixtures import GitDaemon, HttpGitServer
from tests.reliability.crash import kill_trials


@pytest.mark.slow
def test_killed_writers_over_a_path_remote(
    tmp_path: Path, bare_remote: Path, git_env: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    trials, _extra = kill_trials(project, str(bare_remote), bare_remote, trials=6, seed=1)
    assert len(trials) == 6


@pytest.mark.slow
def test_killed_writers_over_git_daemon(tmp_path: Path, git_daemon: GitDaemon) -> None:
    project = tmp_path / "project"
    project.mkdir()
    url = git_daemon.new_remote()
    kill_trials(project, url, git_daemon.path(), trials=4, seed=2)


@pytest.mark.slow
def test_killed_writers_over_smart_http(tmp_path: Path, http_remote: HttpGitServer) -> None:
    project = tmp_path / "project"
    project.mkdir()
    url = http_remote.new_remote()
    kill_trials(project, url, http_remote.path(), trials=4, seed=3)

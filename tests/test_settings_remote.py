"""A remote implies the git backend, and contradicts the local one (unit and pytester)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pytest_agentv.settings import SettingsError, resolve_settings


def test_a_remote_alone_chooses_the_git_backend(tmp_path: Path) -> None:
    settings = resolve_settings(tmp_path, cli={"remote": "origin"})
    assert settings.backend == "git"
    assert settings.sources["backend"] == "implied by the remote (command line --agentv-remote)"


def test_a_remote_in_the_config_file_chooses_the_git_backend(tmp_path: Path) -> None:
    (tmp_path / ".agentv").mkdir()
    (tmp_path / ".agentv" / "config.yaml").write_text("artifacts:\n  git:\n    remote: up\n")
    assert resolve_settings(tmp_path).backend == "git"


def test_a_remote_with_the_local_backend_is_an_error_naming_both(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as excinfo:
        resolve_settings(tmp_path, cli={"remote": "origin"}, env={"AGENTV_BACKEND": "local"})
    message = str(excinfo.value)
    assert "command line --agentv-remote" in message
    assert "environment variable AGENTV_BACKEND" in message
    assert "drop the remote or choose the git backend" in message


def test_local_chosen_above_a_config_files_remote_wins(tmp_path: Path) -> None:
    (tmp_path / ".agentv").mkdir()
    (tmp_path / ".agentv" / "config.yaml").write_text("artifacts:\n  git:\n    remote: up\n")
    assert resolve_settings(tmp_path, cli={"backend": "local"}).backend == "local"


def test_the_session_says_so_as_a_usage_error(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytester.makepyfile("def test_eval(agentv): pass\n")
    result = pytester.runpytest(
        "-p", "no:xdist", "--agentv-backend=local", f"--agentv-remote={tmp_path}"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*only the git backend pushes to*"])


def test_a_remote_alone_pushes_the_run(pytester: pytest.Pytester, tmp_path: Path) -> None:
    remote = tmp_path / "runs.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    pytester.makepyfile("def test_eval(agentv): agentv.score('s', 1)\n")
    result = pytester.runpytest("-p", "no:xdist", f"--agentv-remote={remote}")
    result.assert_outcomes(passed=1)
    run_id = next(line for line in result.outlines if "written to" in line).split()[2]
    log = subprocess.run(
        [
            "git",
            "-C",
            str(remote),
            "log",
            "--format=%(trailers:key=AgentV-Run,valueonly)",
            "agentv/checkpoints/v1",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert run_id in log.split()
    assert not (pytester.path / ".agentv" / "runs").exists()

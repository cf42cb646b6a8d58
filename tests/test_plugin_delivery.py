"""A run that cannot be stored warns, is kept in the spool, and fails the session only when strict.

The local directory is made unusable by a file sitting where it should be.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

SUITE = "def test_one(agentv):\n    agentv.score('s', 1)\n"
SHOW_WARNING = ("-W", "default::pytest_agentv.AgentvDeliveryWarning")


@pytest.fixture
def blocked(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    """A local directory that cannot be created: a file sits where it should be."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    pytester.makepyfile(SUITE)
    (pytester.path / "blocked").write_text("a file, not a directory")
    return pytester


def test_store_failure_warns_and_keeps_exit_status(blocked: pytest.Pytester) -> None:
    # in a subprocess, like a user: the warning must reach pytest's own warnings summary
    result = blocked.runpytest_subprocess(
        "-p", "no:xdist", "--agentv-local-dir", "blocked/runs", *SHOW_WARNING
    )
    result.assert_outcomes(passed=1, warnings=1)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "*AgentvDeliveryWarning: cannot create *blocked/runs/*: Not a directory; the run is "
            "kept locally in .agentv/spool/*; deliver it with `agentv-results sync`",
            "agentv: run * (1 test) NOT delivered, kept in .agentv/spool/*",
            "agentv: why: see the AgentvDeliveryWarning in the warnings summary",
        ]
    )
    # said once, at the user's test file rather than inside the plugin
    assert result.stdout.str().count("cannot create") == 1
    result.stdout.fnmatch_lines(["*/test_*.py:1: AgentvDeliveryWarning: *"])
    spooled = list((blocked.path / ".agentv" / "spool").glob("*/summary.json"))
    assert len(spooled) == 1


def test_the_next_run_delivers_spooled_runs_first(blocked: pytest.Pytester) -> None:
    blocked.runpytest("-p", "no:xdist", "--agentv-local-dir", "blocked/runs", *SHOW_WARNING)
    blocked.runpytest("-p", "no:xdist", "--agentv-local-dir", "blocked/runs", *SHOW_WARNING)
    assert len(list((blocked.path / ".agentv" / "spool").glob("*/summary.json"))) == 2
    (blocked.path / "blocked").unlink()  # the obstacle is gone

    result = blocked.runpytest("-p", "no:xdist", "--agentv-local-dir", "blocked/runs")

    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "agentv: run * (1 test) written to blocked/runs/*",
            "agentv: also delivered 2 earlier run(s) from the spool",
        ]
    )
    assert len(list((blocked.path / "blocked" / "runs").glob("*/*/summary.json"))) == 3
    assert not list((blocked.path / ".agentv" / "spool").glob("*/summary.json"))


def test_nothing_is_lost_when_even_the_spool_is_unusable(blocked: pytest.Pytester) -> None:
    (blocked.path / ".agentv").write_text("a file where the spool would go")
    result = blocked.runpytest(
        "-p", "no:xdist", "--agentv-local-dir", "blocked/runs", *SHOW_WARNING
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*cannot create *; the run is kept locally in *user-cache*"])
    # the spool fell back to the user cache directory (the test's own XDG_CACHE_HOME)
    spooled = list(Path(os.environ["XDG_CACHE_HOME"]).glob("pytest-agentv/*/spool/*/summary.json"))
    assert len(spooled) == 1


def test_strict_turns_a_failed_delivery_into_a_failed_session(blocked: pytest.Pytester) -> None:
    result = blocked.runpytest(
        "-p", "no:xdist", "--agentv-local-dir", "blocked/runs", "--agentv-strict", *SHOW_WARNING
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["agentv: run * NOT delivered, kept in *"])


def test_warnings_as_errors_fail_the_session_without_crashing(blocked: pytest.Pytester) -> None:
    result = blocked.runpytest(
        "-p",
        "no:xdist",
        "--agentv-local-dir",
        "blocked/runs",
        "-W",
        "error::pytest_agentv.AgentvDeliveryWarning",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(
        [
            "agentv: WARNING: cannot create *",
            "agentv: exit status 1: the run was not delivered and delivery is strict*",
        ]
    )


def test_strict_does_not_mask_a_worse_exit_status(blocked: pytest.Pytester) -> None:
    blocked.makepyfile(test_two="def test_two():\n    assert 0\n")
    result = blocked.runpytest(
        "-p", "no:xdist", "--agentv-local-dir", "blocked/runs", "--agentv-strict"
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_sync_delivers_spooled_runs_on_demand(blocked: pytest.Pytester) -> None:
    blocked.runpytest("-p", "no:xdist", "--agentv-local-dir", "blocked/runs", *SHOW_WARNING)
    (blocked.path / "blocked").unlink()
    command = ["agentv-results", "--local-dir", "blocked/runs", "sync"]
    done = subprocess.run(command, cwd=blocked.path, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "moved 1 spooled run(s) into" in done.stdout
    assert len(list((blocked.path / "blocked" / "runs").glob("*/*/summary.json"))) == 1
    again = subprocess.run(command, cwd=blocked.path, capture_output=True, text=True, check=False)
    assert "nothing to sync" in again.stdout


def test_a_warning_filter_still_applies_in_the_next_in_process_session(
    blocked: pytest.Pytester,
) -> None:
    # pytest caches the class a -W entry names, while each in-process session imports the plugin
    # anew (the suite runs with -p no:agentv): unless the warning classes stay one object
    # (conftest.py), the second session's `default` misses its warning and the suite's `error`
    # filter turns the delivery failure into a strict one
    for _ in range(2):
        result = blocked.runpytest(
            "-p", "no:xdist", "--agentv-local-dir", "blocked/runs", *SHOW_WARNING
        )
        result.assert_outcomes(passed=1, warnings=1)
        assert result.ret == pytest.ExitCode.OK
        result.stdout.fnmatch_lines(
            [
                "*AgentvDeliveryWarning: cannot create *",
                "agentv: run * (1 test) NOT delivered, kept in .agentv/spool/*",
                "agentv: why: see the AgentvDeliveryWarning in the warnings summary",
            ]
        )

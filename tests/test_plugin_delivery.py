"""A run that cannot be stored warns, says so in the summary, and fails only when strict."""

from __future__ import annotations

import pytest

SUITE = "def test_one(agentv):\n    agentv.score('s', 1)\n"
SHOW_WARNING = ("-W", "default::pytest_agentv.AgentvDeliveryWarning")


@pytest.fixture
def blocked(pytester: pytest.Pytester) -> pytest.Pytester:
    """A local directory that cannot be created: a file sits where it should be."""
    pytester.makepyfile(SUITE)
    (pytester.path / "blocked").write_text("a file, not a directory")
    return pytester


def test_store_failure_warns_and_keeps_exit_status(blocked: pytest.Pytester) -> None:
    result = blocked.runpytest("-p", "no:xdist", "--agentv-local-dir", "blocked/runs",
                               *SHOW_WARNING)
    result.assert_outcomes(passed=1, warnings=1)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines([
        "*AgentvDeliveryWarning: cannot create *blocked/runs/*",
        "agentv: run * (1 test) was NOT recorded",
        "agentv: WARNING: cannot create *",
    ])


def test_strict_turns_a_failed_delivery_into_a_failed_session(blocked: pytest.Pytester) -> None:
    result = blocked.runpytest("-p", "no:xdist", "--agentv-local-dir", "blocked/runs",
                               "--agentv-strict", *SHOW_WARNING)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["agentv: run * was NOT recorded"])


def test_warnings_as_errors_fail_the_session_without_crashing(blocked: pytest.Pytester) -> None:
    result = blocked.runpytest("-p", "no:xdist", "--agentv-local-dir", "blocked/runs",
                               "-W", "error::pytest_agentv.AgentvDeliveryWarning")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(["agentv: WARNING: cannot create *"])


def test_strict_does_not_mask_a_worse_exit_status(blocked: pytest.Pytester) -> None:
    blocked.makepyfile(test_two="def test_two():\n    assert 0\n")
    result = blocked.runpytest("-p", "no:xdist", "--agentv-local-dir", "blocked/runs",
                               "--agentv-strict")
    assert result.ret == pytest.ExitCode.TESTS_FAILED

"""Nothing a session writes skips redaction; conftest hooks can add their own (pytester)."""

from __future__ import annotations

import pytest

OPENAI_KEY = "sk-proj-" + "Zx9" * 12  # format-valid, not a real key

SUITE = f"""
import pytest

@pytest.fixture(scope="session", autouse=True)
def _run(agentv_run):
    agentv_run.metadata["deploy_note"] = "key {OPENAI_KEY}"

def test_leaky(agentv):
    agentv.message("user", "my key is {OPENAI_KEY}")
    agentv.message("tool", {{"stdout": ["export OPENAI_API_KEY={OPENAI_KEY}"]}})
    agentv.metadata["header"] = "{OPENAI_KEY}"
    agentv.score("s", 1, reason="saw {OPENAI_KEY}")
    assert "{OPENAI_KEY}" == "nothing"

def test_house_secret(agentv):
    agentv.message("assistant", "internal codename BLUEBIRD-7 leaked")
"""

CONFTEST = """
def pytest_agentv_redact(text, context):
    return text.replace("BLUEBIRD-7", "[REDACTED:codename]")
"""


def all_written_bytes(pytester: pytest.Pytester) -> bytes:
    files = sorted((pytester.path / ".agentv" / "runs").rglob("*.*"))
    assert len(files) == 3
    return b"".join(path.read_bytes() for path in files)


@pytest.mark.parametrize("xdist", [["-p", "no:xdist"], ["-n2"]])
def test_secrets_never_reach_disk(pytester: pytest.Pytester, xdist: list[str]) -> None:
    pytester.makepyfile(test_leak=SUITE)
    pytester.makeconftest(CONFTEST)
    result = pytester.runpytest(*xdist, f"--agentv-eval=run-with-{OPENAI_KEY}")
    result.assert_outcomes(passed=1, failed=1)
    written = all_written_bytes(pytester)
    assert OPENAI_KEY.encode() not in written
    assert b"BLUEBIRD-7" not in written
    assert b"[REDACTED:codename]" in written
    assert written.count(b"[REDACTED:") >= 7


def test_redaction_can_be_turned_off(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", **{".agentv/config": "redaction:\n  enabled: false\n"})
    pytester.makepyfile(test_leak=SUITE)
    pytester.runpytest("-p", "no:xdist").assert_outcomes(passed=1, failed=1)
    assert OPENAI_KEY.encode() in all_written_bytes(pytester)


CHAINED_CONFTEST = """
import pytest

SEEN = []

def pytest_agentv_redact(text, context):
    return text.replace("BLUEBIRD-7", "CODENAME")

class Second:
    @pytest.hookimpl(trylast=True)
    def pytest_agentv_redact(self, text):
        return text.replace("CODENAME", "[REDACTED:codename]")

class Audit:
    # a wrapper must be driven by pluggy (a generator), not called as a plain function
    @pytest.hookimpl(wrapper=True)
    def pytest_agentv_redact(self, text, context):
        results = yield
        SEEN.append(context)
        return results

def pytest_configure(config):
    config.pluginmanager.register(Second(), "second-redactor")
    config.pluginmanager.register(Audit(), "audit-redactor")

def pytest_unconfigure(config):
    assert SEEN, "the wrapper never ran"
"""


def test_hook_implementations_chain_through_pluggy(pytester: pytest.Pytester) -> None:
    """Implementations of several plugins (one trylast, one a wrapper) each see the text the
    previous one left, and a wrapper is run as pluggy runs wrappers."""
    pytester.makepyfile(test_leak=SUITE)
    pytester.makeconftest(CHAINED_CONFTEST)
    result = pytester.runpytest("-p", "no:xdist")
    result.assert_outcomes(passed=1, failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    written = all_written_bytes(pytester)
    assert b"BLUEBIRD-7" not in written and b"CODENAME" not in written
    assert b"[REDACTED:codename]" in written
    assert b"generator object" not in written

"""The ``pytest_agentv_redact`` hook is called through pluggy: implementations run in pluggy's
order (``tryfirst`` first), each sees the text the previous one left, may take only the
arguments it names, and a wrapper is a wrapper, not a function whose return value is text."""

from __future__ import annotations

import pytest

SUITE = """
def test_house_secret(agentv):
    agentv.message("assistant", "internal codename BLUEBIRD-7 leaked")
"""

# takes only `text`: pluggy passes the arguments an implementation names
CONFTEST = """
def pytest_agentv_redact(text):
    return text.replace("BLUEBIRD", "[REDACTED:codename]")
"""

HOUSE_RULES = """
import pytest

@pytest.hookimpl(tryfirst=True)
def pytest_agentv_redact(text, context):
    return text.replace("BLUEBIRD-7", "BLUEBIRD")
"""

AUDIT = """
import pytest

@pytest.hookimpl(wrapper=True)
def pytest_agentv_redact(text, context):
    return (yield)
"""


def test_implementations_are_chained_in_pluggys_order(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_house=SUITE, house_rules=HOUSE_RULES, audit=AUDIT)
    pytester.makeconftest(CONFTEST)
    pytester.syspathinsert()
    result = pytester.runpytest("-p", "no:xdist", "-p", "house_rules", "-p", "audit")
    result.assert_outcomes(passed=1)
    (transcript,) = (pytester.path / ".agentv" / "runs").rglob("transcript.jsonl")
    written = transcript.read_text()
    # house_rules ran first (tryfirst), then the conftest saw what it left
    assert "internal codename [REDACTED:codename] leaked" in written
    assert "-7" not in written
    assert "generator" not in written

"""What ``show`` and the JUnit export print of a real run (pytester session, then the CLI)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tests.cli_support import agentv

CONFTEST = """
import pytest

@pytest.fixture(scope="session", autouse=True)
def _run(agentv_run):
    agentv_run.params["temperature"] = 0.2

def pytest_agentv_run_metrics(tests):
    return {"accuracy": 0.5}
"""

SUITE = """
import pytest

@pytest.mark.parametrize("q", ["what?"])
def test_answer(agentv, q):
    agentv.outputs(answer="no")
    agentv.reference(answer="yes")
    agentv.score("verdict", "fail")
    agentv.message("assistant", "calling", tool_calls=[{"name": "search", "args": {"q": q}}])
    items = [1, 2]
    assert len(items) == 3
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_qa=SUITE)
    pytester.runpytest("-p", "no:xdist").assert_outcomes(failed=1)
    return pytester


def test_show_prints_the_assertion_then_its_explanation(project: pytest.Pytester) -> None:
    shown = agentv(project.path, "show", "latest")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    failure = next(i for i, line in enumerate(lines) if line.startswith("  test_qa.py::"))
    assert lines[failure].endswith("assert 2 == 3")
    assert lines[failure + 1].strip().startswith("+  where 2 = len(")


def test_show_prints_params_metrics_labels_and_the_case(project: pytest.Pytester) -> None:
    out = agentv(project.path, "show", "latest").stdout
    assert "params  temperature=0.2" in out
    assert "metric  accuracy: 0.5" in out
    assert "labels  verdict: fail 1" in out
    assert '      inputs    {"q": "what?"}' in out
    assert '      outputs   {"answer": "no"}' in out
    assert '      reference {"answer": "yes"}' in out


def test_transcript_and_junit_show_extra_message_fields(project: pytest.Pytester) -> None:
    transcript = agentv(project.path, "show", "latest", "--transcript").stdout
    assert '    tool_calls: [{"args": {"q": "what?"}, "name": "search"}]' in transcript
    junit = agentv(project.path, "export", "latest", "--junit", "-")
    assert junit.returncode == 0, junit.stderr
    out = ET.fromstring(junit.stdout.encode()).find(".//system-out")
    assert out is not None and "tool_calls" in (out.text or "")

"""The JUnit export validates against the JUnit XSD that pytest's own output is checked with.

tests/data/junit-10.xsd is the schema pytest's test suite validates ``--junitxml`` against (MIT
licence, kept in its header). That schema names a test's error element ``errors`` while pytest
and CI readers write and read ``error``: an export with an error outcome is held to exactly the
deviation pytest's own output for the same session has, and to nothing else.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import xmlschema

from tests.cli_support import agentv

SCHEMA = xmlschema.XMLSchema(Path(__file__).parent / "data" / "junit-10.xsd")

SUITE = """
import pytest

def test_scored(agentv):
    agentv.score("accuracy", 0.9, threshold=0.8, reason="close")
    agentv.score("verdict", "pass")
    agentv.usage(input_tokens=3, output_tokens=2, cost_usd=0.01)
    agentv.message("user", "hi", tool_call_id="c1")

def test_failed(agentv):
    agentv.score("accuracy", 0.1)
    assert 1 == 2

@pytest.mark.skip(reason="later")
def test_skipped():
    pass

@pytest.mark.xfail(reason="known")
def test_xfailed():
    assert 0
"""


def problems(document: Path) -> list[str]:
    return [f"{error.path}: {error.reason}" for error in SCHEMA.iter_errors(str(document))]


def test_the_export_of_a_run_with_scores_is_valid(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_evals=SUITE)
    pytester.runpytest("-p", "no:xdist")
    exported = pytester.path / "run.xml"
    result = agentv(pytester.path, "export", "latest", "--junit", str(exported))
    assert result.returncode == 0, result.stderr
    assert problems(exported) == []
    text = exported.read_text()
    assert 'name="test_evals.py::test_scored::score.accuracy" value="0.9"' in text
    assert "score.accuracy = 0.9" in text


def test_an_error_deviates_from_the_schema_only_as_pytest_does(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_errors=SUITE
        + "\n@pytest.fixture\ndef broken():\n    raise RuntimeError('x')\n\n"
        + "def test_error(broken, agentv):\n    pass\n"
    )
    own = pytester.path / "pytest.xml"
    pytester.runpytest("-p", "no:xdist", f"--junitxml={own}", "-o", "junit_family=xunit2")
    exported = pytester.path / "run.xml"
    agentv(pytester.path, "export", "latest", "--junit", str(exported))
    deviation = "Unexpected child with tag 'error'"
    ours = problems(exported)
    assert ours and all(deviation in problem for problem in ours), ours
    assert any(deviation in problem for problem in problems(own))

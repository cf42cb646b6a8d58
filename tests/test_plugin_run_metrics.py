"""Run-level metrics through pytest_agentv_run_metrics, and agentv_run.params (pytester)."""

from __future__ import annotations

import pytest

from tests.helpers import load_run, only_run_dir

CONFTEST = """
import pytest

@pytest.fixture(scope="session", autouse=True)
def _params(agentv_run):
    agentv_run.params["temperature"] = 0.2
    agentv_run.params["prompt"] = "v3"

def pytest_agentv_run_metrics(tests):
    labelled = [t for t in tests if t.outputs is not None and t.reference is not None]
    right = sum(t.outputs["label"] == t.reference["label"] for t in labelled)
    tp = sum(t.outputs["label"] == t.reference["label"] == "spam" for t in labelled)
    predicted = sum(t.outputs["label"] == "spam" for t in labelled)
    actual = sum(t.reference["label"] == "spam" for t in labelled)
    precision, recall = tp / predicted, tp / actual
    return {
        "accuracy": right / len(labelled),
        "f1": 2 * precision * recall / (precision + recall),
    }
"""

SUITE = """
import pytest

@pytest.mark.parametrize(
    "predicted,expected",
    [("spam", "spam"), ("spam", "ham"), ("ham", "ham"), ("ham", "spam")],
)
def test_classify(agentv, predicted, expected):
    agentv.outputs(label=predicted)
    agentv.reference(label=expected)
"""


@pytest.mark.parametrize("mode", [["-p", "no:xdist"], ["-n2"]])
def test_the_hook_computes_metrics_over_every_test(
    pytester: pytest.Pytester, mode: list[str]
) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_cls=SUITE)
    pytester.runpytest(*mode).assert_outcomes(passed=4)
    metadata, _, summary = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    assert metadata["metrics"] == {"accuracy": 0.5, "f1": 0.5}
    assert summary["metrics"] == metadata["metrics"]
    assert metadata["params"] == {"temperature": 0.2, "prompt": "v3"}
    assert summary["params"] == metadata["params"]


def test_a_broken_hook_costs_its_metrics_not_the_run(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        "def pytest_agentv_run_metrics(tests):\n    return {'accuracy': float('nan')}\n"
    )
    pytester.makepyfile("def test_one(agentv): pass\n")
    result = pytester.runpytest("-p", "no:xdist", "-W", "ignore::pytest.PytestWarning")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["*run metrics were not recorded: run metric 'accuracy' must be finite, got nan*"]
    )
    metadata, _, _ = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    assert "metrics" not in metadata


def test_metrics_given_twice_are_refused(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("def pytest_agentv_run_metrics(tests):\n    return {'n': len(tests)}\n")
    pytester.mkpydir("sub")
    (pytester.path / "sub" / "conftest.py").write_text(
        "def pytest_agentv_run_metrics(tests):\n    return {'n': 1}\n"
    )
    (pytester.path / "sub" / "test_one.py").write_text("def test_one(agentv): pass\n")
    result = pytester.runpytest("-p", "no:xdist", "-W", "ignore")
    result.stdout.fnmatch_lines(["*run metric 'n' was returned twice*"])


def test_a_run_without_params_or_metrics_has_neither_field(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_one(agentv): pass\n")
    pytester.runpytest("-p", "no:xdist").assert_outcomes(passed=1)
    metadata, _, summary = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    assert not {"params", "metrics", "labels"} & (set(metadata) | set(summary))

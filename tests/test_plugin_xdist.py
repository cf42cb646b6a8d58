"""One run per session whether or not xdist distributes the tests; only the controller writes."""

from __future__ import annotations

import pytest

from tests.helpers import load_run, only_run_dir, records_by_name

SUITE = """
import os
import pytest

@pytest.fixture(scope="session", autouse=True)
def _run(agentv_run):
    agentv_run.model = "model-x"
    agentv_run.tags.append("ci")

@pytest.mark.parametrize("case", range(6))
def test_case(agentv, case):
    agentv.message("user", f"question {case}")
    agentv.message("assistant", f"answer {case}")
    agentv.score("correct", case % 2 == 0, threshold=1)
    agentv.metadata["worker"] = os.environ.get("PYTEST_XDIST_WORKER", "none")
    assert case != 5
"""

# pytest-benchmark, when installed, warns under xdist; these tests are not about it
MODES = {
    "no-xdist": ["-p", "no:xdist"],
    "n0": ["-n0"],
    "n2": ["-n2"],
}


@pytest.mark.parametrize("mode", list(MODES))
def test_one_run_per_session(pytester: pytest.Pytester, mode: str) -> None:
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest(*MODES[mode])
    result.assert_outcomes(passed=5, failed=1)
    metadata, events, summary = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    assert metadata["model"] == "model-x"
    assert metadata["tags"] == ["ci"]
    assert summary["counts"]["total"] == 6
    assert summary["scores"]["correct"]["passed"] == 3
    tests = records_by_name(metadata)
    assert tests["test_case[5]"]["outcome"] == "failed"
    assert {e["content"] for e in events} == {
        f"{kind} {case}" for case in range(6) for kind in ("question", "answer")
    }
    assert [e["seq"] for e in events] == list(range(12))
    for case in range(6):
        # each test's events stay together and in order
        mine = [e["content"] for e in events if e["test"].endswith(f"[{case}]")]
        assert mine == [f"question {case}", f"answer {case}"]
    workers = {t["metadata"]["worker"] for t in metadata["tests"]}
    if mode == "n2":
        assert workers <= {"gw0", "gw1"} and workers
    else:
        assert workers == {"none"}


def test_workers_inherit_the_controllers_settings(pytester: pytest.Pytester) -> None:
    """A worker does not resolve settings again (its environment may differ): it gets the
    controller's through workerinput."""
    pytester.makeconftest(
        """
import os
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["AGENTV_MODEL"] = "seen-only-by-workers"
"""
    )
    pytester.makepyfile(
        test_suite="""
from pytest_agentv.plugin import SETTINGS_KEY

def test_one(agentv, pytestconfig):
    settings = pytestconfig.stash[SETTINGS_KEY]
    agentv.metadata["model_setting"] = settings.model
    agentv.metadata["worker_input"] = "agentv_settings" in pytestconfig.workerinput
"""
    )
    result = pytester.runpytest("-n1", "--agentv-eval=chosen")
    result.assert_outcomes(passed=1)
    metadata, _events, _summary = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    assert metadata["model"] is None and metadata["evalFile"] == "chosen"
    (test,) = metadata["tests"]
    assert test["metadata"] == {"model_setting": None, "worker_input": True}


def test_workers_inherit_the_controllers_gate_settings(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Gates, repeat and run group travel with the other settings: a worker whose environment
    says otherwise still gates, repeats and groups as the controller resolved."""
    pytester.makeconftest(
        """
import os
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["AGENTV_MIN_SCORE"] = "accuracy=0.99,tone=0.99"
    os.environ["AGENTV_REPEAT"] = "3"
    os.environ["AGENTV_RUN_GROUP"] = "seen-only-by-workers"
"""
    )
    pytester.makefile(".yaml", **{".agentv/config": "gates:\n  min_score: {grounded: 0.1}\n"})
    pytester.makepyfile(
        test_suite="""
from pytest_agentv.plugin import GATE_SETTINGS_KEY, SETTINGS_KEY

def test_one(agentv, pytestconfig, agentv_repeat):
    gates = pytestconfig.stash[GATE_SETTINGS_KEY]
    agentv.score("accuracy", 1.0)
    agentv.score("grounded", 1.0)
    agentv.metadata["min_scores"] = dict(gates.min_scores)
    agentv.metadata["repeat"] = gates.repeat
    agentv.metadata["run_group"] = pytestconfig.stash[SETTINGS_KEY].run_group
    agentv.metadata["source"] = gates.sources["min_score"]
"""
    )
    monkeypatch.setenv("AGENTV_MIN_SCORE", "accuracy=0.5")
    result = pytester.runpytest("-n1", "--agentv-repeat", "2", "--agentv-run-group", "ci-7")
    result.assert_outcomes(passed=2)
    assert result.ret == 0
    metadata, _events, _summary = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    assert metadata["runGroup"] == "ci-7"
    for test in metadata["tests"]:
        assert test["metadata"] == {
            "min_scores": {"accuracy": 0.5, "grounded": 0.1},
            "repeat": 2,
            "run_group": "ci-7",
            "source": "environment variable AGENTV_MIN_SCORE, "
            + str(pytester.path / ".agentv" / "config.yaml"),
        }

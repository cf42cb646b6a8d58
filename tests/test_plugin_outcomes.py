"""Outcomes pytest reports that a run must show too: reruns and collection errors (pytester)."""

from __future__ import annotations

import pytest

from tests.helpers import load_run, only_run_dir, records_by_name

FLAKY = """
import pathlib

def test_flaky(agentv):
    marker = pathlib.Path("attempts.txt")
    count = int(marker.read_text()) if marker.exists() else 0
    marker.write_text(str(count + 1))
    agentv.score("s", count)
    assert count >= 2, f"attempt {count}"

def test_steady(agentv):
    agentv.score("s", 1)
"""


@pytest.mark.parametrize("mode", [["-p", "no:xdist"], ["-n2"]])
def test_reruns_keep_the_attempt_count_and_the_last_attempt(
    pytester: pytest.Pytester, mode: list[str]
) -> None:
    pytester.makepyfile(test_flaky=FLAKY)
    result = pytester.runpytest(*mode, "--reruns", "3")
    assert result.parseoutcomes() == {"passed": 2, "rerun": 2}
    metadata, _, _ = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    tests = records_by_name(metadata)
    assert tests["test_flaky"]["outcome"] == "passed"
    assert tests["test_flaky"]["attempts"] == 3
    assert tests["test_flaky"]["failure"] is None
    assert tests["test_flaky"]["scores"]["s"]["value"] == 2.0
    assert "attempts" not in tests["test_steady"]
    assert metadata["counts"]["total"] == 2


def test_a_test_failing_every_attempt_is_failed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_bad(agentv):\n    assert False, 'always'\n")
    outcomes = pytester.runpytest("-p", "no:xdist", "--reruns", "1").parseoutcomes()
    assert outcomes == {"failed": 1, "rerun": 1}
    metadata, _, _ = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    (test,) = metadata["tests"]
    assert (test["outcome"], test["attempts"]) == ("failed", 2)
    assert "always" in test["failure"]


@pytest.mark.parametrize("mode", [["-p", "no:xdist"], ["-n2"]])
def test_collection_errors_are_in_the_run(pytester: pytest.Pytester, mode: list[str]) -> None:
    pytester.makepyfile(
        test_ok="def test_one(agentv): agentv.score('s', 1)\n",
        test_broken="import no_such_module_here\n\ndef test_never(): pass\n",
    )
    result = pytester.runpytest(*mode, "--continue-on-collection-errors")
    result.assert_outcomes(passed=1, errors=1)
    metadata, _, summary = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    tests = {t["nodeid"]: t for t in metadata["tests"]}
    broken = tests["test_broken.py"]
    assert broken["outcome"] == "error"
    assert broken["failure"].startswith("collection failed: ")
    assert "no_such_module_here" in broken["failure"]
    assert (summary["counts"]["passed"], summary["counts"]["errors"]) == (1, 1)

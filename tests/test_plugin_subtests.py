"""Subtests (unittest subTest, the subtests fixture): one score per subtest, failures kept."""

from __future__ import annotations

import pytest

from tests.helpers import load_run, only_run_dir, records_by_name

UNITTEST_SUITE = """
import unittest
import pytest

class TestCases(unittest.TestCase):
    @pytest.fixture(autouse=True)
    def _recorder(self, agentv):
        self.agentv = agentv

    def test_cases(self):
        for i in range(3):
            with self.subTest(i=i):
                self.agentv.score("accuracy", i / 2)
                self.assertNotEqual(i, 1)
        self.agentv.score("overall", 0.5)
"""

FIXTURE_SUITE = """
def test_cases(agentv, subtests):
    agentv.score("overall", 0.5)
    for i in range(3):
        with subtests.test(msg="case", i=i):
            agentv.score("accuracy", i / 2)
            assert i != 1
"""


@pytest.mark.parametrize("mode", [["-p", "no:xdist"], ["-n2"]])
@pytest.mark.parametrize("suite", [UNITTEST_SUITE, FIXTURE_SUITE], ids=["unittest", "fixture"])
def test_each_subtest_records_its_scores_and_a_failure_fails_the_test(
    pytester: pytest.Pytester, suite: str, mode: list[str]
) -> None:
    pytester.makepyfile(test_sub=suite)
    result = pytester.runpytest(*mode)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    metadata, _, summary = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    (test,) = records_by_name(metadata).values()
    assert test["outcome"] == "failed"
    assert "1 of 3 subtests failed" in test["failure"]
    assert test["scores"] == {
        "overall": {"value": 0.5, "threshold": None, "passed": None, "reason": None}
    }
    subtests = test["subtests"]
    assert [s["params"] for s in subtests] == [{"i": "0"}, {"i": "1"}, {"i": "2"}]
    assert [s["outcome"] for s in subtests] == ["passed", "failed", "passed"]
    assert [s["scores"]["accuracy"]["value"] for s in subtests] == [0.0, 0.5, 1.0]
    assert "failure" in subtests[1] and "failure" not in subtests[0]
    assert summary["counts"]["failed"] == 1 and summary["counts"]["passed"] == 0
    # every subtest's score is a sample of its metric
    assert summary["scores"]["accuracy"]["count"] == 3


def test_a_passing_subtest_suite_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_ok(agentv, subtests):
            for i in range(2):
                with subtests.test(i=i):
                    agentv.score("s", 1)
        """
    )
    pytester.runpytest("-p", "no:xdist")
    metadata, _, _ = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    (test,) = metadata["tests"]
    assert test["outcome"] == "passed"
    assert [s["outcome"] for s in test["subtests"]] == ["passed", "passed"]
    assert "msg" not in test["subtests"][0]


def test_one_score_twice_outside_subtests_is_still_an_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_twice(agentv, subtests):
            with subtests.test():
                agentv.score("s", 1)
                agentv.score("s", 2)
        """
    )
    result = pytester.runpytest("-p", "no:xdist")
    result.stdout.fnmatch_lines(["*score 's' was already recorded in this subtest*"])

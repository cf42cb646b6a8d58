"""agentv.check, --agentv-fail-on-threshold, categorical scores and comments (pytester)."""

from __future__ import annotations

import pytest

from tests.helpers import load_run, only_run_dir, records_by_name

SUITE = """
def test_checked(agentv):
    agentv.check("accuracy", 0.25, threshold=0.8, reason="wrong city")
    agentv.score("never", 1)

def test_checked_ok(agentv):
    agentv.check("accuracy", 0.9, threshold=0.8)

def test_missed(agentv):
    agentv.score("accuracy", 0.25, threshold=0.8)

def test_labels(agentv):
    agentv.score("verdict", "pass", comment="looks right")
    agentv.score("relevance", 0.7, label="relevant")
"""


@pytest.mark.parametrize("mode", [["-p", "no:xdist"], ["-n2"]])
def test_check_fails_its_test_and_records_the_score(
    pytester: pytest.Pytester, mode: list[str]
) -> None:
    pytester.makepyfile(test_scores=SUITE)
    result = pytester.runpytest(*mode)
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        ["*ThresholdMissed: score 'accuracy' = 0.25 is below its threshold 0.8 (wrong city)*"]
    )
    metadata, _, _ = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    tests = records_by_name(metadata)
    assert tests["test_checked"]["outcome"] == "failed"
    assert tests["test_checked"]["scores"]["accuracy"]["passed"] is False
    assert "never" not in tests["test_checked"]["scores"]
    assert tests["test_missed"]["outcome"] == "passed"


@pytest.mark.parametrize("how", ["flag", "ini", "flag-n2"])
def test_fail_on_threshold_fails_every_missed_threshold(
    pytester: pytest.Pytester, how: str
) -> None:
    pytester.makepyfile(test_scores=SUITE)
    args = ["-n2"] if how.endswith("n2") else ["-p", "no:xdist"]
    if how.startswith("flag"):
        args.append("--agentv-fail-on-threshold")
    else:
        pytester.makeini("[pytest]\nagentv_fail_on_threshold = true\n")
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(["*score 'accuracy' = 0.25 is below its threshold 0.8*"])
    metadata, _, _ = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    tests = records_by_name(metadata)
    assert tests["test_missed"]["outcome"] == "failed"
    assert "below its threshold" in tests["test_missed"]["failure"]


def test_fail_on_threshold_alone_does_not_record_a_unit_suite(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_one(): pass\n")
    pytester.runpytest("-p", "no:xdist", "--agentv-fail-on-threshold").assert_outcomes(passed=1)
    assert not (pytester.path / ".agentv").exists()


def test_labels_and_comments_are_stored_and_counted(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_scores=SUITE
        + """
import pytest

@pytest.mark.parametrize("v", ["pass", "fail", "pass"])
def test_many(agentv, v):
    agentv.score("verdict", v)
"""
    )
    pytester.runpytest("-p", "no:xdist").assert_outcomes(passed=6, failed=1)
    metadata, _, summary = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    labels = records_by_name(metadata)["test_labels"]["scores"]
    assert labels["verdict"] == {
        "value": None,
        "threshold": None,
        "passed": None,
        "reason": "looks right",
        "label": "pass",
    }
    assert labels["relevance"]["value"] == 0.7 and labels["relevance"]["label"] == "relevant"
    assert metadata["labels"] == {"relevance": {"relevant": 1}, "verdict": {"fail": 1, "pass": 3}}
    assert summary["labels"] == metadata["labels"]
    # a label-only metric has no numeric aggregate; numbers keep theirs
    assert "verdict" not in metadata["scores"]
    assert metadata["scores"]["relevance"]["count"] == 1


def test_scores_without_labels_keep_their_stored_form(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_s(agentv): agentv.score('s', 0.5, threshold=0.1)\n")
    pytester.runpytest("-p", "no:xdist").assert_outcomes(passed=1)
    metadata, _, summary = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    assert set(metadata["tests"][0]["scores"]["s"]) == {"value", "threshold", "passed", "reason"}
    assert "labels" not in metadata and "labels" not in summary


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('agentv.score("v", "a", label="b")', "give the label once"),
        ('agentv.score("v", 1, reason="a", comment="b")', "give reason= or comment=, not both"),
        ('agentv.score("v", 1, label=3)', "label must be a string"),
    ],
)
def test_bad_label_arguments_fail_the_test(
    pytester: pytest.Pytester, line: str, message: str
) -> None:
    pytester.makepyfile(f"def test_bad(agentv):\n    {line}\n")
    result = pytester.runpytest("-p", "no:xdist")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"*{message}*"])

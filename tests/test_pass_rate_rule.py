"""One pass-rate rule: the release gate's quality score and ``--agentv-min-pass-rate`` agree.

Each case is one where the two used to disagree (the release gate counted repeats one by one
and left xfailed/xpassed out); the expected figure is worked out by hand in the comment.
"""

from __future__ import annotations

import pytest

from pytest_agentv.gates import GateSpec, evaluate_gates, pass_rate, run_mean
from pytest_agentv.models import TestRecord
from pytest_agentv.releases.gate import decide, quality_score
from tests.gate_runs import run_of
from tests.runs import record


def repeated(name: str, *outcomes: str, **scores: float) -> list[TestRecord]:
    """One record per repeat of test ``name`` (``name[repeatKofN]``), in the given outcomes."""
    count = len(outcomes)
    made = []
    for index, outcome in enumerate(outcomes):
        base = record(name, outcome, **scores)
        made.append(
            base.model_copy(update={"nodeid": f"{base.nodeid}[repeat{index + 1}of{count}]"})
        )
    return made


CASES = {
    # a passes 1 of 2 repeats, b (not repeated) passes: (0.5 + 1) / 2 = 0.75
    # (counted by repeat: 2 / 3 = 0.667)
    "repeats with mixed outcomes": (
        [*repeated("test_a", "passed", "failed"), record("test_b")],
        0.75,
    ),
    # 3 passed, 1 failed, 2 xfailed: 5 / 6 = 0.833 (xfailed left out: 3 / 4 = 0.75)
    "xfailed": (
        [
            *(record(f"test_p{i}") for i in range(3)),
            record("test_f", "failed"),
            *(record(f"test_x{i}", "xfailed") for i in range(2)),
        ],
        5 / 6,
    ),
    # 1 passed, 1 failed, 1 xpassed: 2 / 3 (xpassed left out: 1 / 2)
    "xpassed": (
        [record("test_p"), record("test_f", "failed"), record("test_x", "xpassed")],
        2 / 3,
    ),
    # a: passed, skipped (its rate 1 of 1 counted repeat); b: failed, failed; c: skipped only
    # -> (1 + 0) / 2 = 0.5 (by repeat: 1 / 3)
    "skipped repeats": (
        [
            *repeated("test_a", "passed", "skipped"),
            *repeated("test_b", "failed", "failed"),
            *repeated("test_c", "skipped", "skipped"),
        ],
        0.5,
    ),
}


def session_gate(tests: list[TestRecord], limit: float) -> str:
    """The verdict of ``--agentv-min-pass-rate limit`` on a run of ``tests``."""
    return evaluate_gates(run_of("a" * 16, tests), GateSpec(min_pass_rate=limit)).verdict


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_quality_score_is_the_session_pass_rate(case: str) -> None:
    tests, expected = CASES[case]
    assert pass_rate(tests) == pytest.approx(expected)
    assert quality_score(tests, None) == (round(100 * expected, 4), "")


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("offset", [-1.0, 0.0, 1.0])
def test_the_release_and_the_session_gate_agree(case: str, offset: float) -> None:
    # min_quality_score T and --agentv-min-pass-rate T / 100: one verdict, also at the rate
    # itself (each case's old, per-repeat figure is more than one point away)
    tests, expected = CASES[case]
    threshold = round(100 * expected, 2) + offset
    verdict = decide(tests, None, threshold)
    assert verdict.passed == (session_gate(tests, threshold / 100) == "pass")
    assert verdict.passed == (expected >= threshold / 100)
    if offset:
        assert verdict.passed == (offset < 0)


def test_a_threshold_hidden_by_rounding_is_compared_unrounded() -> None:
    tests, _ = CASES["xpassed"]  # 2 / 3: shown as 66.6667
    verdict = decide(tests, None, 66.6667)
    assert not verdict.passed
    assert session_gate(tests, 0.666667) == "fail"
    assert verdict.score == 66.6667
    assert verdict.reason == "score 66.66666666666666 < 66.6667"


def test_a_quality_metric_averages_repeats_first() -> None:
    # a: 0.2, 0.4 (mean 0.3); b, not repeated: 0.9 -> (0.3 + 0.9) / 2 = 0.6 (by repeat: 0.5)
    tests = [
        *repeated("test_a", "passed", "passed", helpful=0.2)[:1],
        *repeated("test_a", "passed", "passed", helpful=0.4)[1:],
        record("test_b", helpful=0.9),
    ]
    assert run_mean(tests, "helpful") == pytest.approx(0.6)
    verdict = decide(tests, "helpful", 55)
    assert (verdict.score, verdict.passed) == (60.0, True)

"""The eval gate's arithmetic: a run's quality score and the verdict it gives (pure).

The quality score is a number from 0 to 100:

- by default the pass rate of the run, ``100 * passed / (passed + failed + errors)``: skipped,
  xfailed and xpassed tests are no evidence either way and are left out;
- with ``--agentv-quality-metric NAME``, ``100 *`` the mean of the metric ``NAME`` over the tests
  that recorded it (the metric must be a fraction from 0 to 1).

The release passes when the score is at least ``governance.min_quality_score``. A run with no
evidence (no test counted, or the metric never recorded) does not pass, whatever the threshold.

Worked example: 5 passed, 2 failed, 1 error, 3 skipped -> 100 * 5 / 8 = 62.5; with
``min_quality_score: 75`` the release is rejected with ``score 62.5 < 75``.
"""

from __future__ import annotations

from dataclasses import dataclass

from pytest_agentv.models import Counts, ScoreAggregate

PASS_RATE = "pass_rate"


@dataclass(frozen=True)
class Verdict:
    """What the gate decided, and why (the reason is the ``[REJECTED: …]`` text)."""

    score: float
    threshold: float
    metric: str
    passed: bool
    reason: str


def quality_score(
    counts: Counts, scores: dict[str, ScoreAggregate], metric: str | None
) -> tuple[float | None, str]:
    """The score (None without evidence) and, when None, why there is none."""
    if metric is None:
        counted = counts.passed + counts.failed + counts.errors
        if counted == 0:
            return None, "no test passed or failed"
        return round(100.0 * counts.passed / counted, 4), ""
    aggregate = scores.get(metric)
    if aggregate is None or aggregate.count == 0:
        recorded = ", ".join(sorted(scores)) or "none"
        return None, f"metric {metric!r} was not recorded (recorded: {recorded})"
    if not 0.0 <= aggregate.mean <= 1.0:
        return None, f"metric {metric!r} has mean {aggregate.mean:g}, not a fraction from 0 to 1"
    return round(100.0 * aggregate.mean, 4), ""


def decide(
    counts: Counts, scores: dict[str, ScoreAggregate], metric: str | None, threshold: float
) -> Verdict:
    """The verdict of a run on a release whose ``min_quality_score`` is ``threshold``."""
    name = metric or PASS_RATE
    score, missing = quality_score(counts, scores, metric)
    if score is None:
        return Verdict(0.0, threshold, name, False, f"{missing}; score 0 < {threshold:g}")
    if score >= threshold:
        return Verdict(score, threshold, name, True, f"score {score:g} >= {threshold:g}")
    return Verdict(score, threshold, name, False, f"score {score:g} < {threshold:g}")

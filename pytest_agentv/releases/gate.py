"""The eval gate's arithmetic: a run's quality score and the verdict it gives (pure).

The quality score is a number from 0 to 100, computed from the run's test records with the
session gates' own definitions (:func:`pytest_agentv.gates.pass_rate`,
:func:`pytest_agentv.gates.run_mean`; docs/gates.md, *Pass rate and mean*), so that a release
gated by a run and ``--agentv-min-pass-rate`` on the same run never disagree:

- by default ``100 *`` the run's pass rate: each test counted once (its repeats averaged),
  ``xfailed``/``xpassed`` passing, ``skipped`` left out;
- with ``--agentv-quality-metric NAME``, ``100 *`` the mean of the metric ``NAME`` over the tests
  that recorded it, each test's repeats averaged first (the metric must be a fraction 0 to 1).

The release passes when the score is at least ``governance.min_quality_score``. A run with no
evidence (no test counted, or the metric never recorded) does not pass, whatever the threshold.

Worked example: 5 passed, 2 failed, 1 error, 3 skipped -> 100 * 5 / 8 = 62.5; with
``min_quality_score: 75`` the release is rejected with ``score 62.5 < 75``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pytest_agentv.gates import PASS_RATE, metrics_of, pass_rate, run_mean
from pytest_agentv.models import TestRecord

__all__ = ["PASS_RATE", "Verdict", "decide", "quality_score"]


@dataclass(frozen=True)
class Verdict:
    """What the gate decided, and why (the reason is the ``[REJECTED: …]`` text)."""

    score: float
    threshold: float
    metric: str
    passed: bool
    reason: str


def _fraction(tests: Sequence[TestRecord], metric: str | None) -> tuple[float | None, str]:
    """The pass rate or the metric's mean, from 0 to 1 (None without evidence, and why)."""
    if metric is None:
        rate = pass_rate(tests)
        return (None, "no test passed or failed") if rate is None else (rate, "")
    value = run_mean(tests, metric)
    if value is None:
        recorded = ", ".join(sorted(metrics_of(tests))) or "none"
        return None, f"metric {metric!r} was not recorded (recorded: {recorded})"
    if not 0.0 <= value <= 1.0:
        return None, f"metric {metric!r} has mean {value:g}, not a fraction from 0 to 1"
    return value, ""


def quality_score(tests: Sequence[TestRecord], metric: str | None) -> tuple[float | None, str]:
    """The score of a run's tests, rounded to 4 decimals (None without evidence) and, when
    None, why there is none."""
    fraction, missing = _fraction(tests, metric)
    return (None, missing) if fraction is None else (round(100.0 * fraction, 4), "")


def decide(tests: Sequence[TestRecord], metric: str | None, threshold: float) -> Verdict:
    """The verdict of a run's tests on a release whose ``min_quality_score`` is ``threshold``.

    The comparison is the session gates' own, ``fraction >= threshold / 100`` (what
    ``--agentv-min-pass-rate`` or ``--agentv-min-score`` with that limit decides), made before the
    score is rounded for display.
    """
    name = metric or PASS_RATE
    fraction, missing = _fraction(tests, metric)
    if fraction is None:
        return Verdict(0.0, threshold, name, False, f"{missing}; score 0 < {threshold:g}")
    score = round(100.0 * fraction, 4)
    passed = fraction >= threshold / 100.0
    # where rounding hides the difference from the threshold, the reason shows every digit
    shown = f"{score:g}" if (score >= threshold) == passed else repr(100.0 * fraction)
    relation = ">=" if passed else "<"
    return Verdict(score, threshold, name, passed, f"score {shown} {relation} {threshold:g}")

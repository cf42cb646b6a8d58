"""Compare two runs test by test (pure: two :class:`RunMetadata` in, a :class:`RunDiff` out).

What counts as a regression (docs/cli.md repeats this):

* an **outcome regression**: the test ended ``passed``, ``xfailed`` or ``xpassed`` (outcomes that
  do not fail a pytest session) in the base run and ``failed`` or ``error`` in the new run;
* a **score regression**: a metric recorded in both runs either fell below its threshold (its
  ``passed`` verdict is false, or its value is under its ``threshold``) while it was not below
  it before, or dropped by more than ``tolerance``. For a score recorded with
  ``greater_is_better=False`` the directions swap: above the threshold, or a rise, is worse.

Improvements are the mirror image (``failed``/``error`` to ``passed``; a metric rising above its
threshold or by more than ``tolerance``). Tests present in only one run are reported as added or
removed, never as regressions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from pytest_agentv.models import Counts, RunMetadata, Score, TestRecord

OK_OUTCOMES = frozenset({"passed", "xfailed", "xpassed"})
FAILING_OUTCOMES = frozenset({"failed", "error"})
# float noise from aggregation must not count as a drop when the tolerance is zero
_EPSILON = 1e-9

TestStatus = Literal["regressed", "improved", "changed", "unchanged", "added", "removed"]
ScoreStatus = Literal["regressed", "improved", "unchanged", "added", "removed"]


class _Compared:
    """A number before and after; ``delta`` is their difference."""

    before: float | None
    after: float | None

    @property
    def delta(self) -> float | None:
        """``after - before``, when both exist."""
        if self.before is None or self.after is None:
            return None
        return self.after - self.before


@dataclass(frozen=True)
class ScoreChange(_Compared):
    """One metric of one test, compared."""

    metric: str
    before: float | None
    after: float | None
    threshold: float | None
    status: ScoreStatus
    why: str = ""


@dataclass(frozen=True)
class TestChange:
    """One test, compared."""

    __test__ = False  # not a pytest test class

    nodeid: str
    before: str | None  # outcome in the base run (None: not there)
    after: str | None
    scores: tuple[ScoreChange, ...] = ()
    regressions: tuple[str, ...] = ()  # why it regressed, one phrase each
    improvements: tuple[str, ...] = ()

    @property
    def status(self) -> TestStatus:
        """The one word a table shows."""
        if self.before is None:
            return "added"
        if self.after is None:
            return "removed"
        if self.regressions:
            return "regressed"
        if self.improvements:
            return "improved"
        if self.before != self.after or any(s.status != "unchanged" for s in self.scores):
            return "changed"
        return "unchanged"


@dataclass(frozen=True)
class MetricDelta(_Compared):
    """A metric's run-level mean, compared."""

    metric: str
    before: float | None
    after: float | None
    before_count: int
    after_count: int


@dataclass(frozen=True)
class RunDiff:
    """Everything that differs between a base run and a new run."""

    before_id: str
    after_id: str
    tolerance: float
    tests: tuple[TestChange, ...]
    counts_before: Counts
    counts_after: Counts
    metrics: tuple[MetricDelta, ...] = field(default=())

    @property
    def regressions(self) -> list[TestChange]:
        """Tests with at least one regression."""
        return [t for t in self.tests if t.regressions]

    @property
    def improvements(self) -> list[TestChange]:
        """Tests with at least one improvement (a test may also have regressed)."""
        return [t for t in self.tests if t.improvements]

    @property
    def added(self) -> list[TestChange]:
        """Tests only in the new run."""
        return [t for t in self.tests if t.before is None]

    @property
    def removed(self) -> list[TestChange]:
        """Tests only in the base run."""
        return [t for t in self.tests if t.after is None]

    @property
    def regressed(self) -> bool:
        """True if anything regressed (what ``--fail-on-regression`` checks)."""
        return any(t.regressions for t in self.tests)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready report (camelCase keys, like the stored files)."""
        return {
            "base": self.before_id,
            "new": self.after_id,
            "tolerance": self.tolerance,
            "regressed": self.regressed,
            "counts": {
                "base": self.counts_before.model_dump(mode="json"),
                "new": self.counts_after.model_dump(mode="json"),
            },
            "metrics": [
                {
                    "metric": m.metric,
                    "base": m.before,
                    "new": m.after,
                    "delta": m.delta,
                    "baseCount": m.before_count,
                    "newCount": m.after_count,
                }
                for m in self.metrics
            ],
            "regressions": [t.nodeid for t in self.regressions],
            "improvements": [t.nodeid for t in self.improvements],
            "added": [t.nodeid for t in self.added],
            "removed": [t.nodeid for t in self.removed],
            "tests": [_test_json(t) for t in self.tests],
        }


def _test_json(test: TestChange) -> dict[str, Any]:
    return {
        "nodeid": test.nodeid,
        "status": test.status,
        "base": test.before,
        "new": test.after,
        "regressions": list(test.regressions),
        "improvements": list(test.improvements),
        "scores": [
            {
                "metric": s.metric,
                "base": s.before,
                "new": s.after,
                "delta": s.delta,
                "threshold": s.threshold,
                "status": s.status,
            }
            for s in test.scores
        ],
    }


def lower_is_better(score: Score) -> bool:
    """True for a score recorded with ``greater_is_better=False`` (latency, cost, errors)."""
    return score.greater_is_better is False


def _below_threshold(score: Score) -> bool:
    """True when the score misses its threshold (is on the worse side of it)."""
    if score.passed is not None:
        return not score.passed
    if score.threshold is None:
        return False
    return (
        score.value > score.threshold if lower_is_better(score) else score.value < score.threshold
    )


def compare_score(
    metric: str, before: Score | None, after: Score | None, tolerance: float
) -> ScoreChange:
    """Classify one metric of one test (see the module docstring for the rules)."""
    if before is None and after is None:
        raise ValueError(f"metric {metric!r} is in neither run")
    if before is None:
        assert after is not None
        return ScoreChange(metric, None, after.value, after.threshold, "added")
    if after is None:
        return ScoreChange(metric, before.value, None, before.threshold, "removed")
    threshold = after.threshold if after.threshold is not None else before.threshold
    delta = after.value - before.value
    lower = lower_is_better(after)
    gain = -delta if lower else delta  # positive: better
    worse, better = ("above", "below") if lower else ("below", "above")
    fell, rose = ("rose", "dropped") if lower else ("dropped", "rose")
    was_below, is_below = _below_threshold(before), _below_threshold(after)
    limit = f" {threshold:g}" if threshold is not None else ""

    def change(status: ScoreStatus, why: str = "") -> ScoreChange:
        return ScoreChange(metric, before.value, after.value, threshold, status, why)

    if is_below and not was_below:
        verb = "rose" if lower else "fell"
        return change("regressed", f"{metric} {verb} {worse} its threshold{limit}")
    if gain < -(tolerance + _EPSILON):
        return change("regressed", f"{metric} {fell} by {abs(delta):.4g} (tolerance {tolerance:g})")
    if was_below and not is_below:
        verb = "fell" if lower else "rose"
        return change("improved", f"{metric} {verb} {better} its threshold{limit}")
    if gain > tolerance + _EPSILON:
        return change("improved", f"{metric} {rose} by {abs(delta):.4g}")
    return change("unchanged")


def compare_test(
    before: TestRecord | None, after: TestRecord | None, tolerance: float
) -> TestChange:
    """Classify one test present in at least one run."""
    record = after or before
    if record is None:
        raise ValueError("a test must be in at least one run")
    before_scores = before.scores if before else {}
    after_scores = after.scores if after else {}
    scores: tuple[ScoreChange, ...] = ()
    regressions: list[str] = []
    improvements: list[str] = []
    if before is not None and after is not None:
        scores = tuple(
            compare_score(name, before_scores.get(name), after_scores.get(name), tolerance)
            for name in sorted(before_scores.keys() | after_scores.keys())
        )
        if before.outcome in OK_OUTCOMES and after.outcome in FAILING_OUTCOMES:
            regressions.append(f"{before.outcome} -> {after.outcome}")
        elif before.outcome in FAILING_OUTCOMES and after.outcome == "passed":
            improvements.append(f"{before.outcome} -> {after.outcome}")
        regressions += [s.why for s in scores if s.status == "regressed"]
        improvements += [s.why for s in scores if s.status == "improved"]
    return TestChange(
        nodeid=record.nodeid,
        before=before.outcome if before else None,
        after=after.outcome if after else None,
        scores=scores,
        regressions=tuple(regressions),
        improvements=tuple(improvements),
    )


def _by_nodeid(tests: Iterable[TestRecord]) -> dict[str, TestRecord]:
    # a nodeid recorded twice (a rerun) is judged by its last record, as pytest reports it
    return {test.nodeid: test for test in tests}


def diff_runs(before: RunMetadata, after: RunMetadata, tolerance: float = 0.0) -> RunDiff:
    """Compare ``after`` against the base run ``before``."""
    if tolerance < 0:
        raise ValueError(f"tolerance must not be negative, got {tolerance}")
    old, new = _by_nodeid(before.tests), _by_nodeid(after.tests)
    # base-run order first, then tests that only the new run has, in its order
    order = list(old) + [nodeid for nodeid in new if nodeid not in old]
    tests = tuple(compare_test(old.get(n), new.get(n), tolerance) for n in order)
    metrics = tuple(
        MetricDelta(
            metric=name,
            before=before.scores[name].mean if name in before.scores else None,
            after=after.scores[name].mean if name in after.scores else None,
            before_count=before.scores[name].count if name in before.scores else 0,
            after_count=after.scores[name].count if name in after.scores else 0,
        )
        for name in sorted(before.scores.keys() | after.scores.keys())
    )
    return RunDiff(
        before_id=before.run_id,
        after_id=after.run_id,
        tolerance=tolerance,
        tests=tests,
        counts_before=before.counts,
        counts_after=after.counts,
        metrics=metrics,
    )


# --- rendering (pure: a diff in, text out) --------------------------------------------------------


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _signed(value: float | None) -> str:
    return "" if value is None else f"{value:+.4g}"


def _score_cells(test: TestChange) -> str:
    cells = []
    for s in test.scores:
        if s.status == "added":
            cells.append(f"{s.metric} new {_num(s.after)}")
        elif s.status == "removed":
            cells.append(f"{s.metric} gone (was {_num(s.before)})")
        elif s.delta:
            cells.append(f"{s.metric} {_num(s.before)}->{_num(s.after)} ({_signed(s.delta)})")
    return ", ".join(cells)


def _counts_line(counts: Counts) -> str:
    return (
        f"{counts.passed}/{counts.total} passed, {counts.failed} failed, "
        f"{counts.errors} errors, {counts.skipped} skipped"
    )


def render_text(diff: RunDiff) -> str:
    """The terminal report."""
    lines = [f"base {diff.before_id}  ->  new {diff.after_id}", ""]
    lines.append(f"tests    base: {_counts_line(diff.counts_before)}")
    lines.append(f"         new:  {_counts_line(diff.counts_after)}")
    for m in diff.metrics:
        lines.append(
            f"metric   {m.metric}: mean {_num(m.before)} -> {_num(m.after)} "
            f"{_signed(m.delta)}".rstrip()
        )
    sections: list[tuple[str, list[TestChange], str]] = [
        ("Regressions", diff.regressions, "regressions"),
        ("Improvements", diff.improvements, "improvements"),
    ]
    for title, tests, attr in sections:
        lines += ["", f"{title} ({len(tests)})"]
        for test in tests:
            lines.append(f"  {test.nodeid}: {'; '.join(getattr(test, attr))}")
    changed = [t for t in diff.tests if t.status == "changed"]
    if changed:
        lines += ["", f"Other changes ({len(changed)})"]
        for test in changed:
            detail = _score_cells(test)
            outcome = f"{test.before} -> {test.after}" if test.before != test.after else test.after
            lines.append(f"  {test.nodeid}: {outcome}" + (f"; {detail}" if detail else ""))
    for title, tests in (("Only in new run", diff.added), ("Only in base run", diff.removed)):
        if tests:
            lines += ["", f"{title} ({len(tests)})"]
            lines += [f"  {t.nodeid}: {t.after or t.before}" for t in tests]
    lines += ["", "Tests"]
    width = max((len(t.nodeid) for t in diff.tests), default=4)
    lines.append(f"  {'STATUS':<10} {'TEST':<{width}}  {'OUTCOME':<20} SCORES")
    for test in diff.tests:
        outcome = f"{test.before or '-'} -> {test.after or '-'}"
        lines.append(
            f"  {test.status:<10} {test.nodeid:<{width}}  {outcome:<20} "
            f"{_score_cells(test)}".rstrip()
        )
    lines += ["", "regressed" if diff.regressed else "no regressions"]
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("`", "'")


def render_markdown(diff: RunDiff) -> str:
    """A report for a pull-request comment."""
    verdict = f"**{len(diff.regressions)} regressed**" if diff.regressed else "**no regressions**"
    lines = [
        f"### agentv: `{diff.after_id}` vs base `{diff.before_id}` — {verdict}",
        "",
        "| | base | new |",
        "|---|---|---|",
        f"| passed | {diff.counts_before.passed}/{diff.counts_before.total} "
        f"| {diff.counts_after.passed}/{diff.counts_after.total} |",
        f"| failed + errors | {diff.counts_before.failed + diff.counts_before.errors} "
        f"| {diff.counts_after.failed + diff.counts_after.errors} |",
    ]
    for m in diff.metrics:
        lines.append(
            f"| {_md(m.metric)} (mean) | {_num(m.before)} | {_num(m.after)} {_signed(m.delta)} |"
        )
    for title, tests, attr in (
        ("Regressions", diff.regressions, "regressions"),
        ("Improvements", diff.improvements, "improvements"),
    ):
        if tests:
            lines += ["", f"#### {title} ({len(tests)})", ""]
            lines += [f"- `{_md(t.nodeid)}`: {_md('; '.join(getattr(t, attr)))}" for t in tests]
    for title, tests in (("Only in new run", diff.added), ("Only in base run", diff.removed)):
        if tests:
            lines += ["", f"#### {title} ({len(tests)})", ""]
            lines += [f"- `{_md(t.nodeid)}`: {t.after or t.before}" for t in tests]
    if diff.tolerance:
        lines += ["", f"_Score tolerance: {diff.tolerance:g}_"]
    return "\n".join(lines) + "\n"

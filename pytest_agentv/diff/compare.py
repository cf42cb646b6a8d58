"""Compare two runs test by test: the tests matched, each classified (pure: two
:class:`RunMetadata` in, a :class:`RunDiff` out; :mod:`.render` turns it into text).

Tests are matched on their case id (parametrized values), else their node id; a key recorded
twice (a rerun) is judged by its last record.

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
ScoreStatus = Literal["regressed", "improved", "changed", "unchanged", "added", "removed"]


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
    before_label: str | None = None
    after_label: str | None = None


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
    case_id: str | None = None  # what matched the two records, when not the node id
    failure: str | None = None  # the new run's failure text

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
class RunFacts:
    """What a run was, for the report's header."""

    model: str | None
    eval_file: str | None
    source_commit: str | None
    params: dict[str, Any]

    @classmethod
    def of(cls, run: RunMetadata) -> RunFacts:
        return cls(run.model, run.eval_file, run.source_commit, dict(run.params or {}))


#: pytest options that leave tests out of a run (a partial run is not the whole eval)
PARTIAL_FLAGS = (
    "-k",
    "-m",
    "-x",
    "--exitfirst",
    "--maxfail",
    "--lf",
    "--last-failed",
    "--deselect",
    "--sw",
    "--stepwise",
)


def caveats(before: RunMetadata, after: RunMetadata) -> tuple[str, ...]:
    """Why ``before`` and ``after`` may not be comparable, one sentence each (pure)."""
    notes = []
    if before.eval_file != after.eval_file:
        notes.append(
            f"the runs are of different evals: base {before.eval_file or '-'}, "
            f"new {after.eval_file or '-'}"
        )
    for label, run in (("base", before), ("new", after)):
        used = sorted({a.split("=", 1)[0] for a in run.args} & set(PARTIAL_FLAGS))
        if used:
            notes.append(
                f"the {label} run {run.run_id} was filtered or cut short ({' '.join(used)}): "
                "tests it left out are not compared"
            )
    return tuple(notes)


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
    #: what each run was: model, eval, source commit and ``agentv_run.params``
    before_run: RunFacts | None = None
    after_run: RunFacts | None = None
    #: why the two runs may not be comparable (different evals, a filtered or cut-short run)
    caveats: tuple[str, ...] = ()

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
            "caveats": list(self.caveats),
            "runs": {
                label: None
                if facts is None
                else {
                    "model": facts.model,
                    "evalFile": facts.eval_file,
                    "sourceCommit": facts.source_commit,
                    "params": facts.params,
                }
                for label, facts in (("base", self.before_run), ("new", self.after_run))
            },
            "regressions": [t.nodeid for t in self.regressions],
            "improvements": [t.nodeid for t in self.improvements],
            "added": [t.nodeid for t in self.added],
            "removed": [t.nodeid for t in self.removed],
            "tests": [_test_json(t) for t in self.tests],
        }


def _test_json(test: TestChange) -> dict[str, Any]:
    return {
        "nodeid": test.nodeid,
        "caseId": test.case_id,
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
                "baseLabel": s.before_label,
                "newLabel": s.after_label,
            }
            for s in test.scores
        ],
    }


def format_value(value: float | None) -> str:
    """A score as the reports and the ``why`` phrases show it: 4 significant digits, ``-``
    when absent."""
    return "-" if value is None else f"{value:.4g}"


def lower_is_better(score: Score) -> bool:
    """True for a score recorded with ``greater_is_better=False`` (latency, cost, errors)."""
    return score.greater_is_better is False


def _below_threshold(score: Score) -> bool:
    """True when the score misses its threshold (is on the worse side of it)."""
    if score.passed is not None:
        return not score.passed
    if score.threshold is None or score.value is None:
        return False
    return (
        score.value > score.threshold if lower_is_better(score) else score.value < score.threshold
    )


def _compare_labels(metric: str, before: Score, after: Score) -> ScoreChange:
    """A categorical score (one side has no number): a label change is a change, not a
    regression; only a ``passed`` verdict turning false is."""
    threshold = after.threshold if after.threshold is not None else before.threshold
    status: ScoreStatus = "unchanged"
    why = ""
    if _below_threshold(after) and not _below_threshold(before):
        status, why = "regressed", f"{metric} fell below its threshold"
    elif before.label != after.label or before.value != after.value:
        old, new = (
            before.label or format_value(before.value),
            after.label or format_value(after.value),
        )
        status, why = "changed", f"{metric} {old} -> {new}"
    return ScoreChange(
        metric, before.value, after.value, threshold, status, why, before.label, after.label
    )


def compare_score(
    metric: str, before: Score | None, after: Score | None, tolerance: float
) -> ScoreChange:
    """Classify one metric of one test (see the module docstring for the rules)."""
    if before is None and after is None:
        raise ValueError(f"metric {metric!r} is in neither run")
    if before is None:
        assert after is not None
        return ScoreChange(
            metric, None, after.value, after.threshold, "added", after_label=after.label
        )
    if after is None:
        return ScoreChange(
            metric, before.value, None, before.threshold, "removed", before_label=before.label
        )
    if before.value is None or after.value is None:
        return _compare_labels(metric, before, after)
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
        failure=after.failure if after is not None else None,
        case_id=record.case_id,
        nodeid=record.nodeid,
        before=before.outcome if before else None,
        after=after.outcome if after else None,
        scores=scores,
        regressions=tuple(regressions),
        improvements=tuple(improvements),
    )


def _by_key(tests: Iterable[TestRecord]) -> dict[str, TestRecord]:
    # tests are matched on their case id (parametrized values), else their node id; a key
    # recorded twice (a rerun) is judged by its last record, as pytest reports it
    return {test.key: test for test in tests}


def diff_runs(before: RunMetadata, after: RunMetadata, tolerance: float = 0.0) -> RunDiff:
    """Compare ``after`` against the base run ``before``."""
    if tolerance < 0:
        raise ValueError(f"tolerance must not be negative, got {tolerance}")
    old, new = _by_key(before.tests), _by_key(after.tests)
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
        before_run=RunFacts.of(before),
        after_run=RunFacts.of(after),
        caveats=caveats(before, after),
    )

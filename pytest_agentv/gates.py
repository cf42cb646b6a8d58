"""Gates: does a run reach fixed limits, and did it get worse than its baseline (pure).

Two kinds (docs/gates.md says the same for users):

* **absolute** -- ``min-score METRIC=VALUE``: the run's mean of METRIC reaches VALUE (at most
  VALUE for a metric whose scores say ``greater_is_better=False``); ``min-pass-rate VALUE``: the
  share of passing tests reaches VALUE. A metric the run did not record fails.
* **baseline** -- ``max-regression METRIC=DELTA`` and ``fail-on-regression`` (every shared metric
  and the pass rate, DELTA 0): the tests both runs have are paired and the mean difference is
  estimated with a clustered 95 % interval (:mod:`pytest_agentv.stats`). The gate **fails** when
  the whole interval lies beyond ``-DELTA`` (worse by more than DELTA), **passes** when none of it
  does, and is **inconclusive** otherwise, with the smallest difference these tests could detect.

Every figure counts a test once: its repeats are averaged first, and a test is a pass rate's
"pass" in proportion to its passing repeats. Skipped tests count for neither pass nor fail.
The report's :attr:`GateReport.verdict` is the one place the overall verdict is decided; the
exit status and the printed table both read it, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pytest_agentv.diff import OK_OUTCOMES
from pytest_agentv.models import GateRecord, GateRowRecord, GateVerdict, RunMetadata, TestRecord
from pytest_agentv.options import GateMethod
from pytest_agentv.repeats import split_repeat
from pytest_agentv.stats import (
    DEFAULT_CONFIDENCE,
    ClusterBy,
    Estimate,
    compare_paired,
    compare_proportions,
    mean,
    per_test_means,
)

Verdict = GateVerdict
GateKind = Literal["min-score", "min-pass-rate", "max-regression", "fail-on-regression"]
#: The session's exit status when every test passed but a gate failed (docs/gates.md).
EXIT_GATE_FAILED = 6
#: The name under which pass/fail outcomes appear among the metrics of a gate.
PASS_RATE = "pass_rate"
NOT_COUNTED = frozenset({"skipped"})


@dataclass(frozen=True)
class GateSpec:
    """Which gates to apply (empty: none)."""

    min_scores: Mapping[str, float] = field(default_factory=dict)
    min_pass_rate: float | None = None
    max_regression: Mapping[str, float] = field(default_factory=dict)
    fail_on_regression: bool = False
    cluster_by: ClusterBy = "module"
    confidence: float = DEFAULT_CONFIDENCE
    method: GateMethod = "stats"

    @property
    def needs_baseline(self) -> bool:
        """True when a gate compares against a baseline run."""
        return bool(self.max_regression) or self.fail_on_regression

    @property
    def enabled(self) -> bool:
        """True when there is any gate at all."""
        return bool(self.min_scores) or self.min_pass_rate is not None or self.needs_baseline


@dataclass(frozen=True)
class GateRow:
    """One line of the gate table."""

    gate: GateKind
    metric: str
    verdict: Verdict
    limit: float  # VALUE of an absolute gate, DELTA of a baseline gate
    this_run: float | None
    baseline: float | None = None
    difference: Estimate | None = None  # this run - baseline, over the paired tests
    tests: int = 0  # tests counted (absolute) or paired (baseline)
    greater_is_better: bool = True
    note: str = ""

    def to_record(self) -> GateRowRecord:
        """The row as run metadata stores it."""
        diff = self.difference
        return GateRowRecord(
            gate=self.gate,
            metric=self.metric,
            verdict=self.verdict,
            limit=self.limit,
            this_run=self.this_run,
            baseline=self.baseline,
            difference=None if diff is None else diff.mean,
            low=None if diff is None else diff.low,
            high=None if diff is None else diff.high,
            standard_error=None if diff is None else diff.standard_error,
            detectable=None if diff is None else diff.detectable,
            clusters=None if diff is None else diff.clusters,
            tests=self.tests,
            greater_is_better=self.greater_is_better,
            note=self.note,
        )

    def to_json(self) -> dict[str, Any]:
        """JSON-ready, camelCase like the stored files."""
        return self.to_record().model_dump(mode="json", by_alias=True)


@dataclass(frozen=True)
class GateReport:
    """Every gate's row, and the one overall verdict."""

    rows: tuple[GateRow, ...]
    baseline_id: str | None = None
    error: str | None = None  # the gates could not be evaluated (e.g. no baseline): a failure

    @property
    def verdict(self) -> Verdict:
        """``fail`` if any gate failed or could not be evaluated, else ``inconclusive`` if any
        was, else ``pass``."""
        verdicts = {row.verdict for row in self.rows}
        if self.error is not None or "fail" in verdicts:
            return "fail"
        return "inconclusive" if "inconclusive" in verdicts else "pass"

    @property
    def failed(self) -> bool:
        """True when the gate should fail the session (what the exit status reads)."""
        return self.verdict == "fail"

    def to_record(self) -> GateRecord:
        """The report as run metadata stores it."""
        return GateRecord(
            verdict=self.verdict,
            baseline=self.baseline_id,
            error=self.error,
            rows=[row.to_record() for row in self.rows],
        )

    def to_json(self) -> dict[str, Any]:
        """JSON-ready, camelCase like the stored files."""
        return self.to_record().model_dump(mode="json", by_alias=True)


# -- what a run holds, per test ----------------------------------------------------------------


def logical_test(record: TestRecord) -> str:
    """The test a record belongs to: its node id without the repeat."""
    return split_repeat(record.nodeid)[0]


def metric_values(tests: Iterable[TestRecord], metric: str) -> dict[str, list[float]]:
    """Per test, the values of ``metric`` over its repeats (tests without it are left out)."""
    values: dict[str, list[float]] = {}
    for record in tests:
        score = record.scores.get(metric)
        if score is not None and score.value is not None:  # a label-only score has no number
            values.setdefault(logical_test(record), []).append(score.value)
    return values


def outcome_values(tests: Iterable[TestRecord]) -> dict[str, list[bool]]:
    """Per test, whether each repeat passed (outcomes that do not fail a session); skipped ones
    are left out."""
    outcomes: dict[str, list[bool]] = {}
    for record in tests:
        if record.outcome not in NOT_COUNTED:
            outcomes.setdefault(logical_test(record), []).append(record.outcome in OK_OUTCOMES)
    return outcomes


def metrics_of(tests: Iterable[TestRecord]) -> set[str]:
    """Every metric any test recorded."""
    return {name for record in tests for name in record.scores}


def greater_is_better(metric: str, *runs: Iterable[TestRecord]) -> bool:
    """The metric's direction as its scores record it (the first that says, in node id order);
    ``True`` when none does."""
    for tests in runs:
        for record in sorted(tests, key=lambda r: r.nodeid):
            score = record.scores.get(metric)
            if score is not None and score.greater_is_better is not None:
                return score.greater_is_better
    return True


def run_mean(tests: Iterable[TestRecord], metric: str) -> float | None:
    """The mean of ``metric`` over tests, each test's repeats averaged first (``None``: no test
    recorded a value).

    The one definition of a run's metric mean for ``min-score``, the release gate's
    ``--agentv-quality-metric``, trends and the dashboard (docs/gates.md, *Pass rate and mean*).
    """
    means = per_test_means(metric_values(tests, metric))
    return mean([means[key] for key in sorted(means)]) if means else None


def pass_rate(tests: Iterable[TestRecord]) -> float | None:
    """The share of passing tests, each test weighted once (``None``: no test was counted).

    The one definition of a run's pass rate, read by ``min-pass-rate``, the baseline gates, the
    release gate's quality score, trends and the dashboard (docs/gates.md, *Pass rate and
    mean*): a test is the unit, not a repeat; a repeat passes when it ended ``passed``,
    ``xfailed`` or ``xpassed`` (it did not fail the session), fails when it ended ``failed`` or
    ``error``; ``skipped`` repeats are left out; a test counts as the share of its counted
    repeats that passed; the rate is the mean of that share over the tests with any counted
    repeat.

    Example: ``a`` passes twice, ``b`` passes once and fails once, ``c`` is xfailed, ``d`` is
    skipped: ``(1 + 0.5 + 1) / 3 = 0.8333``.
    """
    rates = per_test_means(
        {key: [1.0 if ok else 0.0 for ok in oks] for key, oks in outcome_values(tests).items()}
    )
    return mean([rates[key] for key in sorted(rates)]) if rates else None


# -- evaluation --------------------------------------------------------------------------------


def _absolute_rows(run: RunMetadata, spec: GateSpec) -> list[GateRow]:
    rows = []
    for metric in sorted(spec.min_scores):
        value, limit = run_mean(run.tests, metric), spec.min_scores[metric]
        better = greater_is_better(metric, run.tests)
        counted = len(metric_values(run.tests, metric))
        if value is None:
            rows.append(
                GateRow(
                    "min-score",
                    metric,
                    "fail",
                    limit,
                    None,
                    greater_is_better=better,
                    note="no test recorded this metric",
                )
            )
            continue
        reached = value >= limit if better else value <= limit
        rows.append(
            GateRow(
                "min-score",
                metric,
                "pass" if reached else "fail",
                limit,
                value,
                tests=counted,
                greater_is_better=better,
            )
        )
    if spec.min_pass_rate is not None:
        rate, limit = pass_rate(run.tests), spec.min_pass_rate
        counted = len(outcome_values(run.tests))
        if rate is None:
            rows.append(
                GateRow(
                    "min-pass-rate", PASS_RATE, "fail", limit, None, note="no test passed or failed"
                )
            )
        else:
            rows.append(
                GateRow(
                    "min-pass-rate",
                    PASS_RATE,
                    "pass" if rate >= limit else "fail",
                    limit,
                    rate,
                    tests=counted,
                )
            )
    return rows


def judge_difference(
    difference: Estimate, delta: float, greater_is_better: bool = True
) -> tuple[Verdict, str]:
    """The verdict on an estimated difference ``this run - baseline`` for a gate allowing a loss
    of ``delta``, and why.

    Oriented so that positive means better, the interval ``[low, high]`` fails the gate when
    ``high < -delta``, passes it when ``low >= -delta``, and is inconclusive in between.
    """
    if difference.low is None or difference.high is None:
        return "inconclusive", (
            f"{difference.n} test{'s' if difference.n != 1 else ''} in "
            "common: too few to estimate a difference"
        )
    low, high = difference.low, difference.high
    if not greater_is_better:
        low, high = -high, -low
    if high < -delta:
        return "fail", ""
    if low >= -delta:
        return "pass", ""
    detectable = difference.detectable or 0.0
    return "inconclusive", f"these tests can detect a difference of {detectable:.3g} or more"


def _baseline_row(
    gate: GateKind,
    metric: str,
    delta: float,
    run: RunMetadata,
    baseline: RunMetadata,
    spec: GateSpec,
) -> GateRow:
    proportions = None
    if metric == PASS_RATE:
        proportions = compare_proportions(
            outcome_values(baseline.tests),
            outcome_values(run.tests),
            spec.cluster_by,
            spec.confidence,
        )
        comparison = None if proportions is None else proportions.comparison
        better = True
    else:
        comparison = compare_paired(
            metric_values(baseline.tests, metric),
            metric_values(run.tests, metric),
            spec.cluster_by,
            spec.confidence,
        )
        better = greater_is_better(metric, run.tests, baseline.tests)
    if comparison is None:
        return GateRow(
            gate,
            metric,
            "fail",
            delta,
            None,
            greater_is_better=better,
            note="no test has it in both runs",
        )
    if spec.method == "per-test":
        verdict, note = _per_test_verdict(metric, delta, run, baseline)
    else:
        verdict, note = judge_difference(comparison.difference, delta, better)
    if proportions is not None:
        changed = (
            f"{proportions.newly_failing} newly failing, {proportions.newly_passing} newly passing"
        )
        note = f"{changed}; {note}" if note else changed
    return GateRow(
        gate,
        metric,
        verdict,
        delta,
        comparison.after_mean,
        comparison.before_mean,
        comparison.difference,
        comparison.difference.n,
        better,
        note,
    )


def _per_test_verdict(
    metric: str, delta: float, run: RunMetadata, baseline: RunMetadata
) -> tuple[Verdict, str]:
    """``agentv-results diff``'s rules with DELTA as its tolerance: the gate fails when any test
    regressed in this metric (for the pass rate: went from a passing to a failing outcome)."""
    from pytest_agentv.diff import FAILING_OUTCOMES, diff_runs

    changes = diff_runs(baseline, run, tolerance=delta).tests
    if metric == PASS_RATE:
        worse = [
            t.nodeid for t in changes if t.before in OK_OUTCOMES and t.after in FAILING_OUTCOMES
        ]
    else:
        worse = [
            t.nodeid
            for t in changes
            if any(s.metric == metric and s.status == "regressed" for s in t.scores)
        ]
    if not worse:
        return "pass", ""
    shown = ", ".join(worse[:3]) + (f" and {len(worse) - 3} more" if len(worse) > 3 else "")
    return "fail", f"{len(worse)} test{'s' if len(worse) != 1 else ''} regressed: {shown}"


def evaluate_gates(
    run: RunMetadata,
    spec: GateSpec,
    baseline: RunMetadata | None = None,
    baseline_error: str | None = None,
) -> GateReport:
    """Apply ``spec`` to ``run`` (and to ``baseline`` for the baseline gates).

    When the spec needs a baseline and there is none, the report carries ``baseline_error``
    (or a default message) and fails: a missing baseline is never a silent pass.
    """
    rows = _absolute_rows(run, spec)
    if not spec.needs_baseline:
        return GateReport(tuple(rows))
    if baseline is None:
        return GateReport(tuple(rows), error=baseline_error or "no baseline run to compare with")
    targets: dict[str, tuple[GateKind, float]] = {}
    if spec.fail_on_regression:
        shared = metrics_of(run.tests) & metrics_of(baseline.tests)
        for metric in sorted(shared | {PASS_RATE}):
            targets[metric] = ("fail-on-regression", 0.0)
    for metric in sorted(spec.max_regression):
        targets[metric] = ("max-regression", spec.max_regression[metric])
    for metric in sorted(targets):
        gate, delta = targets[metric]
        rows.append(_baseline_row(gate, metric, delta, run, baseline, spec))
    return GateReport(tuple(rows), baseline_id=baseline.run_id)


# -- the statistics of a diff ------------------------------------------------------------------


def compare_runs(
    base: RunMetadata, new: RunMetadata, cluster_by: ClusterBy = "module"
) -> GateReport:
    """Every metric both runs have, and the pass rate, compared statistically (``diff --stats``):
    the rows of ``--agentv-fail-on-regression`` against ``base``."""
    return evaluate_gates(new, GateSpec(fail_on_regression=True, cluster_by=cluster_by), base)

"""Trends and flaky tests over a run history (pure: points in, trends out).

A run is first reduced to :class:`RunPoints`: per test, each metric's mean over its repeats and
how many repeats passed. That small, JSON-ready form is what a history cache keeps, so ``trend``
and ``flaky`` over many runs never re-read whole runs.

* A **trend** fits a least-squares line through a series of values against the run's position
  in the history (0 for the oldest), one series per metric for the run-level mean (each test's
  value counted once) and one per test. A series is **degrading** when the slope's whole 95 %
  interval lies on the worse side of zero.
* A test's **pass rate** counts every repeat in every run, with a Wilson interval; its **flip
  rate** is the share of consecutive runs whose outcome differs (``P`` every repeat passed, ``F``
  none did, ``M`` mixed). Tests that flip are listed first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from pytest_agentv.stats import (
    DEFAULT_CONFIDENCE,
    Slope,
    least_squares_slope,
    mean,
    per_test_means,
    wilson_interval,
)

if TYPE_CHECKING:
    from pytest_agentv.models import RunMetadata


@dataclass(frozen=True)
class TestPoint:
    """One test in one run: metric means over its repeats, and its passing repeats."""

    __test__ = False  # not a pytest test class

    scores: Mapping[str, float] = field(default_factory=dict)
    passed: int = 0
    counted: int = 0  # repeats that passed or failed (skipped ones are not counted)

    @property
    def symbol(self) -> str | None:
        """``P`` every counted repeat passed, ``F`` none did, ``M`` mixed; ``None`` not counted."""
        if self.counted == 0:
            return None
        if self.passed == self.counted:
            return "P"
        return "F" if self.passed == 0 else "M"


@dataclass(frozen=True)
class RunPoints:
    """What trends and flakiness need of one run."""

    run_id: str
    timestamp: str
    tests: Mapping[str, TestPoint]
    directions: Mapping[str, bool] = field(default_factory=dict)  # metric -> greater_is_better
    model: str | None = None
    run_group: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The cache form (sorted, so equal points give equal bytes)."""
        return {
            "runId": self.run_id,
            "timestamp": self.timestamp,
            "model": self.model,
            "runGroup": self.run_group,
            "directions": dict(sorted(self.directions.items())),
            "tests": {
                key: {
                    "scores": dict(sorted(p.scores.items())),
                    "passed": p.passed,
                    "counted": p.counted,
                }
                for key, p in sorted(self.tests.items())
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunPoints:
        """The inverse of :meth:`to_json`."""
        return cls(
            run_id=str(data["runId"]),
            timestamp=str(data["timestamp"]),
            model=data.get("model"),
            run_group=data.get("runGroup"),
            directions={str(k): bool(v) for k, v in data.get("directions", {}).items()},
            tests={
                str(key): TestPoint(
                    scores={str(m): float(v) for m, v in point["scores"].items()},
                    passed=int(point["passed"]),
                    counted=int(point["counted"]),
                )
                for key, point in data["tests"].items()
            },
        )


def run_points(run: RunMetadata) -> RunPoints:
    """Reduce a run to its points (repeats averaged, outcomes tallied)."""
    # gates loads pydantic; a warm history never needs it, so only this function imports it
    from pytest_agentv.gates import (
        greater_is_better,
        logical_test,
        metric_values,
        outcome_values,
    )

    metrics = sorted({name for record in run.tests for name in record.scores})
    means = {metric: per_test_means(metric_values(run.tests, metric)) for metric in metrics}
    outcomes = outcome_values(run.tests)
    keys = sorted({logical_test(record) for record in run.tests})
    tests = {
        key: TestPoint(
            scores={m: means[m][key] for m in metrics if key in means[m]},
            passed=sum(outcomes.get(key, [])),
            counted=len(outcomes.get(key, [])),
        )
        for key in keys
    }
    directions = {metric: greater_is_better(metric, run.tests) for metric in metrics}
    return RunPoints(run.run_id, run.timestamp, tests, directions, run.model, run.run_group)


def merge_groups(history: Sequence[RunPoints]) -> list[RunPoints]:
    """The history with the parts of each run group taken as one run (at its first part's
    place): a test in several parts has its repeats' tallies summed and its means averaged."""
    merged: list[RunPoints] = []
    where: dict[str, int] = {}
    for run in history:
        if run.run_group is None:
            merged.append(run)
            continue
        if run.run_group not in where:
            where[run.run_group] = len(merged)
            merged.append(run)
            continue
        index = where[run.run_group]
        first = merged[index]
        tests = dict(first.tests)
        for key in sorted(run.tests):
            point = run.tests[key]
            old = tests.get(key)
            if old is None:
                tests[key] = point
                continue
            # weighted by repeats, so three parts average like one run of all their repeats
            w_old, w_new = max(old.counted, 1), max(point.counted, 1)
            scores = {
                m: (old.scores[m] * w_old + v * w_new) / (w_old + w_new) if m in old.scores else v
                for m, v in point.scores.items()
            }
            tests[key] = TestPoint(
                {**old.scores, **scores}, old.passed + point.passed, old.counted + point.counted
            )
        merged[index] = RunPoints(
            f"group:{run.run_group}",
            first.timestamp,
            tests,
            {**first.directions, **run.directions},
            first.model,
            run.run_group,
        )
    return merged


# -- trends ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trend:
    """One metric's series (of the run-level mean, or of one test) and its fitted slope."""

    metric: str
    nodeid: str | None  # None: the run-level mean
    points: tuple[tuple[int, str, float], ...]  # (position in the history, run id, value)
    slope: Slope | None  # None with fewer than two points
    greater_is_better: bool = True

    @property
    def degrading(self) -> bool:
        """True when the slope's whole interval lies on the worse side of zero."""
        if self.slope is None or self.slope.low is None or self.slope.high is None:
            return False
        return self.slope.high < 0 if self.greater_is_better else self.slope.low > 0

    def to_json(self) -> dict[str, Any]:
        """JSON-ready, camelCase like the stored files."""
        slope = self.slope
        return {
            "metric": self.metric,
            "test": self.nodeid,
            "greaterIsBetter": self.greater_is_better,
            "values": [{"position": x, "run": run, "value": y} for x, run, y in self.points],
            "slope": None if slope is None else slope.slope,
            "low": None if slope is None else slope.low,
            "high": None if slope is None else slope.high,
            "degrading": self.degrading,
        }


def _trend(
    metric: str,
    nodeid: str | None,
    points: list[tuple[int, str, float]],
    better: bool,
    confidence: float,
) -> Trend:
    slope = None
    if len({x for x, _, _ in points}) >= 2:
        slope = least_squares_slope([(float(x), y) for x, _, y in points], confidence)
    return Trend(metric, nodeid, tuple(points), slope, better)


def _direction(history: Sequence[RunPoints], metric: str) -> bool:
    for run in reversed(history):
        if metric in run.directions:
            return run.directions[metric]
    return True


def metric_trends(
    history: Sequence[RunPoints],
    metric: str | None = None,
    nodeid: str | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
) -> list[Trend]:
    """Per metric (all, or ``metric``): the run-level trend, then each test's (all, or
    ``nodeid``'s), in metric then node id order. ``history`` is oldest first."""
    names = sorted({m for run in history for p in run.tests.values() for m in p.scores})
    if metric is not None:
        names = [m for m in names if m == metric]
    trends = []
    for name in names:
        better = _direction(history, name)
        if nodeid is None:
            overall = []
            for x, run in enumerate(history):
                values = [
                    run.tests[k].scores[name]
                    for k in sorted(run.tests)
                    if name in run.tests[k].scores
                ]
                if values:
                    overall.append((x, run.run_id, mean(values)))
            trends.append(_trend(name, None, overall, better, confidence))
        per_test: dict[str, list[tuple[int, str, float]]] = {}
        for x, run in enumerate(history):
            for key in sorted(run.tests):
                if (nodeid is None or key == nodeid) and name in run.tests[key].scores:
                    per_test.setdefault(key, []).append(
                        (x, run.run_id, run.tests[key].scores[name])
                    )
        trends += [_trend(name, key, per_test[key], better, confidence) for key in sorted(per_test)]
    return trends


# -- flaky tests -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flakiness:
    """One test's outcomes across runs."""

    nodeid: str
    runs: int  # runs in which it passed or failed
    passed: int  # passing repeats, over all those runs
    trials: int
    low: float  # Wilson interval of the pass rate
    high: float
    flips: int
    history: str  # one symbol per run, oldest first: P, F or M

    @property
    def pass_rate(self) -> float:
        """Passing repeats over counted repeats."""
        return self.passed / self.trials

    @property
    def flip_rate(self) -> float | None:
        """Flips over consecutive pairs of runs (``None`` with one run)."""
        return self.flips / (self.runs - 1) if self.runs > 1 else None

    @property
    def flaky(self) -> bool:
        """True when it flipped between runs or had both outcomes within one."""
        return self.flips > 0 or "M" in self.history

    def to_json(self) -> dict[str, Any]:
        """JSON-ready, camelCase like the stored files."""
        return {
            "test": self.nodeid,
            "runs": self.runs,
            "passed": self.passed,
            "trials": self.trials,
            "passRate": self.pass_rate,
            "low": self.low,
            "high": self.high,
            "flips": self.flips,
            "flipRate": self.flip_rate,
            "flaky": self.flaky,
            "history": self.history,
        }


def flakiness(
    history: Iterable[RunPoints], confidence: float = DEFAULT_CONFIDENCE
) -> list[Flakiness]:
    """Every test that passed or failed in some run: flaky ones first (highest flip rate, then
    mixed outcomes), then by pass rate, then node id. ``history`` is oldest first."""
    symbols: dict[str, list[str]] = {}
    tallies: dict[str, list[int]] = {}
    for run in history:
        for key in sorted(run.tests):
            point = run.tests[key]
            if point.symbol is None:
                continue
            symbols.setdefault(key, []).append(point.symbol)
            tally = tallies.setdefault(key, [0, 0])
            tally[0] += point.passed
            tally[1] += point.counted
    result = []
    for key in sorted(symbols):
        seen = symbols[key]
        passed, trials = tallies[key]
        low, high = wilson_interval(passed, trials, confidence)
        flips = sum(1 for a, b in pairwise(seen) if a != b)
        result.append(Flakiness(key, len(seen), passed, trials, low, high, flips, "".join(seen)))
    return sorted(
        result,
        key=lambda f: (not f.flaky, -(f.flip_rate or 0.0), f.pass_rate, f.nodeid),
    )


# -- rendering ---------------------------------------------------------------------------------


def _num(value: float | None, spec: str = ".4g") -> str:
    return "-" if value is None else format(value, spec)


def _columns(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(line[i]) for line in [header, *rows]) for i in range(len(header))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in [header, *rows]
    ]


def render_trends(trends: Sequence[Trend], runs: int) -> str:
    """The ``trend`` report: one line per series, degrading ones marked."""
    if not trends:
        return f"no scores in the last {runs} run(s)\n"
    rows = []
    for trend in trends:
        slope = trend.slope
        interval = "-"
        if slope is not None and slope.low is not None and slope.high is not None:
            interval = f"[{slope.low:+.3g}, {slope.high:+.3g}]"
        values = [y for _, _, y in trend.points]
        rows.append(
            (
                trend.metric,
                trend.nodeid or "(run mean)",
                str(len(values)),
                _num(values[0]) if values else "-",
                _num(values[-1]) if values else "-",
                "-" if slope is None else f"{slope.slope:+.3g}",
                interval,
                "DEGRADING" if trend.degrading else "",
            )
        )
    header = ("METRIC", "TEST", "RUNS", "FIRST", "LAST", "SLOPE/RUN", "95% INTERVAL", "")
    degrading = sum(1 for t in trends if t.degrading)
    lines = _columns(header, rows)
    lines.append(f"{degrading} degrading series over the last {runs} run(s)")
    return "\n".join(lines) + "\n"


def render_flakiness(tests: Sequence[Flakiness], runs: int) -> str:
    """The ``flaky`` report: flaky tests first."""
    if not tests:
        return f"no test passed or failed in the last {runs} run(s)\n"
    rows = [
        (
            f.nodeid,
            f"{f.passed}/{f.trials}",
            f"{f.pass_rate:.2f} [{f.low:.2f}, {f.high:.2f}]",
            "-" if f.flip_rate is None else f"{f.flip_rate:.2f}",
            f.history,
            "FLAKY" if f.flaky else "",
        )
        for f in tests
    ]
    header = ("TEST", "PASSED", "PASS RATE [95%]", "FLIP RATE", "HISTORY", "")
    flaky = sum(1 for f in tests if f.flaky)
    lines = _columns(header, rows)
    lines.append(f"{flaky} flaky test(s) of {len(tests)} over the last {runs} run(s)")
    return "\n".join(lines) + "\n"


def repeat_lines(run: RunMetadata, most: int = 5) -> list[str]:
    """For a run with repeats: per test, its pass rate over its repeats and each metric's spread,
    for the tests whose repeats disagree (mixed outcomes first, then the widest spread)."""
    from pytest_agentv.gates import logical_test, metric_values, outcome_values

    counts: dict[str, int] = {}
    for record in run.tests:
        key = logical_test(record)
        counts[key] = counts.get(key, 0) + 1
    repeated = sorted(key for key, count in counts.items() if count > 1)
    if not repeated:
        return []
    outcomes = outcome_values(run.tests)
    metrics = sorted({name for record in run.tests for name in record.scores})
    values = {metric: metric_values(run.tests, metric) for metric in metrics}
    rows = []
    for key in repeated:
        oks = outcomes.get(key, [])
        mixed = 0 < sum(oks) < len(oks)
        spreads = {
            m: (min(values[m][key]), max(values[m][key])) for m in metrics if key in values[m]
        }
        widest = max((high - low for low, high in spreads.values()), default=0.0)
        if not mixed and widest == 0:
            continue
        cells = [f"passed {sum(oks)}/{len(oks)}"] + [
            f"{m} {low:.3g}..{high:.3g}" for m, (low, high) in spreads.items() if high > low
        ]
        rows.append((not mixed, -widest, key, f"  {key}: {', '.join(cells)}"))
    rows.sort()
    lines = [
        f"agentv: repeats: {len(repeated)} repeated tests, {len(rows)} with repeats that disagree"
    ]
    lines += [row[-1] for row in rows[:most]]
    if len(rows) > most:
        lines.append(f"  ... and {len(rows) - most} more (agentv-results flaky)")
    return lines

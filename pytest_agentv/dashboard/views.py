"""The dashboard's data, one pure function per view: records and stored models in, plain data out.

Nothing here reads a store or writes markup; :mod:`.build` feeds these functions and
:mod:`.html` renders what they return. Compare reuses :func:`pytest_agentv.diff.diff_runs`, so a
regression on the site is exactly a regression for ``agentv-results diff``.
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from pytest_agentv.dashboard.records import Mark, RunRecord
from pytest_agentv.diff import RunDiff, diff_runs
from pytest_agentv.models import GateRecord, RunMetadata, TranscriptEvent
from pytest_agentv.redact_rules import MARKER_PREFIX
from pytest_agentv.trends import Flakiness, RunPoints, flakiness

PASS_RATE = "pass rate"  # the trend every run has, drawn before the recorded metrics
LINK_FIELDS = ("repo", "commit", "branch")
TOOL_ROLES = frozenset({"tool", "function", "tool_call", "tool_result"})


# --- runs table and filters -----------------------------------------------------------------------


@dataclass(frozen=True)
class Facets:
    """The values each filter of the runs table offers."""

    models: tuple[str, ...]
    evals: tuple[str, ...]
    branches: tuple[str, ...]
    tags: tuple[str, ...]


def facets(records: Iterable[RunRecord]) -> Facets:
    """Every model, eval, source branch and tag that occurs, sorted."""
    models: set[str] = set()
    evals: set[str] = set()
    branches: set[str] = set()
    tags: set[str] = set()
    for r in records:
        models.add(r.model or "-")
        evals.add(r.eval_file or "-")
        branches.add(r.source_branch or "-")
        tags.update(r.tags)
    return Facets(*(tuple(sorted(values)) for values in (models, evals, branches, tags)))


def newest(records: Sequence[RunRecord], limit: int) -> list[RunRecord]:
    """The ``limit`` newest runs, newest first: what the runs table shows without JavaScript."""
    return sorted(records, key=lambda r: r.seq, reverse=True)[:limit]


def chunks(records: Sequence[RunRecord], size: int) -> list[list[RunRecord]]:
    """Records cut oldest first into pages of ``size``: appending a run changes only the last."""
    ordered = sorted(records, key=lambda r: r.seq)
    return [ordered[i : i + size] for i in range(0, len(ordered), size)] or [[]]


# --- trends ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendPoint:
    """One run's value of one metric."""

    run_id: str
    seq: int
    timestamp: str
    value: float
    eval_file: str | None
    branch: str | None
    tags: tuple[str, ...]
    marks: tuple[Mark, ...] = ()


@dataclass(frozen=True)
class Series:
    """One model's line in a trend chart, oldest point first."""

    model: str
    points: tuple[TrendPoint, ...]
    dropped: int = 0  # older points left out of the chart to keep the page light


@dataclass(frozen=True)
class Trend:
    """One metric over time: one series per model."""

    metric: str
    series: tuple[Series, ...]

    @property
    def point_count(self) -> int:
        """Points drawn, over every series."""
        return sum(len(s.points) for s in self.series)


def metric_trends(records: Iterable[RunRecord], max_points: int = 200) -> list[Trend]:
    """Pass rate and every recorded metric over time, one series per model.

    Each series keeps its newest ``max_points`` runs (10 000 points would make an unreadable
    chart and a heavy page); how many were left out is kept in ``Series.dropped``.
    """
    values: dict[str, dict[str, list[TrendPoint]]] = {}
    for r in sorted(records, key=lambda r: r.seq):
        metrics: list[tuple[str, float | None]] = [(PASS_RATE, r.pass_rate)]
        metrics += sorted(r.scores.items())
        for metric, value in metrics:
            if value is None:
                continue
            point = TrendPoint(
                r.run_id, r.seq, r.timestamp, value, r.eval_file, r.source_branch, r.tags, r.marks
            )
            values.setdefault(metric, {}).setdefault(r.model or "-", []).append(point)
    order = [PASS_RATE] if PASS_RATE in values else []
    order += sorted(m for m in values if m != PASS_RATE)
    return [
        Trend(
            metric,
            tuple(
                Series(model, tuple(points[-max_points:]), max(0, len(points) - max_points))
                for model, points in sorted(values[metric].items())
            ),
        )
        for metric in order
    ]


def pass_rate_text(rate: float | None, interval: tuple[float, float] | None) -> str:
    """``83% (95% interval 44-97%)``: the gates' pass rate with its Wilson interval."""
    if rate is None:
        return "-"
    if interval is None:
        return f"{rate * 100:.0f}%"
    return f"{rate * 100:.0f}% (95% interval {interval[0] * 100:.0f}-{interval[1] * 100:.0f}%)"


# --- run detail -----------------------------------------------------------------------------------


def check_link_template(template: str) -> str:
    """Return ``template`` if its only placeholders are ``{repo}``, ``{commit}``, ``{branch}``."""
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        raise ValueError(f"link template {template!r} is not a format string ({exc})") from None
    unknown = [name for name in names if name not in LINK_FIELDS]
    if unknown:
        raise ValueError(
            f"link template {template!r} uses {{{unknown[0]}}}; the placeholders are "
            + ", ".join(f"{{{n}}}" for n in LINK_FIELDS)
            + " (e.g. https://github.com/{repo}/commit/{commit})"
        )
    return template


def source_link(
    template: str | None, *, repo: str | None, commit: str | None, branch: str | None
) -> str | None:
    """The source-commit URL the template gives, or None when a value it needs is unknown."""
    if not template or not commit:
        return None
    fields = {"repo": repo, "commit": commit, "branch": branch}
    needed = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    if any(fields.get(name) is None for name in needed):
        return None
    return template.format_map(fields)


@dataclass(frozen=True)
class ScoreCell:
    """One score of one test, with its threshold verdict: a number, a label, or both."""

    metric: str
    value: float | None  # None: a categorical score, a label only
    threshold: float | None
    failed: bool
    reason: str | None
    label: str | None = None


@dataclass(frozen=True)
class TestRow:
    """One test of the run page."""

    __test__ = False  # not a pytest test class

    nodeid: str
    outcome: str
    duration: float
    scores: tuple[ScoreCell, ...]
    usage: tuple[int, int, float]  # input tokens, output tokens, cost in USD
    failure: str | None
    reason: str | None
    messages: int
    case_id: str | None = None  # the case's identity across runs, when the test gave one


@dataclass(frozen=True)
class RunDetail:
    """Everything the run page shows."""

    record: RunRecord
    fields: tuple[tuple[str, str], ...]  # label, value: the header of the page
    source_url: str | None
    tests: tuple[TestRow, ...]
    metrics: tuple[tuple[str, float, float, float, int], ...]  # name, mean, min, max, count
    usage: tuple[int, int, float]
    metadata: tuple[tuple[str, str], ...]  # user metadata, JSON-encoded values
    args: tuple[str, ...]
    gate: GateRecord | None = None  # the gates as the run's session evaluated them
    #: per categorical metric, how many tests gave each label (``metadata.labels``), sorted
    labels: tuple[tuple[str, tuple[tuple[str, int], ...]], ...] = ()


def _failed(value: float | None, threshold: float | None, passed: bool | None) -> bool:
    # the rule the diff applies: an explicit verdict wins, else the threshold decides
    if passed is not None:
        return not passed
    return threshold is not None and value is not None and value < threshold


def run_detail(
    metadata: RunMetadata,
    record: RunRecord,
    *,
    link_template: str | None = None,
    messages: Mapping[str, int] | None = None,
) -> RunDetail:
    """The run page's data: header fields, per-test rows, metrics, usage, provenance."""
    counts = metadata.counts
    source_url = source_link(
        link_template,
        repo=metadata.source_repo,
        commit=metadata.source_commit,
        branch=metadata.source_branch,
    )
    provenance = " ".join(
        part
        for part in (
            metadata.source_repo,
            (metadata.source_commit or "")[:12] or None,
            f"({metadata.source_branch})" if metadata.source_branch else None,
            "dirty" if metadata.source_dirty else None,
        )
        if part
    )
    fields = (
        ("run", metadata.run_id),
        ("started", metadata.started_at),
        ("duration", f"{metadata.duration_seconds:.1f}s"),
        ("model", metadata.model or "-"),
        ("eval", metadata.eval_file or "-"),
        ("source", provenance or "-"),
        (
            "tests",
            f"{counts.passed} passed, {counts.failed} failed, {counts.errors} errors, "
            f"{counts.skipped} skipped (of {counts.total})",
        ),
        ("pass rate", pass_rate_text(record.pass_rate, record.pass_interval)),
        ("tags", ", ".join(metadata.tags) or "-"),
        (
            "versions",
            f"pytest-agentv {metadata.versions.agentv}, pytest {metadata.versions.pytest}"
            f", Python {metadata.versions.python}, {metadata.versions.platform}",
        ),
    )
    tests = tuple(
        TestRow(
            nodeid=t.nodeid,
            outcome=t.outcome,
            duration=t.duration,
            scores=tuple(
                ScoreCell(
                    n,
                    s.value,
                    s.threshold,
                    _failed(s.value, s.threshold, s.passed),
                    s.reason,
                    s.label,
                )
                for n, s in sorted(t.scores.items())
            ),
            usage=(t.usage.input_tokens, t.usage.output_tokens, t.usage.cost_usd),
            failure=t.failure,
            reason=t.reason,
            messages=(messages or {}).get(t.nodeid, 0),
            case_id=t.case_id,
        )
        for t in metadata.tests
    )
    return RunDetail(
        record=record,
        fields=fields,
        source_url=source_url,
        tests=tests,
        metrics=tuple(
            (n, a.mean, a.min, a.max, a.count) for n, a in sorted(metadata.scores.items())
        ),
        usage=(metadata.usage.input_tokens, metadata.usage.output_tokens, metadata.usage.cost_usd),
        metadata=tuple(
            (k, json.dumps(v, ensure_ascii=False, sort_keys=True))
            for k, v in sorted(metadata.metadata.items())
        ),
        args=tuple(metadata.args),
        gate=metadata.gate,
        labels=tuple(
            (metric, tuple(sorted(tally.items())))
            for metric, tally in sorted((metadata.labels or {}).items())
        ),
    )


# --- transcript -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """One transcript message as the viewer shows it."""

    seq: int
    role: str
    text: str  # content as text (structured content pretty-printed as JSON)
    structured: bool
    tool: bool  # a tool call or result: shown collapsed
    extra: tuple[tuple[str, str], ...]  # fields given to agentv.message besides the content
    redactions: int  # how many redaction markers the message shows

    @property
    def collapsed(self) -> bool:
        """Tool traffic and long messages start folded."""
        return self.tool or self.text.count("\n") > 20


@dataclass(frozen=True)
class TranscriptGroup:
    """The messages of one test, in order."""

    test: str
    messages: tuple[Message, ...]


_EVENT_FIELDS = frozenset({"test", "seq", "role", "content", "timestamp"})


def _message(event: TranscriptEvent) -> Message:
    content = event.content
    structured = not isinstance(content, str)
    text = json.dumps(content, indent=2, ensure_ascii=False) if structured else content
    extra = tuple(
        sorted(
            (k, v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, sort_keys=True))
            for k, v in (event.model_extra or {}).items()
            if k not in _EVENT_FIELDS
        )
    )
    tool = (
        event.role.lower() in TOOL_ROLES
        or any(k in ("tool_calls", "tool_call", "tool", "tool_call_id") for k, _ in extra)
        or (isinstance(content, dict) and ("tool_calls" in content or "tool_call_id" in content))
    )
    shown = text + "".join(v for _, v in extra)
    return Message(event.seq, event.role, text, structured, tool, extra, shown.count(MARKER_PREFIX))


def transcript_view(events: Iterable[TranscriptEvent]) -> list[TranscriptGroup]:
    """Messages grouped by test, tests in the order they first spoke."""
    groups: dict[str, list[Message]] = {}
    for event in sorted(events, key=lambda e: e.seq):
        groups.setdefault(event.test, []).append(_message(event))
    return [TranscriptGroup(test, tuple(messages)) for test, messages in groups.items()]


def message_counts(events: Iterable[TranscriptEvent]) -> dict[str, int]:
    """How many messages each test recorded."""
    counts: dict[str, int] = {}
    for event in events:
        counts[event.test] = counts.get(event.test, 0) + 1
    return counts


# --- compare --------------------------------------------------------------------------------------


def compare_runs(before: RunMetadata, after: RunMetadata, tolerance: float = 0.0) -> RunDiff:
    """The compare page's data: exactly what ``agentv-results diff`` computes."""
    return diff_runs(before, after, tolerance)


# --- per-test history -----------------------------------------------------------------------------


SYMBOL_OUTCOMES = {"P": "passed", "F": "failed", "M": "mixed"}


@dataclass(frozen=True)
class TestHistory:
    """One test of one model and eval over the newest runs: ``agentv-results flaky``'s figures."""

    __test__ = False  # not a pytest test class

    model: str
    eval_file: str
    flakiness: Flakiness
    runs: tuple[str, ...]  # the run of each symbol of ``flakiness.history``, oldest first

    @property
    def nodeid(self) -> str:
        return self.flakiness.nodeid

    @property
    def outcomes(self) -> tuple[tuple[str, str], ...]:
        """(run id, outcome) oldest first; ``mixed`` when its repeats disagreed."""
        return tuple(
            (run, SYMBOL_OUTCOMES[symbol])
            for run, symbol in zip(self.runs, self.flakiness.history, strict=True)
        )


def histories_of(
    window: Sequence[tuple[RunRecord, RunPoints]], max_points: int = 30
) -> list[TestHistory]:
    """Per test and series, :func:`pytest_agentv.trends.flakiness` over the newest
    ``max_points`` runs of the series; flaky tests first.

    ``window`` is the newest runs with their points, in any order.
    """
    by_series: dict[tuple[str, str], list[RunPoints]] = {}
    for record, points in sorted(window, key=lambda pair: pair[0].seq):
        by_series.setdefault(record.series, []).append(points)
    histories = []
    for (model, eval_file), runs in by_series.items():
        runs = runs[-max_points:]
        for found in flakiness(runs):
            seen = tuple(
                r.run_id
                for r in runs
                if found.nodeid in r.tests and r.tests[found.nodeid].symbol is not None
            )
            histories.append(TestHistory(model, eval_file, found, seen))
    histories.sort(
        key=lambda h: (
            not h.flakiness.flaky,
            -(h.flakiness.flip_rate or 0.0),
            h.flakiness.pass_rate,
            h.nodeid,
            h.model,
        )
    )
    return histories

"""What the dashboard knows of one run, as plain frozen data (pure: stored models in, records out).

A :class:`RunRecord` is built from a run's ``metadata.json`` once, so the overview of 10 000 runs
never reads a transcript; per-test history keeps :class:`pytest_agentv.trends.RunPoints`, the
slice ``agentv-results flaky`` reads. Both round-trip through JSON (:func:`record_to_json` /
:func:`record_from_json`, ``RunPoints.to_json``), which is how the incremental build caches them.
Pass rates are the gates' (:func:`pytest_agentv.gates.pass_rate`), with a Wilson interval.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pytest_agentv.gates import outcome_values
from pytest_agentv.gates import pass_rate as gate_pass_rate
from pytest_agentv.models import RunMetadata
from pytest_agentv.stats import wilson_interval


@dataclass(frozen=True)
class Mark:
    """A verdict attached to a run (a gate's result, a release decision): shown in the runs
    table, on trend points and on the run page. ``ok`` None means "informational"."""

    kind: str
    label: str
    ok: bool | None = None


@dataclass(frozen=True)
class RunRecord:
    """One run as the overview pages see it."""

    run_id: str
    seq: int  # position on the branch, oldest first: stable when runs are appended
    timestamp: str
    model: str | None
    eval_file: str | None
    source_branch: str | None
    source_commit: str | None
    source_repo: str | None
    tags: tuple[str, ...]
    total: int
    passed: int
    failed: int
    skipped: int
    errors: int
    scores: Mapping[str, float]  # metric -> run mean
    duration: float
    pending: bool = False
    prev: str | None = None  # the previous run of the same model and eval (the compare pair)
    marks: tuple[Mark, ...] = field(default=())
    pass_rate: float | None = None  # the gates' pass rate (None: no test passed or failed)
    repeats: tuple[int, int] = (0, 0)  # passing and counted outcomes, for the interval

    @property
    def pass_interval(self) -> tuple[float, float] | None:
        """The 95 % Wilson interval of the pass rate, over every counted outcome."""
        passed, counted = self.repeats
        return wilson_interval(passed, counted) if counted else None

    @property
    def series(self) -> tuple[str, str]:
        """The line a run belongs to in trends and compare: its model and its eval."""
        return (self.model or "-", self.eval_file or "-")


def record_of(
    metadata: RunMetadata,
    *,
    seq: int,
    pending: bool = False,
    marks: Sequence[Mark] = (),
) -> RunRecord:
    """The overview record of a stored run, from its metadata; ``prev`` is filled in by
    :class:`SeriesLinker`. The pass rate is the one ``--agentv-min-pass-rate`` gates: each
    test counted once, its repeats averaged, skipped tests left out."""
    counts = metadata.counts
    outcomes = [ok for oks in outcome_values(metadata.tests).values() for ok in oks]
    return RunRecord(
        run_id=metadata.run_id,
        seq=seq,
        timestamp=metadata.timestamp,
        model=metadata.model,
        eval_file=metadata.eval_file,
        source_branch=metadata.source_branch,
        source_commit=metadata.source_commit,
        source_repo=metadata.source_repo,
        tags=tuple(metadata.tags),
        total=counts.total,
        passed=counts.passed,
        failed=counts.failed,
        skipped=counts.skipped,
        errors=counts.errors,
        scores={name: agg.mean for name, agg in sorted(metadata.scores.items())},
        duration=metadata.duration_seconds,
        pending=pending,
        marks=tuple(marks),
        pass_rate=gate_pass_rate(metadata.tests),
        repeats=(sum(outcomes), len(outcomes)),
    )


class SeriesLinker:
    """Sets each record's ``prev`` to the run before it in its series; feed it oldest first.

    Runs are only ever appended to a branch, so a run's ``prev`` never changes afterwards: its
    page and its compare page stay valid when newer runs arrive.
    """

    def __init__(self) -> None:
        self._last: dict[tuple[str, str], str] = {}

    def link(self, record: RunRecord) -> RunRecord:
        """``record`` with its ``prev``; it becomes the ``prev`` of the next in its series."""
        linked = replace(record, prev=self._last.get(record.series))
        self._last[record.series] = record.run_id
        return linked

    def drop(self, record: RunRecord) -> None:
        """Undo :meth:`link` of ``record`` (a run that could not be shown after all)."""
        if record.prev is None:
            self._last.pop(record.series, None)
        else:
            self._last[record.series] = record.prev


def link_series(records: Iterable[RunRecord]) -> list[RunRecord]:
    """Records oldest first, each linked to the previous run of its series."""
    linker = SeriesLinker()
    return [linker.link(record) for record in sorted(records, key=lambda r: r.seq)]


# --- JSON round trip (the build cache and the site's data files) ---------------------------------


def record_to_json(record: RunRecord) -> dict[str, Any]:
    """A record as JSON-ready data (short keys: 10 000 of these go to the browser)."""
    return {
        "id": record.run_id,
        "seq": record.seq,
        "ts": record.timestamp,
        "model": record.model,
        "eval": record.eval_file,
        "branch": record.source_branch,
        "commit": record.source_commit,
        "repo": record.source_repo,
        "tags": list(record.tags),
        "counts": [record.total, record.passed, record.failed, record.skipped, record.errors],
        "scores": dict(record.scores),
        "duration": record.duration,
        "pending": record.pending,
        "prev": record.prev,
        "marks": [[m.kind, m.label, m.ok] for m in record.marks],
        "rate": [record.pass_rate, *record.repeats],
    }


def record_from_json(data: Mapping[str, Any]) -> RunRecord:
    """The inverse of :func:`record_to_json`."""
    total, passed, failed, skipped, errors = data["counts"]
    return RunRecord(
        run_id=data["id"],
        seq=data["seq"],
        timestamp=data["ts"],
        model=data["model"],
        eval_file=data["eval"],
        source_branch=data["branch"],
        source_commit=data["commit"],
        source_repo=data["repo"],
        tags=tuple(data["tags"]),
        total=total,
        passed=passed,
        failed=failed,
        skipped=skipped,
        errors=errors,
        scores=dict(data["scores"]),
        duration=data["duration"],
        pending=data["pending"],
        prev=data["prev"],
        marks=tuple(Mark(kind, label, ok) for kind, label, ok in data["marks"]),
        pass_rate=data["rate"][0],
        repeats=(data["rate"][1], data["rate"][2]),
    )

"""Build a run's three files from what the session collected (pure: data in, bytes out).

Everything goes through :meth:`Redactor.json` in :func:`build_run`, the one place where bytes are
made, so nothing can reach a store unredacted: values and keys alike, so the summary and the
commit trailers, built from the redacted metadata, hold no secret either.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pytest_agentv.models import (
    Counts,
    GateRecord,
    RunMetadata,
    RunSummary,
    Score,
    ScoreAggregate,
    TestRecord,
    Usage,
    Versions,
)
from pytest_agentv.redact import KeyNames, Redactor
from pytest_agentv.serial import dump_json, iso, sha256
from pytest_agentv.store.base import RunArtifacts
from pytest_agentv.store.paths import METADATA_FILE, SUMMARY_FILE, TRANSCRIPT_FILE
from pytest_agentv.transcript import RawEvent, serialise_events

__all__ = ["Provenance", "RawEvent", "RunInputs", "build_run", "summarise"]


@dataclass(frozen=True)
class Provenance:
    """Where the evals came from: the source repository, read at session start."""

    repo: str | None = None
    commit: str | None = None
    branch: str | None = None
    dirty: bool | None = None


@dataclass(frozen=True)
class RunInputs:
    """Everything a run is built from."""

    run_id: str
    started_at: datetime
    finished_at: datetime
    tests: Sequence[TestRecord]
    transcript: Sequence[RawEvent]
    versions: Versions
    provenance: Provenance = Provenance()
    model: str | None = None
    eval_file: str | None = None
    tags: Sequence[str] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    args: Sequence[str] = ()
    run_group: str | None = None
    gate: GateRecord | None = None  # the verdict of the session's gates, when it has any
    params: dict[str, Any] | None = None
    metrics: dict[str, float] | None = None


def count_outcomes(tests: Iterable[TestRecord]) -> Counts:
    """How many tests ended in each outcome."""
    tally = {"passed": 0, "failed": 0, "skipped": 0, "errors": 0, "xfailed": 0, "xpassed": 0}
    total = 0
    for test in tests:
        total += 1
        tally["errors" if test.outcome == "error" else test.outcome] += 1
    return Counts(total=total, **tally)


def all_scores(test: TestRecord) -> Iterator[tuple[str, Score]]:
    """The test's scores, then each subtest's: every score is one sample of its metric."""
    yield from test.scores.items()
    for subtest in test.subtests or ():
        yield from subtest.scores.items()


def aggregate_labels(tests: Iterable[TestRecord]) -> dict[str, dict[str, int]]:
    """How many times each label of each categorical metric was given."""
    counts: dict[str, dict[str, int]] = {}
    for test in tests:
        for name, score in all_scores(test):
            if score.label is not None:
                by_label = counts.setdefault(name, {})
                by_label[score.label] = by_label.get(score.label, 0) + 1
    return {name: dict(sorted(counts[name].items())) for name in sorted(counts)}


def aggregate_scores(tests: Iterable[TestRecord]) -> dict[str, ScoreAggregate]:
    """Mean/min/max and threshold pass/fail counts of every numeric metric, by name."""
    values: dict[str, list[float]] = {}
    verdicts: dict[str, list[bool]] = {}
    for test in tests:
        for name, score in all_scores(test):
            if score.value is None:
                continue
            values.setdefault(name, []).append(score.value)
            if score.passed is not None:
                verdicts.setdefault(name, []).append(score.passed)
    aggregates = {}
    for name in sorted(values):
        series = values[name]
        passed = verdicts.get(name, [])
        aggregates[name] = ScoreAggregate(
            count=len(series),
            mean=_round(mean(series)),
            min=min(series),
            max=max(series),
            passed=sum(passed),
            failed=len(passed) - sum(passed),
        )
    return aggregates


def mean(series: Sequence[float]) -> float:
    """The mean of finite values, without overflow: ``fsum(x / n)`` stays finite where
    ``fsum(x) / n`` would not (two scores of 1.7e308 have the mean 1.7e308, not inf)."""
    count = len(series)
    return math.fsum(value / count for value in series)


def total_usage(usages: Iterable[Usage]) -> Usage:
    """The sum of per-test usage; a cost total beyond float range is capped at the largest
    float (JSON has no infinity, and each test's own cost is kept exactly)."""
    items = list(usages)
    cost = math.fsum(usage.cost_usd for usage in items)
    return Usage(
        input_tokens=sum(usage.input_tokens for usage in items),
        output_tokens=sum(usage.output_tokens for usage in items),
        cost_usd=round(cost, 10) if math.isfinite(cost) else sys.float_info.max,
    )


def _round(value: float) -> float:
    # keep files stable across platforms' last-bit float noise
    return round(value, 12)


def build_run(
    inputs: RunInputs,
    redactor: Redactor,
    *,
    transcript: bytes | None = None,
    names: KeyNames | None = None,
) -> RunArtifacts:
    """Redact, sequence and serialise a run into its three files.

    ``transcript``: the run's ``transcript.jsonl`` made already, redacted, as the session went
    (:class:`~pytest_agentv.transcript.TranscriptSpool`); ``inputs.transcript`` is then not
    read. ``names``: the run's :class:`KeyNames`, when some of it was redacted already."""
    metadata = RunMetadata(
        run_id=inputs.run_id,
        timestamp=iso(inputs.started_at),
        started_at=iso(inputs.started_at),
        finished_at=iso(inputs.finished_at),
        duration_seconds=round((inputs.finished_at - inputs.started_at).total_seconds(), 6),
        source_repo=inputs.provenance.repo,
        source_commit=inputs.provenance.commit,
        source_branch=inputs.provenance.branch,
        source_dirty=inputs.provenance.dirty,
        eval_file=inputs.eval_file,
        model=inputs.model,
        tags=list(inputs.tags),
        metadata=inputs.metadata,
        args=list(inputs.args),
        run_group=inputs.run_group,
        gate=inputs.gate,
        versions=inputs.versions,
        counts=count_outcomes(inputs.tests),
        scores=aggregate_scores(inputs.tests),
        usage=total_usage(test.usage for test in inputs.tests),
        tests=list(inputs.tests),
        params=inputs.params,
        metrics=inputs.metrics,
        labels=aggregate_labels(inputs.tests) or None,
    )
    # one KeyNames for the run: a key holding a secret gets one name in every file and event
    names = KeyNames() if names is None else names
    metadata_doc = redactor.json(metadata.model_dump(mode="json", by_alias=True), "metadata", names)
    metadata_bytes = dump_json(metadata_doc)

    if transcript is None:
        lines = serialise_events(inputs.transcript, 0, redactor, names)
        transcript = "".join(f"{line}\n" for line in lines).encode("utf-8")
    transcript_bytes = transcript

    summary = summarise(RunMetadata.model_validate(metadata_doc), metadata_bytes, transcript_bytes)
    return RunArtifacts(
        run_id=inputs.run_id,
        files={
            METADATA_FILE: metadata_bytes,
            TRANSCRIPT_FILE: transcript_bytes,
            SUMMARY_FILE: dump_json(summary.model_dump(mode="json", by_alias=True)),
        },
        summary=summary,
    )


def summarise(metadata: RunMetadata, metadata_bytes: bytes, transcript_bytes: bytes) -> RunSummary:
    """The list-view summary of a run, with checksums of the other two files."""
    return RunSummary(
        run_id=metadata.run_id,
        timestamp=metadata.timestamp,
        model=metadata.model,
        eval_file=metadata.eval_file,
        counts=metadata.counts,
        scores=metadata.scores,
        duration_seconds=metadata.duration_seconds,
        source_commit=metadata.source_commit,
        source_repo=metadata.source_repo,
        source_branch=metadata.source_branch,
        tags=metadata.tags,
        run_group=metadata.run_group,
        gate=None if metadata.gate is None else metadata.gate.verdict,
        params=metadata.params,
        metrics=metadata.metrics,
        labels=metadata.labels,
        files={METADATA_FILE: sha256(metadata_bytes), TRANSCRIPT_FILE: sha256(transcript_bytes)},
    )

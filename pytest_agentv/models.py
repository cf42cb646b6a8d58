"""Pydantic models of every stored file: the single source of truth for the run format.

Field names on disk are camelCase (the cross-repo spec); Python attributes are snake_case.
docs/format.md documents every field.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer
from pydantic.alias_generators import to_camel

SCHEMA_VERSION = 1

Outcome = Literal["passed", "failed", "skipped", "xfailed", "xpassed", "error"]
OUTCOMES: tuple[Outcome, ...] = ("passed", "failed", "skipped", "xfailed", "xpassed", "error")


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )
    #: Fields left out of the file while they are None: files of runs that do not use the
    #: feature stay exactly as they were before it existed.
    _omit_when_none: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def _serialise(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        for name in self._omit_when_none:
            if getattr(self, name) is None and isinstance(data, dict):
                data.pop(name, None)
                data.pop(to_camel(name), None)
        return data


class Score(_Model):
    """One named score of one test."""

    _omit_when_none = ("greater_is_better",)

    value: float
    threshold: float | None = None
    passed: bool | None = None
    reason: str | None = None
    greater_is_better: bool | None = None  # None: higher is better


class Usage(_Model):
    """Token and cost usage, accumulated per test and per run."""

    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cost_usd=round(self.cost_usd + other.cost_usd, 10),
        )


class ScoreAggregate(_Model):
    """A metric aggregated over the tests that recorded it."""

    count: int
    mean: float
    min: float
    max: float
    passed: int = 0
    failed: int = 0


class TestRecord(_Model):
    """Everything recorded about one test."""

    __test__ = False  # not a pytest test class

    nodeid: str
    outcome: Outcome
    duration: float
    failure: str | None = None
    reason: str | None = None
    scores: dict[str, Score] = Field(default_factory=dict)
    usage: Usage = Field(default_factory=Usage)
    metadata: dict[str, Any] = Field(default_factory=dict)


class Counts(_Model):
    """How many tests ended in each outcome."""

    total: int = 0
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    errors: int = 0
    xfailed: int = 0
    xpassed: int = 0


class Versions(_Model):
    """Versions of the tools that produced the run."""

    agentv: str
    pytest: str
    python: str
    platform: str


GateVerdict = Literal["pass", "fail", "inconclusive"]


class GateRowRecord(_Model):
    """One gate of a run, as evaluated at the end of its session (docs/gates.md)."""

    gate: str
    metric: str
    verdict: GateVerdict
    limit: float
    this_run: float | None = None
    baseline: float | None = None
    difference: float | None = None
    low: float | None = None
    high: float | None = None
    standard_error: float | None = None
    detectable: float | None = None
    clusters: int | None = None
    tests: int = 0
    greater_is_better: bool = True
    note: str = ""


class GateRecord(_Model):
    """The gates of a run and their one verdict."""

    verdict: GateVerdict
    baseline: str | None = None
    error: str | None = None
    rows: list[GateRowRecord] = Field(default_factory=list)


class RunMetadata(_Model):
    """``metadata.json``: the full record of one run."""

    _omit_when_none = ("run_group", "gate")

    schema_version: int = SCHEMA_VERSION
    run_id: str
    timestamp: str
    started_at: str
    finished_at: str
    duration_seconds: float
    source_repo: str | None = None
    source_commit: str | None = None
    source_branch: str | None = None
    source_dirty: bool | None = None
    eval_file: str | None = None
    model: str | None = None
    tags: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    args: list[str] = Field(default_factory=list)
    versions: Versions
    counts: Counts
    scores: dict[str, ScoreAggregate] = Field(default_factory=dict)
    usage: Usage = Field(default_factory=Usage)
    tests: list[TestRecord] = Field(default_factory=list)
    run_group: str | None = None
    gate: GateRecord | None = None


class TranscriptEvent(BaseModel):
    """One line of ``transcript.jsonl``; extra fields given to ``agentv.message`` are kept."""

    model_config = ConfigDict(extra="allow", frozen=True)

    test: str
    seq: int
    role: str
    content: Any
    timestamp: str


class RunSummary(_Model):
    """``summary.json``: what a list view needs, plus the checksums of the other two files."""

    _omit_when_none = ("run_group", "gate")

    schema_version: int = SCHEMA_VERSION
    run_id: str
    timestamp: str
    model: str | None = None
    eval_file: str | None = None
    counts: Counts
    scores: dict[str, ScoreAggregate] = Field(default_factory=dict)
    duration_seconds: float
    source_commit: str | None = None
    source_repo: str | None = None
    source_branch: str | None = None
    tags: list[str] = Field(default_factory=list)
    files: dict[str, str] = Field(description="file name -> SHA-256 hex digest")
    run_group: str | None = None
    gate: GateVerdict | None = None

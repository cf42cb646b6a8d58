"""What an xdist worker sends the controller, as pydantic models: the one definition of it.

Per test, :class:`TestWire` rides on the teardown report (xdist serialises it with the report);
per worker, :class:`RunContextWire` goes in ``workeroutput``. Both cross the wire as plain JSON
data (``model_dump(mode="json")``) and are validated again on arrival.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pytest_agentv.models import Score, Usage


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WireEvent(_Wire):
    """A transcript message as the recorder took it (before sequencing and redaction)."""

    role: str
    content: Any
    timestamp: str
    fields: dict[str, Any] = Field(default_factory=dict)


class TestWire(_Wire):
    """One test's recorder: scores, usage, metadata and messages."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    scores: dict[str, Score] = Field(default_factory=dict)
    usage: Usage = Field(default_factory=Usage)
    metadata: dict[str, Any] = Field(default_factory=dict)
    events: tuple[WireEvent, ...] = ()
    #: the test uses agentv/agentv_run or is marked: its session records a run
    eval: bool = False
    case_id: str | None = None
    inputs: dict[str, Any] | None = None
    outputs: dict[str, Any] | None = None
    reference: dict[str, Any] | None = None
    #: the messages could not be written to the run's transcript (why): the record is bare
    transcript_error: str | None = None


class SubtestWire(_Wire):
    """The scores recorded inside one subtest; it rides on the subtest's report."""

    scores: dict[str, Score] = Field(default_factory=dict)
    #: the subtest's parameters as ``repr`` text (None: not known to the plugin)
    params: dict[str, str] | None = None


class RunContextWire(_Wire):
    """What a worker's conftest set on the ``agentv_run`` fixture."""

    model: str | None = None
    eval_file: str | None = None
    tags: tuple[str, ...] = ()
    metadata: dict[str, Any] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)
    used: bool = False

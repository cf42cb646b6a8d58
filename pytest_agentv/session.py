"""The recording session: gathers per-test records from reports, builds the run, stores it.

Lives on the process that writes (the xdist controller, or the only process); it is fed test
reports, never items, so it sees exactly what workers send.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pytest_agentv.gate_render import render_gate_table
from pytest_agentv.gate_settings import GateSettings
from pytest_agentv.gates import GateReport, evaluate_gates
from pytest_agentv.models import Outcome, RunMetadata, RunSummary, TestRecord, Versions
from pytest_agentv.payload import Provenance, RawEvent, RunInputs, build_run
from pytest_agentv.recorder import RunContext, check_json
from pytest_agentv.redact import Redactor
from pytest_agentv.settings import Settings
from pytest_agentv.store import ArtifactStore, StoreError, WriteResult, open_store
from pytest_agentv.store.base import RunArtifacts
from pytest_agentv.store.paths import METADATA_FILE, new_run_id
from pytest_agentv.wire import TestWire

#: Attribute on a test's teardown report carrying its recorder snapshot (xdist serialises it).
REPORT_ATTR = "agentv_record"
FAILURE_TEXT_LIMIT = 2000


@dataclass
class _TestState:
    nodeid: str
    outcome: Outcome = "passed"
    duration: float = 0.0
    failure: str | None = None
    reason: str | None = None
    wire: dict[str, Any] | None = None


@dataclass(frozen=True)
class SessionOutcome:
    """What the session did with the run, for the terminal summary."""

    run_id: str
    tests: int
    result: WriteResult | None = None
    error: str | None = None
    summary: RunSummary | None = None  # what was stored (the release gate scores it)
    gate: GateReport | None = None
    repeats: tuple[str, ...] = ()  # what the repeats of --agentv-repeat say, when there are any

    @property
    def delivered(self) -> bool:
        """True when the run reached every place the settings name."""
        return self.error is None and self.result is not None and self.result.delivered

    @property
    def problems(self) -> tuple[str, ...]:
        """What went wrong, one message each (each becomes a warning)."""
        if self.error is not None:
            return (self.error,)
        return self.result.problems if self.result is not None else ()

    def summary_lines(self) -> list[str]:
        """The terminal summary: one line saying where the run went, then any problems."""
        tests = f"{self.tests} test{'s' if self.tests != 1 else ''}"
        if self.result is None:
            lines = [f"agentv: run {self.run_id} ({tests}) was NOT recorded"]
        else:
            verb = "written to" if self.result.delivered else "NOT delivered, kept in"
            lines = [f"agentv: run {self.run_id} ({tests}) {verb} {self.result.location}"]
            lines += [f"agentv: {note}" for note in self.result.notes]
        lines += [f"agentv: WARNING: {problem}" for problem in self.problems]
        lines += self.repeats
        if self.gate is not None:
            lines.append("agentv: gates")
            lines += [f"  {line}" for line in render_gate_table(self.gate)]
        return lines


@dataclass
class AgentvSession:
    """Collects one run's records and writes it at the end."""

    settings: Settings
    redactor: Redactor
    context: RunContext
    args: Sequence[str] = ()
    run_id: str = field(default_factory=new_run_id)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    provenance: Provenance = field(default_factory=Provenance)
    gates: GateSettings = field(default_factory=GateSettings)
    _tests: dict[str, _TestState] = field(default_factory=dict)
    _initial: RunContext = field(default_factory=RunContext)

    def __post_init__(self) -> None:
        self._initial = RunContext(model=self.context.model, eval_file=self.context.eval_file)

    def read_provenance(self) -> None:
        """Read the source repository's state (the git library is imported only here)."""
        from pytest_agentv.git.provenance import read_provenance

        self.provenance = read_provenance(self.settings.rootdir)

    # -- feeding ----------------------------------------------------------------------------------

    def add_report(self, report: pytest.TestReport) -> None:
        """Fold one phase's report into its test's record."""
        state = self._tests.setdefault(report.nodeid, _TestState(report.nodeid))
        state.duration += report.duration
        wasxfail = hasattr(report, "wasxfail")
        if report.when == "setup":
            if report.failed:
                state.outcome, state.failure = "error", _failure_text(report)
            elif report.skipped:
                state.outcome = "xfailed" if wasxfail else "skipped"
                state.reason = _skip_reason(report)
        elif report.when == "call":
            if report.passed:
                state.outcome = "xpassed" if wasxfail else "passed"
                if wasxfail:
                    state.reason = str(report.wasxfail) or None
            elif report.failed:
                state.outcome, state.failure = "failed", _failure_text(report)
            else:
                state.outcome = "xfailed" if wasxfail else "skipped"
                state.reason = _skip_reason(report)
        else:  # teardown
            if report.failed and state.outcome not in ("failed", "error"):
                state.outcome, state.failure = "error", _failure_text(report)
            wire = getattr(report, REPORT_ATTR, None)
            if isinstance(wire, dict):
                state.wire = wire

    def merge_worker_context(self, data: dict[str, Any]) -> None:
        """Take the ``agentv_run`` values an xdist worker's conftest set."""
        self.context.merge_wire(data, self._initial)

    @property
    def has_tests(self) -> bool:
        """True once any test has reported."""
        return bool(self._tests)

    # -- finishing --------------------------------------------------------------------------------

    def build_inputs(self, finished_at: datetime | None = None) -> RunInputs:
        """Everything collected, as plain data for :func:`build_run`."""
        self.context.check()
        check_json(dict(self.context.metadata), "agentv_run.metadata")
        tests: list[TestRecord] = []
        transcript: list[RawEvent] = []
        for state in self._tests.values():
            wire = TestWire.model_validate(state.wire or {})
            tests.append(
                TestRecord(
                    nodeid=state.nodeid,
                    outcome=state.outcome,
                    duration=round(state.duration, 6),
                    failure=state.failure,
                    reason=state.reason,
                    scores=wire.scores,
                    usage=wire.usage,
                    metadata=wire.metadata,
                )
            )
            transcript.extend(
                RawEvent(
                    test=state.nodeid,
                    role=e.role,
                    content=e.content,
                    timestamp=e.timestamp,
                    fields=dict(e.fields),
                )
                for e in wire.events
            )
        return RunInputs(
            run_id=self.run_id,
            started_at=self.started_at,
            finished_at=finished_at or datetime.now(UTC),
            tests=tests,
            transcript=transcript,
            versions=_versions(),
            provenance=self.provenance,
            model=self.context.model,
            eval_file=self.context.eval_file or default_eval_file(self._tests),
            tags=self.context.tags,
            metadata=dict(self.context.metadata),
            args=[self.redactor.text(arg, "args") for arg in self.args],
            run_group=self.gates.run_group,
        )

    def finish(self, store: ArtifactStore | None = None) -> SessionOutcome:
        """Build the run, evaluate its gates, store it; a store failure is reported, never
        raised, and whatever the gates do the run is stored."""
        inputs = self.build_inputs()
        run = build_run(inputs, self.redactor)
        report = None
        if self.gates.spec.enabled:
            report = self._evaluate_gates(run)
            # built again so that the stored metadata carries the verdict
            run = build_run(replace(inputs, gate=report.to_record()), self.redactor)
        repeats: tuple[str, ...] = ()
        if self.gates.repeat > 1:
            from pytest_agentv.trends import repeat_lines

            repeats = tuple(repeat_lines(RunMetadata.model_validate_json(run.files[METADATA_FILE])))
        tests = len(self._tests)
        try:
            result = (store or open_store(self.settings)).write(run)
        except StoreError as exc:
            return SessionOutcome(self.run_id, tests, error=str(exc), gate=report, repeats=repeats)
        return SessionOutcome(
            self.run_id, tests, result=result, summary=run.summary, gate=report, repeats=repeats
        )

    def _evaluate_gates(self, run: RunArtifacts) -> GateReport:
        from pytest_agentv.baseline import ThisRun
        from pytest_agentv.gate_run import gate_run
        from pytest_agentv.sources import open_source

        metadata = RunMetadata.model_validate_json(run.files[METADATA_FILE])
        this = ThisRun(run.run_id, metadata.model, metadata.eval_file, self.provenance.branch)
        try:
            return gate_run(
                metadata,
                self.gates.spec,
                self.gates.baseline,
                lambda: open_source(self.settings),
                self.settings.rootdir,
                this,
            )
        except Exception as exc:  # a failed gate, never a lost run
            return evaluate_gates(
                metadata, self.gates.spec, baseline_error=f"the gates could not be evaluated: {exc}"
            )


def default_eval_file(tests: dict[str, Any]) -> str | None:
    """The test file when the run covered one, else the directory the test files share."""
    files = sorted({nodeid.split("::", 1)[0] for nodeid in tests})
    if not files:
        return None
    if len(files) == 1:
        return files[0]
    common = os.path.commonpath(files)
    return (common or ".").replace(os.sep, "/")


def _failure_text(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        text = f"{crash.message} ({Path(crash.path).name}:{crash.lineno})"
    else:
        lines = [line for line in report.longreprtext.splitlines() if line.strip()]
        text = lines[-1] if lines else report.outcome
    return text[:FAILURE_TEXT_LIMIT]


def _skip_reason(report: pytest.TestReport) -> str | None:
    if hasattr(report, "wasxfail"):
        return str(report.wasxfail) or None
    if isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    return None


def _versions() -> Versions:
    from pytest_agentv import __version__

    return Versions(
        agentv=__version__,
        pytest=pytest.__version__,
        python=platform.python_version(),
        platform=sys.platform,
    )

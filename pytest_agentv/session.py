"""The recording session: takes each test's record as it ends, builds the run, stores it.

Lives on the process that writes (the xdist controller, or the only process), made once a test
records something. Each test's messages are redacted into the run's transcript as the test
ends (:mod:`pytest_agentv.transcript`); the rest of the run is built at the end.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pytest

from pytest_agentv.gate_render import render_gate_table
from pytest_agentv.gate_settings import GateSettings
from pytest_agentv.gates import GateReport, evaluate_gates
from pytest_agentv.layout import ProjectLayout
from pytest_agentv.models import RunMetadata, RunSummary, TestRecord, Versions
from pytest_agentv.payload import Provenance, RunInputs, build_run
from pytest_agentv.redact import KeyNames, Redactor
from pytest_agentv.reports import FAILURE_TEXT_LIMIT, TestState
from pytest_agentv.run_context import RunContext
from pytest_agentv.settings import Settings
from pytest_agentv.store import ArtifactStore, StoreError, WriteResult, open_store
from pytest_agentv.store.base import RunArtifacts
from pytest_agentv.store.paths import METADATA_FILE, TRANSCRIPT_FILE, new_run_id
from pytest_agentv.transcript import RawEvent, TranscriptSpool
from pytest_agentv.wire import TestWire

#: Computes run-level metrics from every test's record (the ``pytest_agentv_run_metrics`` hook).
RunMetrics = Callable[[Sequence[TestRecord]], dict[str, float]]


@dataclass(frozen=True)
class SessionOutcome:
    """What the session did with the run, for the terminal summary."""

    run_id: str
    tests: int
    result: WriteResult | None = None
    error: str | None = None
    #: problems that did not stop the run from being recorded (a broken metrics hook)
    warnings: tuple[str, ...] = ()
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
            return (self.error, *self.warnings)
        return (*(self.result.problems if self.result is not None else ()), *self.warnings)

    def summary_lines(self, warned: bool = False, failed_session: bool = False) -> list[str]:
        """The terminal summary: one line saying where the run went, then any problems.

        ``warned``: the problems were shown as warnings already (not repeated here);
        ``failed_session``: the session's exit status is 1 because of them (it says so).
        """
        tests = f"{self.tests} test{'s' if self.tests != 1 else ''}"
        if self.result is None:
            lines = [f"agentv: run {self.run_id} ({tests}) was NOT recorded"]
        else:
            verb = "written to" if self.result.delivered else "NOT delivered, kept in"
            lines = [f"agentv: run {self.run_id} ({tests}) {verb} {self.result.location}"]
            lines += [f"agentv: {note}" for note in self.result.notes]
        if warned and self.problems:
            lines.append("agentv: why: see the AgentvDeliveryWarning in the warnings summary")
        else:
            lines += [f"agentv: WARNING: {problem}" for problem in self.problems]
        if failed_session:
            lines.append(
                "agentv: exit status 1: the run was not delivered and delivery is strict "
                "(--agentv-strict, or AgentvDeliveryWarning is an error in this suite)"
            )
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
    run_metrics: RunMetrics | None = None
    #: every test's state, by node id (shared with whoever folds the reports into it)
    tests: dict[str, TestState] = field(default_factory=dict)
    #: the run's key names: the transcript and the metadata name a secret key alike
    names: KeyNames = field(default_factory=KeyNames)
    _problems: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.transcript = TranscriptSpool(
            lambda: ProjectLayout(self.settings.rootdir).spool_dir,
            self.run_id,
            self.redactor,
            self.names,
        )

    def read_provenance(self) -> None:
        """Read the source repository's state (the git library is imported only here)."""
        from pytest_agentv.git.provenance import read_provenance

        self.provenance = read_provenance(self.settings.rootdir)

    # -- feeding ----------------------------------------------------------------------------------

    def write_messages(self, test: str, events: Sequence[RawEvent]) -> None:
        """A batch of ``test``'s messages, while it runs (the recorder's sink)."""
        self.transcript.write(test, events)

    def take_record(self, state: TestState) -> None:
        """A test's teardown brought its record: validate it and write its messages to the
        transcript now. A record that cannot be taken costs that test its values and
        messages (it is stored bare, the problem reported), never the run."""
        wire, state.wire = state.wire or {}, None
        try:
            record = TestWire.model_validate(wire)
            if record.transcript_error is not None:
                raise ValueError(f"its messages could not be written: {record.transcript_error}")
            events = record.events
            self.transcript.write(
                state.nodeid,
                [RawEvent(state.nodeid, e.role, e.content, e.timestamp, e.fields) for e in events],
            )
        except Exception as exc:
            self.transcript.discard(state.nodeid)
            state.record, state.unstorable = None, _describe(exc)
            return
        self.transcript.commit(state.nodeid)
        state.record = record.model_copy(update={"events": ()}) if record.events else record

    def retract(self, test: str) -> None:
        """``test`` is run again (pytest-rerunfailures): its messages so far are taken back."""
        self.transcript.discard(test)

    # -- finishing --------------------------------------------------------------------------------

    def build_inputs(
        self, finished_at: datetime | None = None, problems: list[str] | None = None
    ) -> RunInputs:
        """Everything collected, as plain data for :func:`build_run`; what had to be left out
        (a run value spoiled in place, a record that is not one) is added to ``problems``."""
        problems = [] if problems is None else problems
        problems.extend(self.context.check())
        tests: list[TestRecord] = []
        case_ids: dict[str, int] = {}
        for state in self.tests.values():
            if state.wire is not None:  # not an eval: its record was left for now
                self.take_record(state)
            if state.unstorable is not None:
                problems.append(_unstorable(state.nodeid, state.unstorable))
                tests.append(_bare_record(state, state.unstorable))
                continue
            wire = state.record if state.record is not None else TestWire()
            case_id = wire.case_id
            if case_id is not None:
                # equal values give equal ids; later duplicates are numbered so none is lost
                seen = case_ids[case_id] = case_ids.get(case_id, 0) + 1
                case_id = case_id if seen == 1 else f"{case_id}#{seen}"
            outcome, failure = state.outcome, state.failure
            failed_subtests = [sub for sub in state.subtests if sub.outcome == "failed"]
            # pytest itself may have failed the test already ("contains 1 failed subtest")
            own = outcome == "failed" and (failure or "").startswith("contains ")
            if failed_subtests and (outcome in ("passed", "xpassed") or own):
                outcome = "failed"
                failure = (
                    f"{len(failed_subtests)} of {len(state.subtests)} subtests failed; first: "
                    f"{failed_subtests[0].failure}"
                )[:FAILURE_TEXT_LIMIT]
            tests.append(
                TestRecord(
                    nodeid=state.nodeid,
                    outcome=outcome,
                    duration=round(state.duration, 6),
                    failure=failure,
                    reason=state.reason,
                    scores=wire.scores,
                    usage=wire.usage,
                    metadata=wire.metadata,
                    case_id=case_id,
                    inputs=wire.inputs,
                    outputs=wire.outputs,
                    reference=wire.reference,
                    attempts=state.attempts if state.attempts > 1 else None,
                    subtests=list(state.subtests) or None,
                )
            )
        return RunInputs(
            run_id=self.run_id,
            started_at=self.started_at,
            finished_at=finished_at or datetime.now(UTC),
            tests=tests,
            transcript=(),  # in self.transcript already
            versions=_versions(),
            provenance=self.provenance,
            model=self.context.model,
            eval_file=self.context.eval_file or default_eval_file(self.tests),
            tags=self.context.tags,
            metadata=dict(self.context.metadata),
            args=[self.redactor.text(_printable(arg), "args") for arg in self.args],
            run_group=self.gates.run_group,
            params=dict(self.context.params) or None,
            metrics=self._metrics(tests),
        )

    def build(self, problems: list[str]) -> tuple[RunInputs, RunArtifacts]:
        """The run's files. Values are checked where they are recorded, but a bug or a hook
        writing junk must not cost the other tests' records: a test whose record cannot be
        built is stored bare (outcome and duration) and the problem reported."""
        inputs = self.build_inputs(problems=problems)
        transcript = self.transcript.read()
        try:
            return inputs, self._build_run(inputs, transcript)
        except Exception:
            pass
        tests: list[TestRecord] = []
        for test in inputs.tests:
            alone = replace(inputs, tests=[test], metadata={}, tags=())
            try:
                self._build_run(alone, b"")
            except Exception as exc:
                problems.append(_unstorable(test.nodeid, _describe(exc)))
                state = self.tests.get(test.nodeid, TestState(test.nodeid))
                tests.append(_bare_record(state, _describe(exc)))
                continue
            tests.append(test)
        inputs = replace(inputs, tests=tests)
        try:
            return inputs, self._build_run(inputs, transcript)
        except Exception as exc:
            problems.append(
                f"the run's own values (agentv_run model, tags, metadata) could not be stored "
                f"({_describe(exc)}); they were left out of run {self.run_id}"
            )
        inputs = replace(inputs, model=None, tags=(), metadata={})
        return inputs, self._build_run(inputs, transcript)

    def _build_run(self, inputs: RunInputs, transcript: bytes) -> RunArtifacts:
        return build_run(inputs, self.redactor, transcript=transcript, names=self.names)

    def _ignore_generated(self) -> None:
        """Local runs under ``.agentv/`` get a ``.gitignore`` there, so they are not committed
        by accident (the git backend's spool and caches ignore themselves already)."""
        layout = ProjectLayout(self.settings.rootdir)
        if self.settings.backend == "local" and self.settings.local_dir.is_relative_to(
            layout.agentv_dir
        ):
            layout.ignore_generated()

    def _metrics(self, tests: Sequence[TestRecord]) -> dict[str, float] | None:
        """The hook's run-level metrics; a broken hook costs its metrics, never the run."""
        if self.run_metrics is None:
            return None
        try:
            return self.run_metrics(tests) or None
        except Exception as exc:
            self._problems.append(f"run metrics were not recorded: {exc}")
            return None

    def finish(self, store: ArtifactStore | None = None) -> SessionOutcome:
        """Build the run, evaluate its gates, store it; a store failure is reported, never
        raised, and whatever the gates do the run is stored. The session's transcript file
        is removed after (the store keeps the run's own copy by then)."""
        try:
            return self._finish(store)
        finally:
            self.transcript.close()

    def _finish(self, store: ArtifactStore | None) -> SessionOutcome:
        problems: list[str] = []
        tests = len(self.tests)
        try:
            inputs, run = self.build(problems)
        except Exception as exc:  # nothing left to leave out: say so, do not crash pytest
            error = f"run {self.run_id} could not be built: {_describe(exc)}"
            return SessionOutcome(
                self.run_id, tests, error=error, warnings=(*problems, *self._problems)
            )
        report = None
        if self.gates.spec.enabled:
            report = self._evaluate_gates(run)
            # built again so that the stored metadata carries the verdict
            gated = replace(inputs, gate=report.to_record())
            run = self._build_run(gated, run.files[TRANSCRIPT_FILE])
        repeats: tuple[str, ...] = ()
        if self.gates.repeat > 1:
            from pytest_agentv.trends import repeat_lines

            repeats = tuple(repeat_lines(RunMetadata.model_validate_json(run.files[METADATA_FILE])))
        kept = (*problems, *self._problems)
        try:
            result = (store or open_store(self.settings)).write(run)
        except StoreError as exc:
            self._ignore_generated()
            return SessionOutcome(
                self.run_id, tests, error=str(exc), gate=report, repeats=repeats, warnings=kept
            )
        self._ignore_generated()
        return SessionOutcome(
            self.run_id,
            tests,
            result=result,
            summary=run.summary,
            gate=report,
            repeats=repeats,
            warnings=kept,
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


def _describe(exc: BaseException) -> str:
    return _printable(f"{type(exc).__name__}: {exc}")[:500]


def _unstorable(nodeid: str, why: str) -> str:
    return (
        f"the record of {_printable(nodeid)} could not be stored ({why}); it is kept "
        "with its outcome only (no scores, usage, metadata or messages)"
    )


def _bare_record(state: TestState, why: str) -> TestRecord:
    why = f"agentv: this test's record could not be stored: {why}"
    return TestRecord(
        nodeid=_printable(state.nodeid),
        outcome=state.outcome,
        duration=round(state.duration, 6),
        failure=why if state.failure is None else f"{state.failure}\n{why}",
        reason=state.reason,
    )


def _printable(text: str) -> str:
    """``text`` writable as UTF-8: lone surrogates (from pytest's own text) escaped."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def default_eval_file(tests: dict[str, Any]) -> str | None:
    """The test file when the run covered one, else the directory the test files share."""
    files = sorted({nodeid.split("::", 1)[0] for nodeid in tests})
    if not files:
        return None
    if len(files) == 1:
        return files[0]
    common = os.path.commonpath(files)
    return (common or ".").replace(os.sep, "/")


def _versions() -> Versions:
    from pytest_agentv import __version__

    return Versions(
        agentv=__version__,
        pytest=pytest.__version__,
        python=platform.python_version(),
        platform=sys.platform,
    )

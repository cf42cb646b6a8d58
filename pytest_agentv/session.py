"""The recording session: gathers per-test records from reports, builds the run, stores it.

Lives on the process that writes (the xdist controller, or the only process); it is fed test
reports, never items, so it sees exactly what workers send.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pytest_agentv.gate_render import render_gate_table
from pytest_agentv.gate_settings import GateSettings
from pytest_agentv.gates import GateReport, evaluate_gates
from pytest_agentv.layout import ProjectLayout
from pytest_agentv.models import (
    Outcome,
    RunMetadata,
    RunSummary,
    SubtestRecord,
    TestRecord,
    Versions,
)
from pytest_agentv.payload import Provenance, RawEvent, RunInputs, build_run
from pytest_agentv.recorder import RunContext
from pytest_agentv.redact import Redactor
from pytest_agentv.settings import Settings
from pytest_agentv.store import ArtifactStore, StoreError, WriteResult, open_store
from pytest_agentv.store.base import RunArtifacts
from pytest_agentv.store.paths import METADATA_FILE, new_run_id
from pytest_agentv.wire import SubtestWire, TestWire

#: Attribute on a test's teardown report carrying its recorder snapshot (xdist serialises it).
REPORT_ATTR = "agentv_record"
#: Attribute on a subtest's report carrying the scores recorded inside it.
SUBTEST_ATTR = "agentv_subtest"
FAILURE_TEXT_LIMIT = 2000

#: Computes run-level metrics from every test's record (the ``pytest_agentv_run_metrics`` hook).
RunMetrics = Callable[[Sequence[TestRecord]], dict[str, float]]


@dataclass
class _TestState:
    nodeid: str
    outcome: Outcome = "passed"
    duration: float = 0.0
    failure: str | None = None
    reason: str | None = None
    wire: dict[str, Any] | None = None
    attempts: int = 1
    subtests: list[SubtestRecord] = field(default_factory=list)


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
    _tests: dict[str, _TestState] = field(default_factory=dict)
    _initial: RunContext = field(default_factory=RunContext)
    _evals: bool = False
    _problems: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._initial = RunContext(model=self.context.model, eval_file=self.context.eval_file)

    def read_provenance(self) -> None:
        """Read the source repository's state (the git library is imported only here)."""
        from pytest_agentv.git.provenance import read_provenance

        self.provenance = read_provenance(self.settings.rootdir)

    # -- feeding ----------------------------------------------------------------------------------

    def add_collect_report(self, report: pytest.CollectReport) -> None:
        """A collection error is a test that could not run: it is in the run as an error."""
        if not report.failed:
            return
        state = self._tests.setdefault(report.nodeid, _TestState(report.nodeid))
        state.outcome = "error"
        state.failure = f"collection failed: {_failure_text(report)}"[:FAILURE_TEXT_LIMIT]

    def add_report(self, report: pytest.TestReport) -> None:
        """Fold one phase's report into its test's record."""
        state = self._tests.setdefault(report.nodeid, _TestState(report.nodeid))
        state.duration += report.duration
        # pytest-rerunfailures numbers the attempts (from 0) and marks all but the last "rerun"
        state.attempts = max(state.attempts, int(getattr(report, "rerun", 0) or 0) + 1)
        if report.outcome == "rerun":  # type: ignore[comparison-overlap]
            state.outcome, state.failure, state.reason, state.subtests = "passed", None, None, []
            return
        context = getattr(report, "context", None)
        if report.when == "call" and context is not None and hasattr(context, "kwargs"):
            state.subtests.append(_subtest_record(report, context))
            return
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
                self._evals = self._evals or bool(wire.get("eval"))

    def merge_worker_context(self, data: dict[str, Any]) -> None:
        """Take the ``agentv_run`` values an xdist worker's conftest set."""
        self.context.merge_wire(data, self._initial)

    @property
    def has_tests(self) -> bool:
        """True once any test has reported."""
        return bool(self._tests)

    def test_files(self) -> list[str]:
        """The files of the tests seen so far, in report order."""
        return list(dict.fromkeys(nodeid.split("::", 1)[0] for nodeid in self._tests))

    @property
    def has_evals(self) -> bool:
        """True when a test was an eval (``agentv``, ``agentv_run``, ``@pytest.mark.agentv``)."""
        return self._evals or self.context.used

    # -- finishing --------------------------------------------------------------------------------

    def build_inputs(
        self, finished_at: datetime | None = None, problems: list[str] | None = None
    ) -> RunInputs:
        """Everything collected, as plain data for :func:`build_run`; what had to be left out
        (a run value spoiled in place, a record that is not one) is added to ``problems``."""
        problems = [] if problems is None else problems
        problems.extend(self.context.check())
        tests: list[TestRecord] = []
        transcript: list[RawEvent] = []
        case_ids: dict[str, int] = {}
        for state in self._tests.values():
            try:
                wire = TestWire.model_validate(state.wire or {})
            except ValueError as exc:
                problems.append(_unstorable(state.nodeid, exc))
                tests.append(_bare_record(state, exc))
                continue
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
        try:
            return inputs, build_run(inputs, self.redactor)
        except Exception:
            pass
        tests: list[TestRecord] = []
        transcript: list[RawEvent] = []
        for test in inputs.tests:
            events = [event for event in inputs.transcript if event.test == test.nodeid]
            alone = replace(inputs, tests=[test], transcript=events, metadata={}, tags=())
            try:
                build_run(alone, self.redactor)
            except Exception as exc:
                problems.append(_unstorable(test.nodeid, exc))
                state = self._tests.get(test.nodeid, _TestState(test.nodeid))
                tests.append(_bare_record(state, exc))
                continue
            tests.append(test)
            transcript.extend(events)
        inputs = replace(inputs, tests=tests, transcript=transcript)
        try:
            return inputs, build_run(inputs, self.redactor)
        except Exception as exc:
            problems.append(
                f"the run's own values (agentv_run model, tags, metadata) could not be stored "
                f"({_describe(exc)}); they were left out of run {self.run_id}"
            )
        inputs = replace(inputs, model=None, tags=(), metadata={})
        return inputs, build_run(inputs, self.redactor)

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
        raised, and whatever the gates do the run is stored."""
        problems: list[str] = []
        tests = len(self._tests)
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
            run = build_run(replace(inputs, gate=report.to_record()), self.redactor)
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


def _unstorable(nodeid: str, exc: BaseException) -> str:
    return (
        f"the record of {_printable(nodeid)} could not be stored ({_describe(exc)}); it is kept "
        "with its outcome only (no scores, usage, metadata or messages)"
    )


def _bare_record(state: _TestState, exc: BaseException) -> TestRecord:
    why = f"agentv: this test's record could not be stored: {_describe(exc)}"
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


def _subtest_record(report: pytest.TestReport, context: Any) -> SubtestRecord:
    data = getattr(report, SUBTEST_ATTR, None)
    wire = SubtestWire.model_validate(data) if isinstance(data, dict) else SubtestWire()
    if hasattr(report, "wasxfail"):
        outcome: Outcome = "xfailed" if report.skipped else "xpassed"
    else:
        outcome = "failed" if report.failed else "skipped" if report.skipped else "passed"
    msg = getattr(context, "msg", None)
    # the worker's own params: pytest's context repr()s them again when xdist carries them
    params = wire.params if wire.params is not None else dict(getattr(context, "kwargs", {}))
    return SubtestRecord(
        msg=None if msg is None else str(msg),
        params={str(k): str(v) for k, v in params.items()},
        outcome=outcome,
        duration=round(report.duration, 6),
        failure=_failure_text(report) if report.failed else None,
        scores=dict(wire.scores),
    )


def _failure_text(report: pytest.TestReport | pytest.CollectReport) -> str:
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

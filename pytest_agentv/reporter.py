"""The writing process's side of the plugin: one :class:`AgentvReporter`, registered in
``pytest_configure`` only when recording and not on an xdist worker.

It folds every test's reports into a light record (a suite that never records pays little
more), and makes the :class:`~pytest_agentv.session.AgentvSession` — redactor, formats, the
run's transcript — once a test records something, or at the start when recording was asked for.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from pytest_agentv.exceptions import AgentvDeliveryWarning, AgentvRecordError
from pytest_agentv.gate_settings import GateSettings
from pytest_agentv.reports import TestState, collection_error, fold_report
from pytest_agentv.run_context import RunContext
from pytest_agentv.run_ids import new_run_id
from pytest_agentv.settings import Settings

if TYPE_CHECKING:
    from pytest_agentv.models import TestRecord
    from pytest_agentv.payload import Provenance
    from pytest_agentv.recorder import TranscriptSink
    from pytest_agentv.redact import ExtraRedaction
    from pytest_agentv.session import AgentvSession, RunMetrics, SessionOutcome

WORKEROUTPUT_KEY = "agentv_run"


def hook_redaction(config: pytest.Config) -> ExtraRedaction | None:
    """The ``pytest_agentv_redact`` implementations, applied one after another (None when no
    plugin implements it: the redactor then offers it nothing).

    Each plugin's implementations are called through pluggy (so ``wrapper=True``, ``tryfirst``
    and argument selection behave as in any hook), one plugin at a time in hook call order, each
    given the text as the previous one left it. Looked up when the session is made, once a test
    records (every conftest is loaded by then), not once per string.
    """
    manager = config.pluginmanager
    name = "pytest_agentv_redact"
    callers: list[Any] = []
    plugins: list[object] = []
    for impl in reversed(getattr(config.hook, name).get_hookimpls()):
        if impl.plugin not in plugins:
            plugins.append(impl.plugin)
    if not plugins:
        return None
    everyone = manager.get_plugins()
    for plugin in plugins:
        others = [other for other in everyone if other is not plugin]
        callers.append(manager.subset_hook_caller(name, remove_plugins=others))

    def apply(text: str, context: str) -> str:
        for caller in callers:
            for result in caller(text=text, context=context):
                if result is not None:
                    text = str(result)
        return text

    return apply


def hook_run_metrics(config: pytest.Config) -> RunMetrics:
    """The ``pytest_agentv_run_metrics`` implementations, their results merged and checked."""

    def compute(tests: Sequence[TestRecord]) -> dict[str, float]:
        merged: dict[str, float] = {}
        for result in config.hook.pytest_agentv_run_metrics(tests=list(tests)):
            if result is None:
                continue
            if not isinstance(result, Mapping):
                raise AgentvRecordError(
                    f"pytest_agentv_run_metrics must return a dict of numbers, got {result!r}"
                )
            for name, value in result.items():
                if name in merged:
                    raise AgentvRecordError(f"run metric {name!r} was returned twice")
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise AgentvRecordError(f"run metric {name!r} must be a number, got {value!r}")
                if not math.isfinite(value):
                    raise AgentvRecordError(f"run metric {name!r} must be finite, got {value!r}")
                merged[str(name)] = float(value)
        return merged

    return compute


class AgentvReporter:
    """Registered on the writing process only; forwards reports to the session and reports back."""

    def __init__(
        self, config: pytest.Config, settings: Settings, context: RunContext, gates: GateSettings
    ):
        self.config = config
        self.settings = settings
        self.context = context
        # what workers start from: a value a worker's conftest changed from it wins
        self._initial_context = RunContext(model=context.model, eval_file=context.eval_file)
        self.gates = gates
        self.run_id = new_run_id()
        self.started_at = datetime.now(UTC)
        self.tests: dict[str, TestState] = {}
        self._session: AgentvSession | None = None
        self._provenance: Provenance | None = None
        self._evals = False
        self.outcome: SessionOutcome | None = None
        self.quiet = False
        self.warned = False
        self.failed_session = False

    @property
    def session(self) -> AgentvSession:
        """The recording session, made when a test first records (after collection, so every
        conftest's hooks are known), or at the end."""
        if self._session is None:
            from pytest_agentv.redact import Redactor
            from pytest_agentv.session import AgentvSession

            self._session = AgentvSession(
                settings=self.settings,
                redactor=Redactor(self.settings.redaction, extra=hook_redaction(self.config)),
                context=self.context,
                args=tuple(self.config.invocation_params.args),
                run_id=self.run_id,
                started_at=self.started_at,
                run_metrics=hook_run_metrics(self.config),
                gates=self.gates,
                tests=self.tests,
            )
            if self._provenance is None:
                self._session.read_provenance()
            else:
                self._session.provenance = self._provenance
        return self._session

    def sink(self, nodeid: str) -> TranscriptSink:
        """Where the recorder of test ``nodeid`` writes its messages as it goes."""
        session = self.session
        return lambda events: session.write_messages(nodeid, events)

    @property
    def has_evals(self) -> bool:
        """True when a test was an eval (``agentv``, ``agentv_run``, ``@pytest.mark.agentv``)."""
        return self._evals or self.context.used

    def pytest_report_header(self) -> str:
        where = self.settings.describe_destination()
        if self.settings.recording_requested:
            return f"agentv: run {self.run_id} -> {where}"
        return f"agentv: run {self.run_id} -> {where}, if a test is an eval"

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            collection_error(self._state(report.nodeid), report)

    def pytest_sessionstart(self) -> None:
        """The source's state at the start when recording was asked for (else when a test
        first records: a suite that never does reads nothing)."""
        if self.settings.recording_requested:
            from pytest_agentv.git.provenance import read_provenance

            self._provenance = read_provenance(self.settings.rootdir)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        state = self._state(report.nodeid)
        what = fold_report(state, report)
        if what == "rerun" and self._session is not None:
            self._session.retract(report.nodeid)
        elif what == "record" and state.wire is not None and state.wire.get("eval"):
            self._evals = True
            self.session.take_record(state)  # a test that is no eval waits for the end

    def _state(self, nodeid: str) -> TestState:
        state = self.tests.get(nodeid)
        if state is None:
            state = self.tests[nodeid] = TestState(nodeid)
        return state

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any) -> None:
        data = getattr(node, "workeroutput", {}).get(WORKEROUTPUT_KEY)
        if isinstance(data, dict):
            self.context.merge_wire(data, self._initial_context)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.tests:
            return
        if not (self.settings.recording_requested or self.has_evals):
            self.quiet = True  # not an eval session: nothing written, nothing said
            self.tests.clear()
            return
        self.outcome = outcome = self.session.finish()
        filename = self._warning_location(session)
        # the run is stored: its records go before pytest's closing garbage collections, which
        # cost in proportion to what is still alive
        self.tests.clear()
        self._session = None
        strict = self.settings.strict
        for problem in outcome.problems:
            try:
                # located at the file that chose the destination (or the evals), not in here
                warnings.warn_explicit(
                    AgentvDeliveryWarning(problem), None, filename, 1, "pytest_agentv", {}
                )
            except AgentvDeliveryWarning:
                strict = True  # warnings are errors in this suite: fail it, don't crash pytest
        if not outcome.delivered and strict and session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
            self.failed_session = True
        if outcome.gate is not None and outcome.gate.failed and session.exitstatus == 0:
            from pytest_agentv.gates import EXIT_GATE_FAILED

            session.exitstatus = EXIT_GATE_FAILED

    def pytest_warning_recorded(self, warning_message: warnings.WarningMessage) -> None:
        # shown in pytest's warnings summary (not filtered out): the summary need not repeat it
        if isinstance(warning_message.message, AgentvDeliveryWarning):
            self.warned = True

    def _warning_location(self, session: pytest.Session) -> str:
        """The user's file a delivery warning is shown at: the config or ini file that chose
        the destination, else the first test file of the run."""
        chosen = [self.settings.sources.get(k, "") for k in ("backend", "remote", "branch")]
        config_file = self.settings.config_file
        if config_file is not None and any(str(config_file) in source for source in chosen):
            return str(config_file)
        inipath = session.config.inipath
        if inipath is not None and any(source.startswith("ini option") for source in chosen):
            return str(inipath)
        first = next((nodeid.split("::", 1)[0] for nodeid in self.tests), None)
        return str(self.settings.rootdir / first) if first else str(self.settings.rootdir)

    def pytest_unconfigure(self) -> None:
        if self._session is not None:
            self._session.transcript.close()  # a session that never finished: nothing is left

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        outcome = self.outcome
        if self.quiet:
            return
        if outcome is None:
            terminalreporter.write_line("agentv: no tests ran; nothing recorded")
            return
        for line in outcome.summary_lines(self.warned, self.failed_session):
            terminalreporter.write_line(line)

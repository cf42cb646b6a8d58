"""The pytest plugin (entry point ``agentv``): options, fixtures and thin hooks.

Hooks hand off to :class:`~pytest_agentv.session.AgentvSession`, which is created only on the
process that writes (never on an xdist worker). Workers attach each test's records to its
teardown report, which xdist carries to the controller, and send the ``agentv_run`` values in
``workeroutput``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Generator, Sequence
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_agentv import hookspecs
from pytest_agentv.exceptions import AgentvDeliveryWarning, AgentvWarning
from pytest_agentv.gate_settings import GateSettings, gate_settings
from pytest_agentv.gates import EXIT_GATE_FAILED
from pytest_agentv.recorder import EvalRecorder, RunContext
from pytest_agentv.redact import ExtraRedaction, Redactor
from pytest_agentv.repeats import repeat_id
from pytest_agentv.session import REPORT_ATTR, AgentvSession, SessionOutcome
from pytest_agentv.settings import (
    OPTIONS,
    Settings,
    SettingsError,
    argparse_type,
    resolve_settings,
    settings_from_wire,
    settings_to_wire,
)

if TYPE_CHECKING:
    from pytest_agentv.releases.models import AgentRelease

__all__ = ["RUN_CONTEXT_KEY", "SETTINGS_KEY", "AgentvReporter", "is_xdist_worker"]

SETTINGS_KEY = pytest.StashKey[Settings]()
GATE_SETTINGS_KEY = pytest.StashKey[GateSettings]()
RUN_CONTEXT_KEY = pytest.StashKey[RunContext]()
RECORDER_KEY = pytest.StashKey[EvalRecorder]()
WORKEROUTPUT_KEY = "agentv_run"
WORKERINPUT_KEY = "agentv_settings"
REPORTER_NAME = "agentv-reporter"


def is_xdist_worker(config: pytest.Config) -> bool:
    """True on a pytest-xdist worker process."""
    return hasattr(config, "workerinput")


# -- options and configuration -----------------------------------------------------------------


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("agentv", "record eval runs (pytest-agentv)")
    group.addoption(
        "--agentv-git",
        action="store_const",
        const="git",
        dest="agentv_backend",
        help="record the run to git (same as --agentv-backend=git)",
    )
    for spec in OPTIONS:
        dest = f"agentv_{spec.key}"
        if spec.kind == "bool":
            action = "store_false" if spec.negated_flag else "store_true"
            group.addoption(spec.flag, action=action, dest=dest, default=None, help=spec.help)
        elif spec.choices:
            group.addoption(spec.flag, dest=dest, choices=spec.choices, help=spec.help)
        else:
            group.addoption(
                spec.flag,
                dest=dest,
                default=None,
                type=argparse_type(spec.check) if spec.check else str,
                metavar=spec.value_name,
                action="append" if spec.kind == "metric_map" else "store",
                help=spec.help,
            )
        parser.addini(spec.ini, f"{spec.help} (pytest-agentv)", default=None)


#: options whose value may be a path, which pytest's early rootdir search mistakes for a test path
_PATH_FLAGS = ("--agentv-remote", "--agentv-local-dir")


def path_values_given_apart(args: Sequence[str]) -> list[str]:
    """Flags of :data:`_PATH_FLAGS` given as ``--flag PATH`` with PATH an existing path.

    pytest looks for the rootdir before plugins' options are known, so it reads that PATH as a
    test path; ``--flag=PATH`` is one word and is not misread.
    """
    return [flag for flag, value in pairwise(args) if flag in _PATH_FLAGS and Path(value).exists()]


def _cli_values(config: pytest.Config) -> dict[str, Any]:
    return {spec.key: config.getoption(f"agentv_{spec.key}") for spec in OPTIONS}


def _ini_values(config: pytest.Config) -> dict[str, Any]:
    return {spec.ini: config.getini(spec.ini) for spec in OPTIONS}


def _settings(config: pytest.Config) -> Settings:
    """The controller resolves the settings once; xdist workers inherit them (workerinput)."""
    inherited = getattr(config, "workerinput", {}).get(WORKERINPUT_KEY)
    if inherited is not None:
        return settings_from_wire(inherited)
    try:
        return resolve_settings(
            Path(config.rootpath), cli=_cli_values(config), env=os.environ, ini=_ini_values(config)
        )
    except SettingsError as exc:
        raise pytest.UsageError(f"pytest-agentv: {exc}") from None


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    settings = _settings(config)
    for flag in path_values_given_apart(config.invocation_params.args):
        config.issue_config_time_warning(
            AgentvWarning(
                f"pytest-agentv: write {flag}=PATH, with '=': given as two words, pytest takes "
                f"PATH for a test path when it chooses the rootdir ({config.rootpath}), and "
                ".agentv/ (config, spool, cache) is looked for there"
            ),
            stacklevel=2,
        )
    gates = _gates(settings)
    config.stash[SETTINGS_KEY] = settings
    config.stash[GATE_SETTINGS_KEY] = gates
    config.stash[RUN_CONTEXT_KEY] = RunContext(model=settings.model, eval_file=settings.eval_file)
    reporter = None
    if settings.record and not is_xdist_worker(config) and not config.option.collectonly:
        reporter = AgentvReporter(config, settings)
        config.pluginmanager.register(reporter, REPORTER_NAME)
    if settings.release is not None:
        from pytest_agentv.releases.pytest_gate import configure_gate

        outcome = (lambda: reporter.outcome) if reporter is not None else None
        configure_gate(config, settings, config.stash[RUN_CONTEXT_KEY], outcome)


def _gates(settings: Settings) -> GateSettings:
    try:
        gates = gate_settings(settings)
    except SettingsError as exc:
        raise pytest.UsageError(f"pytest-agentv: {exc}") from None
    if gates.spec.enabled and not settings.record:
        raise pytest.UsageError(
            "pytest-agentv: gates are evaluated on the recorded run, and recording is off "
            f"({settings.sources.get('record')}); drop --agentv-no-record or the gates"
        )
    return gates


@pytest.hookimpl(trylast=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # last, so that the repeat is the last part of the node id (pytest_agentv.repeats)
    count = metafunc.config.stash[GATE_SETTINGS_KEY].repeat
    if count > 1 and "agentv" in metafunc.fixturenames:
        metafunc.fixturenames.append("agentv_repeat")
        ids = [repeat_id(index, count) for index in range(count)]
        metafunc.parametrize("agentv_repeat", range(count), indirect=True, ids=ids)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist, on the controller: hand each worker the settings resolved here (gates, repeat and
    run group included: a worker's own environment does not change them)."""
    settings = node.config.stash.get(SETTINGS_KEY, None)
    if settings is not None:
        node.workerinput[WORKERINPUT_KEY] = settings_to_wire(settings)


def pytest_unconfigure(config: pytest.Config) -> None:
    if SETTINGS_KEY in config.stash and config.stash[SETTINGS_KEY].release is not None:
        from pytest_agentv.releases.pytest_gate import unconfigure_gate

        unconfigure_gate(config)
    reporter = config.pluginmanager.get_plugin(REPORTER_NAME)
    if reporter is not None:
        config.pluginmanager.unregister(reporter, REPORTER_NAME)


def hook_redaction(config: pytest.Config) -> ExtraRedaction:
    """The ``pytest_agentv_redact`` implementations, applied one after another.

    Each plugin's implementations are called through pluggy (so ``wrapper=True``, ``tryfirst``
    and argument selection behave as in any hook), one plugin at a time in hook call order, each
    given the text as the previous one left it. The callers are built on first use (at session
    end, when every conftest is loaded), not once per string.
    """
    manager = config.pluginmanager
    name = "pytest_agentv_redact"
    callers: list[Any] = []
    looked_up = False

    def apply(text: str, context: str) -> str:
        nonlocal looked_up
        if not looked_up:
            plugins: list[object] = []
            for impl in reversed(getattr(config.hook, name).get_hookimpls()):
                if impl.plugin not in plugins:
                    plugins.append(impl.plugin)
            everyone = manager.get_plugins()
            for plugin in plugins:
                others = [other for other in everyone if other is not plugin]
                callers.append(manager.subset_hook_caller(name, remove_plugins=others))
            looked_up = True
        for caller in callers:
            for result in caller(text=text, context=context):
                if result is not None:
                    text = str(result)
        return text

    return apply


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def agentv(request: pytest.FixtureRequest) -> Generator[EvalRecorder]:
    """This test's recorder: ``score()``, ``message()``, ``usage()`` and ``metadata``."""
    recorder = EvalRecorder(request.node.nodeid)
    request.node.stash[RECORDER_KEY] = recorder
    yield recorder
    recorder.check_metadata()


@pytest.fixture
def agentv_repeat(request: pytest.FixtureRequest) -> int:
    """Which repeat of ``--agentv-repeat N`` this is, from 0 (0 when tests are not repeated)."""
    return int(getattr(request, "param", 0))


@pytest.fixture(scope="session")
def agentv_run(pytestconfig: pytest.Config) -> RunContext:
    """The run as a whole: set ``model``, ``eval_file``, ``tags`` and ``metadata`` here."""
    return pytestconfig.stash[RUN_CONTEXT_KEY]


@pytest.fixture(scope="session")
def agentv_release(pytestconfig: pytest.Config) -> AgentRelease:
    """The release under evaluation (``--agentv-release``): build the agent under test from it."""
    from pytest_agentv.releases.pytest_gate import release_for

    return release_for(pytestconfig)


# -- hooks on every process --------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    recorder = item.stash.get(RECORDER_KEY, None)
    if call.when == "teardown" and recorder is not None:
        setattr(report, REPORT_ATTR, recorder.to_wire())
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None and RUN_CONTEXT_KEY in config.stash:
        workeroutput[WORKEROUTPUT_KEY] = config.stash[RUN_CONTEXT_KEY].to_wire()


# -- the writing process -----------------------------------------------------------------------


class AgentvReporter:
    """Registered on the writing process only; forwards reports to the session and reports back."""

    def __init__(self, config: pytest.Config, settings: Settings):
        self.settings = settings
        self.session = AgentvSession(
            settings=settings,
            redactor=Redactor(settings.redaction, extra=hook_redaction(config)),
            context=config.stash[RUN_CONTEXT_KEY],
            args=tuple(config.invocation_params.args),
            gates=config.stash[GATE_SETTINGS_KEY],
        )
        self.outcome: SessionOutcome | None = None

    def pytest_report_header(self) -> str:
        return f"agentv: run {self.session.run_id} -> {self.settings.describe_destination()}"

    def pytest_sessionstart(self) -> None:
        self.session.read_provenance()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.session.add_report(report)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any) -> None:
        data = getattr(node, "workeroutput", {}).get(WORKEROUTPUT_KEY)
        if isinstance(data, dict):
            self.session.merge_worker_context(data)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.session.has_tests:
            return
        self.outcome = outcome = self.session.finish()
        strict = self.settings.strict
        for problem in outcome.problems:
            try:
                warnings.warn(AgentvDeliveryWarning(problem), stacklevel=1)
            except AgentvDeliveryWarning:
                strict = True  # warnings are errors in this suite: fail it, don't crash pytest
        if not outcome.delivered and strict and session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if outcome.gate is not None and outcome.gate.failed and session.exitstatus == 0:
            session.exitstatus = EXIT_GATE_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        outcome = self.outcome
        if outcome is None:
            terminalreporter.write_line("agentv: no tests ran; nothing recorded")
            return
        for line in outcome.summary_lines():
            terminalreporter.write_line(line)

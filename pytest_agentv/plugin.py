"""The pytest plugin (entry point ``agentv``): options, fixtures and thin hooks.

Hooks hand off to :class:`~pytest_agentv.reporter.AgentvReporter`, registered only on the
process that writes (never on an xdist worker). Workers attach each test's records to its
teardown report, which xdist carries to the controller, and send the ``agentv_run`` values in
``workeroutput``.

Loading it costs little: recording is opt-in, so the formats (pydantic), the redactor and git
load only once a test records something.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Sequence
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_agentv import hookspecs
from pytest_agentv.cases import case_key, item_case, node_base
from pytest_agentv.exceptions import AgentvWarning
from pytest_agentv.gate_settings import GateSettings, gate_settings
from pytest_agentv.repeats import repeat_id
from pytest_agentv.reporter import WORKEROUTPUT_KEY, AgentvReporter
from pytest_agentv.reports import REPORT_ATTR, SUBTEST_ATTR
from pytest_agentv.run_context import RunContext
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
    from pytest_agentv.recorder import EvalRecorder
    from pytest_agentv.releases.models import AgentRelease

__all__ = ["RUN_CONTEXT_KEY", "SETTINGS_KEY", "AgentvReporter", "is_xdist_worker"]

SETTINGS_KEY = pytest.StashKey[Settings]()
GATE_SETTINGS_KEY = pytest.StashKey[GateSettings]()
RUN_CONTEXT_KEY = pytest.StashKey[RunContext]()
RECORDER_KEY = pytest.StashKey["EvalRecorder"]()
REPORTER_KEY = pytest.StashKey[AgentvReporter]()
#: set while the test function runs: a report made then is a subtest's
IN_CALL_KEY = pytest.StashKey[bool]()
#: set while a ``subtests.test()`` block runs
SUBTEST_OPEN_KEY = pytest.StashKey[bool]()
SUBTEST_PARAMS_KEY = pytest.StashKey[dict[str, Any]]()
EVAL_MARKER = "agentv"
EVAL_FIXTURES = frozenset({"agentv", "agentv_run"})
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
        parser.addini(spec.ini, f"{spec.ini_help or spec.help} (pytest-agentv)", default=None)


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
    config.addinivalue_line(
        "markers", f"{EVAL_MARKER}: an eval test; a session that runs one records a run"
    )
    gates = _gates(settings)
    config.stash[SETTINGS_KEY] = settings
    config.stash[GATE_SETTINGS_KEY] = gates
    config.stash[RUN_CONTEXT_KEY] = RunContext(model=settings.model, eval_file=settings.eval_file)
    reporter = None
    if settings.record and not is_xdist_worker(config) and not config.option.collectonly:
        reporter = AgentvReporter(config, settings, config.stash[RUN_CONTEXT_KEY], gates)
        config.stash[REPORTER_KEY] = reporter
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
    if not settings.record and gates.spec.enabled:  # GateSpec loads the formats: only then
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


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def agentv(request: pytest.FixtureRequest) -> Generator[EvalRecorder]:
    """This test's recorder: ``score()``, ``check()``, ``message()``, ``usage()``,
    ``inputs()``/``outputs()``/``reference()``, ``metadata`` and ``case_id``."""
    node, instance = request.node, request.instance

    def in_subtest() -> bool:
        # unittest's subTest() sets _subtest for the block; subtests.test() is tracked here
        return node.stash.get(SUBTEST_OPEN_KEY, False) or (
            getattr(instance, "_subtest", None) is not None
        )

    from pytest_agentv.recorder import EvalRecorder

    reporter = request.config.stash.get(REPORTER_KEY, None)
    sink = reporter.sink(node.nodeid) if reporter is not None else None
    recorder = EvalRecorder(node.nodeid, in_subtest, sink)
    node.stash[RECORDER_KEY] = recorder
    yield recorder
    recorder.check_metadata()


@pytest.fixture
def agentv_repeat(request: pytest.FixtureRequest) -> int:
    """Which repeat of ``--agentv-repeat N`` this is, from 0 (0 when tests are not repeated)."""
    return int(getattr(request, "param", 0))


@pytest.fixture(scope="session")
def agentv_run(pytestconfig: pytest.Config) -> RunContext:
    """The run as a whole: set ``model``, ``eval_file``, ``tags``, ``metadata`` and ``params``."""
    context = pytestconfig.stash[RUN_CONTEXT_KEY]
    context.used = True
    return context


class _TrackedSubtest:
    """A ``subtests.test()`` block that tells the recorder when it is open."""

    def __init__(self, block: Any, node: pytest.Item) -> None:
        self.block, self.node = block, node

    def __enter__(self) -> Any:
        entered = self.block.__enter__()
        self.node.stash[SUBTEST_OPEN_KEY] = True
        self.node.stash[SUBTEST_PARAMS_KEY] = dict(getattr(self.block, "kwargs", {}))
        return entered

    def __exit__(self, *exc_info: Any) -> Any:
        # the subtest's report is made inside __exit__, while the block still counts as open
        try:
            return self.block.__exit__(*exc_info)
        finally:
            self.node.stash[SUBTEST_OPEN_KEY] = False


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> Generator[None, Any, Any]:
    value = yield
    test = getattr(value, "test", None)
    if fixturedef.argname == "subtests" and callable(test):
        node = request.node

        def tracked(*args: Any, **kwargs: Any) -> _TrackedSubtest:
            return _TrackedSubtest(test(*args, **kwargs), node)

        value.test = tracked
    return value


@pytest.fixture(scope="session")
def agentv_release(pytestconfig: pytest.Config) -> AgentRelease:
    """The release under evaluation (``--agentv-release``): build the agent under test from it."""
    from pytest_agentv.releases.pytest_gate import release_for

    return release_for(pytestconfig)


# -- hooks on every process --------------------------------------------------------------------


def is_eval(item: pytest.Item) -> bool:
    """True for a test that uses ``agentv``/``agentv_run`` or carries ``@pytest.mark.agentv``."""
    names = getattr(item, "fixturenames", ())
    return (
        RECORDER_KEY in item.stash
        or not EVAL_FIXTURES.isdisjoint(names)
        or item.get_closest_marker(EVAL_MARKER) is not None
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None]:
    item.stash[IN_CALL_KEY] = True
    try:
        yield
    finally:
        item.stash[IN_CALL_KEY] = False
    recorder = item.stash.get(RECORDER_KEY, None)
    if recorder is not None and item.config.stash[SETTINGS_KEY].fail_on_threshold:
        missed = recorder.missed_thresholds()
        if missed:
            from pytest_agentv.recorder import ThresholdMissed

            raise ThresholdMissed(
                "\n".join([*missed, "(--agentv-fail-on-threshold fails a test for these)"])
            )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    recorder = item.stash.get(RECORDER_KEY, None)
    if call.when == "call" and item.stash.get(IN_CALL_KEY, False):
        # made while the test still runs: a subtest's report (unittest subTest, subtests)
        if recorder is not None:
            from pytest_agentv.wire import SubtestWire

            subtest = SubtestWire(scores=recorder.end_subtest(), params=_subtest_params(item))
            setattr(report, SUBTEST_ATTR, subtest.model_dump(mode="json"))
    elif call.when == "teardown" and item.config.stash[SETTINGS_KEY].record:
        case_id, inputs = item_case(item)
        wire = recorder.to_wire() if recorder is not None else {}
        wire["eval"] = is_eval(item)
        override = wire.get("case_id")
        if override:  # agentv.case_id replaces the parameter part
            case_id = case_key(node_base(item.nodeid, _callspec_id(item)), [override])
        wire["case_id"] = case_id
        if inputs:
            wire["inputs"] = {**inputs, **(wire.get("inputs") or {})}
        setattr(report, REPORT_ATTR, wire)
    return report


def _subtest_params(item: pytest.Item) -> dict[str, str]:
    unittest_subtest = getattr(getattr(item, "instance", None), "_subtest", None)
    if unittest_subtest is not None:
        params = dict(getattr(unittest_subtest, "params", {}))
    else:
        params = item.stash.get(SUBTEST_PARAMS_KEY, {})
    # repr() as pytest shows them, capped
    return {str(name): repr(value)[:240] for name, value in params.items()}


def _callspec_id(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    return getattr(callspec, "id", None)


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None and RUN_CONTEXT_KEY in config.stash:
        workeroutput[WORKEROUTPUT_KEY] = config.stash[RUN_CONTEXT_KEY].to_wire()

"""The eval gate in pytest: ``--agentv-release slug[@version]`` decides whether a release goes live.

At configure time (on the writing process) the release is read from the releases branch: the
given version, or the latest ``pending_eval`` one. The run is tagged ``release:<slug>@<version>``
(so its commit carries ``AgentV-Release``) and records the release's checksum in
``metadata.agentv_release``. xdist workers get the release from the controller through
``workerinput`` and never read the branch. After the run is stored, the quality score
(:mod:`pytest_agentv.releases.gate`) activates or rejects the release in one commit; a run that
was not delivered leaves it ``pending_eval``. The score is computed from the run's test records
as the store holds them, the same bytes ``verify`` re-checks. The session's exit status is the
gate's verdict.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import pytest

from pytest_agentv.exceptions import AgentvReleaseWarning
from pytest_agentv.models import RunMetadata, TestRecord
from pytest_agentv.releases.canonical import canonical_bytes
from pytest_agentv.releases.errors import ReleaseError
from pytest_agentv.releases.events import event_payload, run_event_command
from pytest_agentv.releases.evidence import (
    LOCAL_RESULTS,
    RUN_METADATA_KEY,
    release_ref,
    run_metadata,
)
from pytest_agentv.releases.gate import Verdict, decide
from pytest_agentv.releases.loading import load_release
from pytest_agentv.releases.models import AgentRelease, Evaluation
from pytest_agentv.releases.operations import AgentState, Plan, pending_version, plan_gate
from pytest_agentv.releases.store import Applied, ReleaseStore
from pytest_agentv.run_context import RunContext
from pytest_agentv.session import SessionOutcome
from pytest_agentv.settings import Settings
from pytest_agentv.trailers import RELEASE_TAG_PREFIX

RELEASE_KEY = pytest.StashKey[AgentRelease]()
GATE_PLUGIN_NAME = "agentv-release-gate"
WORKERINPUT_KEY = "agentv_release"


def parse_ref(value: str) -> tuple[str, int | None]:
    """``support-agent@3`` -> ``("support-agent", 3)``; ``support-agent`` -> ``(…, None)``."""
    slug, _, version = value.partition("@")
    return slug, int(version) if version else None


def release_for(config: pytest.Config) -> AgentRelease:
    """The release under evaluation (the ``agentv_release`` fixture)."""
    release = config.stash.get(RELEASE_KEY, None)
    if release is None:
        raise pytest.UsageError(
            "the agentv_release fixture needs a release to evaluate: run pytest with "
            "--agentv-release SLUG[@VERSION] (or set AGENTV_RELEASE)"
        )
    return release


def configure_gate(
    config: pytest.Config,
    settings: Settings,
    context: RunContext,
    outcome: Callable[[], SessionOutcome | None] | None,
) -> None:
    """Set up the gate for ``settings.release``; ``outcome`` is None where nothing is written
    (an xdist worker, ``--collect-only``, ``--agentv-no-record``)."""
    assert settings.release is not None
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        data = workerinput.get(WORKERINPUT_KEY)
        if isinstance(data, str):
            config.stash[RELEASE_KEY] = load_release(data.encode("utf-8"), "workerinput")
        return
    slug, version = parse_ref(settings.release)
    try:
        store = ReleaseStore.for_settings(settings)
        store.refresh()
        release = pending_version(store.state(slug), version)
    except ReleaseError as exc:
        message = f"pytest-agentv: --agentv-release {settings.release}: {exc}"
        raise pytest.UsageError(message) from None
    config.stash[RELEASE_KEY] = release
    if outcome is None:
        if not settings.record and not config.option.collectonly:
            raise pytest.UsageError(
                "pytest-agentv: --agentv-release needs the run recorded (the gate's evidence); "
                "drop --agentv-no-record"
            )
        return
    context.metadata[RUN_METADATA_KEY] = run_metadata(release)
    context.tags.append(f"{RELEASE_TAG_PREFIX}{release_ref(release)}")
    gate = ReleaseGate(settings, store, release, outcome, config.hook.pytest_agentv_release_event)
    config.pluginmanager.register(gate, GATE_PLUGIN_NAME)


def unconfigure_gate(config: pytest.Config) -> None:
    gate = config.pluginmanager.get_plugin(GATE_PLUGIN_NAME)
    if gate is not None:
        config.pluginmanager.unregister(gate, GATE_PLUGIN_NAME)


@dataclass
class GateResult:
    """What the gate did, for the terminal summary and the exit status."""

    lines: list[str]
    passed: bool | None  # None: no decision (the release stays pending_eval)


class ReleaseGate:
    """Registered on the writing process when ``--agentv-release`` is given."""

    def __init__(
        self,
        settings: Settings,
        store: ReleaseStore,
        release: AgentRelease,
        outcome: Callable[[], SessionOutcome | None],
        hook: Any,
    ) -> None:
        self.settings = settings
        self.store = store
        self.release = release
        self.outcome = outcome
        self.hook = hook
        self.result: GateResult | None = None

    def pytest_report_header(self) -> str:
        release = self.release
        return (
            f"agentv: evaluating release {release_ref(release)} "
            f"(min_quality_score {release.governance.min_quality_score:g}) "
            f"from {self.store.describe()}"
        )

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[WORKERINPUT_KEY] = canonical_bytes(self.release).decode("utf-8")

    @pytest.hookimpl(wrapper=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Generator[None]:
        yield  # the run is stored by then (the recording reporter's sessionfinish)
        self.result = result = self.decide(self.outcome())
        for line in result.lines:
            if result.passed is None:
                _warn(line)
        if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            ok = result.passed is True
            session.exitstatus = pytest.ExitCode.OK if ok else pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.result is not None:
            for line in self.result.lines:
                terminalreporter.write_line(f"agentv: {line}")

    # --- the decision --------------------------------------------------------------------------

    def decide(self, outcome: SessionOutcome | None) -> GateResult:
        ref = release_ref(self.release)
        if outcome is None:
            return GateResult([f"no tests ran: release {ref} stays pending_eval"], None)
        if not outcome.delivered or outcome.summary is None:
            return GateResult(
                [
                    f"run {outcome.run_id} was not delivered: release {ref} stays pending_eval "
                    "(a release is never decided on evidence that is not stored); deliver the "
                    "run with `agentv-results sync` and evaluate again"
                ],
                None,
            )
        try:
            tests = stored_tests(self.settings, outcome.run_id)
        except Exception as exc:  # the run is stored, but not readable: decide nothing
            return GateResult(
                [
                    f"run {outcome.run_id} could not be read back from the results store "
                    f"({exc}): release {ref} stays pending_eval; evaluate it again"
                ],
                None,
            )
        verdict = decide(
            tests, self.settings.quality_metric, self.release.governance.min_quality_score
        )
        evaluation = Evaluation(
            run_id=outcome.run_id,
            score=verdict.score,
            threshold=verdict.threshold,
            metric=verdict.metric,
            results_branch=self.settings.branch
            if self.settings.backend == "git"
            else LOCAL_RESULTS,
            release_checksum=self.release.metadata.checksum,
        )
        try:
            applied = self.store.apply(self.release.slug, self._planner(evaluation, verdict))
        except ReleaseError as exc:
            return GateResult([f"release {ref} was not updated: {exc}"], None)
        assert isinstance(applied, Applied)
        return GateResult(self._report(applied, verdict), verdict.passed)

    def _planner(self, evaluation: Evaluation, verdict: Verdict) -> Callable[[AgentState], Plan]:
        release = self.release

        def plan(state: AgentState) -> Plan:
            now = state.get(release.version)
            if now.metadata.checksum != release.metadata.checksum:
                raise ReleaseError(
                    f"{release_ref(release)} changed on the branch during the run "
                    f"(now {now.status}, checksum {now.metadata.checksum}); evaluate it again"
                )
            return plan_gate(state, release.version, evaluation, verdict.passed, verdict.reason)

        return plan

    def _report(self, applied: Applied, verdict: Verdict) -> list[str]:
        ref = release_ref(self.release)
        status = "ACTIVATED" if verdict.passed else "REJECTED"
        lines = [
            f"release {ref} {status}: {verdict.reason} ({verdict.metric}); "
            f"commit {applied.commit[:12]} on {self.store.describe()}"
        ]
        lines += [f"WARNING: {problem}" for problem in applied.problems]
        if self.settings.backend != "git":
            lines.append(
                "note: the run is in the local directory only, so `agentv-release verify` "
                "elsewhere cannot check this verdict; record gate runs to git (--agentv-git)"
            )
        payload = event_payload(applied, self.store.branch)
        try:
            self.hook(event=payload)
        except Exception as exc:
            lines.append(f"WARNING: a pytest_agentv_release_event hook failed: {exc!r}")
        command = self.settings.releases_on_event
        failure = run_event_command(command, payload) if command else None
        if failure:
            lines.append(f"WARNING: {failure}")
        return lines


def stored_tests(settings: Settings, run_id: str) -> list[TestRecord]:
    """The test records of run ``run_id`` as the results store holds them: the gate decides on
    the evidence ``agentv-release verify`` re-checks, byte for byte."""
    from pytest_agentv.store import open_store

    data = open_store(settings).read(run_id, "metadata.json")
    return RunMetadata.model_validate_json(data).tests


def _warn(message: str) -> None:
    # where warnings are errors, the summary line and the exit status still say it
    with contextlib.suppress(AgentvReleaseWarning):
        warnings.warn(AgentvReleaseWarning(message), stacklevel=1)

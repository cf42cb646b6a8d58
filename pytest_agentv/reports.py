"""Folding pytest's reports into one record per test (on the process that writes the run).

It is fed reports, never items, so it sees exactly what xdist workers send.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # the models load once a test records something (not for a plain suite)
    from pytest_agentv.models import Outcome, SubtestRecord
    from pytest_agentv.wire import TestWire

#: Attribute on a test's teardown report carrying its recorder snapshot (xdist serialises it).
REPORT_ATTR = "agentv_record"
#: Attribute on a subtest's report carrying the scores recorded inside it.
SUBTEST_ATTR = "agentv_subtest"
FAILURE_TEXT_LIMIT = 2000


@dataclass
class TestState:
    """One test's outcome as its reports tell it, and its recorder's wire data."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    nodeid: str
    outcome: Outcome = "passed"
    duration: float = 0.0
    failure: str | None = None
    reason: str | None = None
    wire: dict[str, Any] | None = None
    #: ``wire`` validated, its messages taken into the transcript (set by the session)
    record: TestWire | None = None
    #: why the record could not be taken (it is then stored bare)
    unstorable: str | None = None
    attempts: int = 1
    #: the attempt (pytest-rerunfailures' number) that is run again: its teardown is no record
    retried: int | None = None
    subtests: list[SubtestRecord] = field(default_factory=list)


def collection_error(state: TestState, report: pytest.CollectReport) -> None:
    """A collection error is a test that could not run: it is in the run as an error."""
    state.outcome = "error"
    state.failure = f"collection failed: {failure_text(report)}"[:FAILURE_TEXT_LIMIT]


def fold_report(state: TestState, report: pytest.TestReport) -> str:
    """Fold one phase's report into ``state``; returns what it was: ``"rerun"`` (the attempt
    is taken back), ``"record"`` (the teardown, with the recorder's wire in ``state.wire``) or
    ``""``."""
    state.duration += report.duration
    # pytest-rerunfailures numbers the attempts (from 0) and marks all but the last "rerun"
    attempt = int(getattr(report, "rerun", 0) or 0)
    state.attempts = max(state.attempts, attempt + 1)
    if report.outcome == "rerun":  # type: ignore[comparison-overlap]
        state.outcome, state.failure, state.reason, state.subtests = "passed", None, None, []
        state.wire, state.record, state.unstorable = None, None, None
        state.retried = attempt
        return "rerun"
    context = getattr(report, "context", None)
    if report.when == "call" and context is not None and hasattr(context, "kwargs"):
        state.subtests.append(_subtest_record(report, context))
        return ""
    wasxfail = hasattr(report, "wasxfail")
    if report.when == "setup":
        if report.failed:
            state.outcome, state.failure = "error", failure_text(report)
        elif report.skipped:
            state.outcome = "xfailed" if wasxfail else "skipped"
            state.reason = _skip_reason(report)
    elif report.when == "call":
        if report.passed:
            state.outcome = "xpassed" if wasxfail else "passed"
            if wasxfail:
                state.reason = str(report.wasxfail) or None
        elif report.failed:
            state.outcome, state.failure = "failed", failure_text(report)
        else:
            state.outcome = "xfailed" if wasxfail else "skipped"
            state.reason = _skip_reason(report)
    else:  # teardown
        if report.failed and state.outcome not in ("failed", "error"):
            state.outcome, state.failure = "error", failure_text(report)
        wire = getattr(report, REPORT_ATTR, None)
        if state.retried == attempt:  # the teardown of an attempt that is run again
            state.retried = None
        elif isinstance(wire, dict):
            state.wire = wire
            return "record"
    return ""


def _subtest_record(report: pytest.TestReport, context: Any) -> SubtestRecord:
    from pytest_agentv.models import SubtestRecord
    from pytest_agentv.wire import SubtestWire

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
        failure=failure_text(report) if report.failed else None,
        scores=dict(wire.scores),
    )


def failure_text(report: pytest.TestReport | pytest.CollectReport) -> str:
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

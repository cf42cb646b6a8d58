"""Hooks a conftest.py or plugin can implement to extend pytest-agentv."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pytest_agentv.models import TestRecord


@pytest.hookspec
def pytest_agentv_redact(text: str, context: str) -> str | None:
    """Redact more than the built-in rules do.

    Called for every string the plugin is about to write, after the built-in rules, with the
    text as the previous implementation left it. ``context`` says where the text comes from
    (``transcript``, ``metadata.tests``, ``args`` ...). Return the new text, or None to keep it.
    """


@pytest.hookspec
def pytest_agentv_run_metrics(tests: list[TestRecord]) -> dict[str, float] | None:
    """Compute run-level metrics over every test of the run (accuracy, F1 ...).

    Called once at the end of a recording session, on the process that writes the run (the xdist
    controller), with every test's record: ``outcome``, ``scores``, ``inputs``, ``outputs``,
    ``reference``, ``metadata``. Return ``{name: number}`` (or None); the results of every
    implementation are merged and stored as the run's ``metrics``. A name given twice, or a value
    that is not a finite number, is an error naming the metric.
    """


@pytest.hookspec
def pytest_agentv_release_event(event: dict[str, Any]) -> None:
    """React to a release event committed by the eval gate (``--agentv-release``).

    Called on the writing process once the gate has activated or rejected the release, with
    the event as JSON-able data (docs/releases.md, "Events": ``event``, ``agent``, ``version``,
    ``status``, ``checksum``, ``commit``, ``branch``, ``pushed``, ``eval_run`` ...), e.g. to
    patch the agent's Kubernetes resource or notify a channel. An exception is reported as a
    warning; the event is already committed.
    """

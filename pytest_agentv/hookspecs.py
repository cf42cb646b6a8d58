"""Hooks a conftest.py or plugin can implement to extend pytest-agentv."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.hookspec
def pytest_agentv_redact(text: str, context: str) -> str | None:
    """Redact more than the built-in rules do.

    Called for every string the plugin is about to write, after the built-in rules, with the
    text as the previous implementation left it. ``context`` says where the text comes from
    (``transcript``, ``metadata.tests``, ``args`` ...). Return the new text, or None to keep it.
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

"""Hooks a conftest.py or plugin can implement to extend pytest-agentv."""

from __future__ import annotations

import pytest


@pytest.hookspec
def pytest_agentv_redact(text: str, context: str) -> str | None:
    """Redact more than the built-in rules do.

    Called for every string the plugin is about to write, after the built-in rules, with the
    text as the previous implementation left it. ``context`` says where the text comes from
    (``transcript``, ``metadata.tests``, ``args`` ...). Return the new text, or None to keep it.
    """

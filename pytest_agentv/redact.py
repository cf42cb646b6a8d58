"""Redaction: every byte the plugin writes passes through :class:`Redactor` first.

This is the seam; the full rule set lives here too (see docs/redaction.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

JsonValue = Any
#: An extra redaction step (the ``pytest_agentv_redact`` hook): ``(text, context) -> text``.
ExtraRedaction = Callable[[str, str], str]


class NamedPattern(BaseModel):
    """A user-supplied rule from ``redaction.patterns`` in ``.agentv/config.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1)
    regex: str


class RedactionConfig(BaseModel):
    """The ``redaction:`` section of ``.agentv/config.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = True
    patterns: tuple[NamedPattern, ...] = ()
    allow: tuple[str, ...] = ()
    emails: bool = False


_BASIC_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("openai-key", re.compile(r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_\-]{20,}")),
    ("github-token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}")),
    ("aws-access-key-id", re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")),
)


class Redactor:
    """Replaces secrets in text and in JSON-like data with ``[REDACTED:<rule-id>]``."""

    def __init__(self, config: RedactionConfig | None = None, extra: ExtraRedaction | None = None):
        self.config = config or RedactionConfig()
        self._extra = extra

    def text(self, value: str, context: str = "") -> str:
        """Return ``value`` with every secret replaced."""
        if not self.config.enabled:
            return value
        for rule_id, pattern in _BASIC_RULES:
            value = pattern.sub(f"[REDACTED:{rule_id}]", value)
        if self._extra is not None:
            value = self._extra(value, context)
        return value

    def json(self, value: JsonValue, context: str = "") -> JsonValue:
        """Return a copy of JSON-like ``value`` with string values redacted (keys kept)."""
        if isinstance(value, str):
            return self.text(value, context)
        if isinstance(value, dict):
            return {k: self.json(v, f"{context}.{k}" if context else str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.json(v, context) for v in value]
        return value

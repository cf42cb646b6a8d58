"""Errors and warnings users may catch or filter."""

from __future__ import annotations

import pytest


class AgentvWarning(pytest.PytestWarning):
    """Base class of every warning pytest-agentv emits."""


class AgentvDeliveryWarning(AgentvWarning):
    """A run was kept locally but could not be delivered where the settings say."""


class AgentvRecordError(ValueError):
    """An eval test recorded something that cannot be stored (raised in that test)."""

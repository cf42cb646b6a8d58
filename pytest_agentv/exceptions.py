"""Errors and warnings users may catch or filter: every warning class of the plugin lives here.

One module, importing nothing of the project, so a test suite that starts pytest sessions in its
own process can import it once and keep these classes the same object in every session
(pytest caches the class a ``-W``/``filterwarnings`` entry names; see conftest.py).
"""

from __future__ import annotations

import pytest


class AgentvWarning(pytest.PytestWarning):
    """Base class of every warning pytest-agentv emits."""


class AgentvDeliveryWarning(AgentvWarning):
    """A run was kept locally but could not be delivered where the settings say."""


class AgentvReleaseWarning(AgentvWarning):
    """The eval gate could not record its decision (the release stays as it was)."""


class AgentvRecordError(ValueError):
    """An eval test recorded something that cannot be stored (raised in that test)."""

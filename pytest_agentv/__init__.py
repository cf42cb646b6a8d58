"""pytest-agentv: record LLM/agent eval runs from pytest to git.

Public names load on first use, so ``agentv-results`` does not pay for pytest or pydantic
imports it does not need.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_agentv.exceptions import (
        AgentvDeliveryWarning,
        AgentvRecordError,
        AgentvReleaseWarning,
        AgentvWarning,
    )
    from pytest_agentv.recorder import EvalRecorder
    from pytest_agentv.releases.models import AgentRelease
    from pytest_agentv.run_context import RunContext

__all__ = [
    "AgentRelease",
    "AgentvDeliveryWarning",
    "AgentvRecordError",
    "AgentvReleaseWarning",
    "AgentvWarning",
    "EvalRecorder",
    "RunContext",
    "__version__",
]

_LAZY = {
    "AgentRelease": "pytest_agentv.releases.models",
    "AgentvDeliveryWarning": "pytest_agentv.exceptions",
    "AgentvRecordError": "pytest_agentv.exceptions",
    "AgentvReleaseWarning": "pytest_agentv.exceptions",
    "AgentvWarning": "pytest_agentv.exceptions",
    "EvalRecorder": "pytest_agentv.recorder",
    "RunContext": "pytest_agentv.run_context",
}


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("pytest-agentv")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            return "0.0.0"
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'pytest_agentv' has no attribute {name!r}")

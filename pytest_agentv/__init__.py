"""pytest-agentv: record LLM/agent eval runs from pytest to git."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from pytest_agentv.exceptions import AgentvDeliveryWarning, AgentvRecordError, AgentvWarning
from pytest_agentv.recorder import EvalRecorder, RunContext

try:
    __version__ = version("pytest-agentv")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "AgentvDeliveryWarning",
    "AgentvRecordError",
    "AgentvWarning",
    "EvalRecorder",
    "RunContext",
    "__version__",
]

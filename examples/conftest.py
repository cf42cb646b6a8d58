"""Run-wide settings for the example eval suite."""

from __future__ import annotations

import pytest
from agent import CalculatorAgent

from pytest_agentv import RunContext


@pytest.fixture(scope="session")
def calculator() -> CalculatorAgent:
    return CalculatorAgent()


@pytest.fixture(scope="session", autouse=True)
def _describe_run(agentv_run: RunContext, calculator: CalculatorAgent) -> None:
    agentv_run.model = calculator.model
    agentv_run.tags.append("example")
    agentv_run.metadata["dataset"] = "arithmetic-v1"

"""The checks CI relies on run inside the suite, so a newcomer's ``python -m pytest`` sees them too.

``ruff format --check``, ``ruff check`` and ``mypy --strict`` (configured in pyproject.toml) over
the repository; a failure prints what the tool said.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["ruff", "format", "--check", "."], id="ruff-format"),
        pytest.param(["ruff", "check", "."], id="ruff-check"),
        pytest.param(["mypy", "pytest_agentv"], id="mypy-strict"),
    ],
)
def test_tool_is_clean(command: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"`{' '.join(command)}` failed:\n{done.stdout}{done.stderr}"

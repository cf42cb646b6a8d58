"""Project-wide test configuration: the git server fixtures live in tests/git_fixtures.py."""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["tests.git_fixtures"]


@pytest.fixture(autouse=True)
def _isolated_agentv_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see no AGENTV_* variables from the developer's shell, and no user git config."""
    for name in list(os.environ):
        if name.startswith("AGENTV_"):
            monkeypatch.delenv(name)

"""Project-wide test configuration: the git server fixtures live in tests/git_fixtures.py."""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["tests.git_fixtures"]


@pytest.fixture(autouse=True)
def _isolated_agentv_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see no AGENTV_* variables from the developer's shell.

    Nor the PYTEST_XDIST_* variables of this suite's own xdist worker: pytester sessions would
    believe they are xdist workers too.
    """
    for name in list(os.environ):
        if name.startswith(("AGENTV_", "PYTEST_XDIST_")):
            monkeypatch.delenv(name)

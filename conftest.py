"""Project-wide test configuration: the git server fixtures live in tests/git_fixtures.py."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

pytest_plugins = ["tests.git_fixtures"]

# CI explores the same examples every run, so a red build always means a change broke something;
# developers' runs stay random and keep finding new examples (a seed reproduces one).
# No per-example deadline anywhere: on a shared, loaded machine one slow example is noise, not a
# failure of the property being tested (seen: a 200 ms deadline missed at load 20).
settings.register_profile("default", deadline=None)
settings.register_profile("ci", derandomize=True, database=None, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "default")


@pytest.fixture(autouse=True)
def _isolated_agentv_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see no AGENTV_* variables from the developer's shell.

    Nor the PYTEST_XDIST_* variables of this suite's own xdist worker: pytester sessions would
    believe they are xdist workers too.
    """
    for name in list(os.environ):
        if name.startswith(("AGENTV_", "PYTEST_XDIST_")):
            monkeypatch.delenv(name)

"""Project-wide test configuration: the git server fixtures live in tests/git_fixtures.py."""

from __future__ import annotations

import importlib.metadata
import os

import pytest
from hypothesis import settings

# The suite runs with -p no:agentv, so each in-process (pytester) session imports the plugin anew
# and pytester drops those modules when the session ends. pytest caches the class a
# `-W ACTION::pytest_agentv.AgentvDeliveryWarning` names (parse_warning_filter is lru_cached), so
# a later session's filter would name the class of an earlier import and miss the warning its
# plugin raises, which the suite's own `error` filter then turns into an exception. Imported here,
# once, the warning classes are the same object in every session.
import pytest_agentv.exceptions  # noqa: F401

pytest_plugins = ["tests.git_fixtures"]

# CI explores the same examples every run, so a red build always means a change broke something;
# developers' runs stay random and keep finding new examples (a seed reproduces one).
# No per-example deadline anywhere: on a shared, loaded machine one slow example is noise, not a
# failure of the property being tested (seen: a 200 ms deadline missed at load 20).
settings.register_profile("default", deadline=None)
settings.register_profile("ci", derandomize=True, database=None, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "default")


# The pytest plugins the suite's own sessions may load: ours and the test extra's.
_SUITE_PLUGIN_DISTRIBUTIONS = frozenset(
    {"pytest-agentv", "pytest-xdist", "pytest-rerunfailures", "pytest-recording", "hypothesis"}
)


def _foreign_plugins_blocked() -> str:
    """`-p no:NAME` for every other pytest plugin installed beside the project.

    The sessions the tests start load plugins from entry points. An interpreter that also holds,
    say, pytest-benchmark (it warns under xdist, and warnings are errors in the outer session)
    would otherwise change what those sessions print and how they end.
    """
    names = sorted(
        entry_point.name
        for distribution in importlib.metadata.distributions()
        if distribution.metadata["Name"] not in _SUITE_PLUGIN_DISTRIBUTIONS
        for entry_point in distribution.entry_points
        if entry_point.group == "pytest11"
    )
    return " ".join(f"-p no:{name}" for name in names)


_FOREIGN_PLUGINS_BLOCKED = _foreign_plugins_blocked()


def _block_foreign_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    if _FOREIGN_PLUGINS_BLOCKED:
        monkeypatch.setenv("PYTEST_ADDOPTS", _FOREIGN_PLUGINS_BLOCKED)
    else:
        monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)


@pytest.fixture(autouse=True)
def _isolated_agentv_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see no AGENTV_* variables from the developer's shell.

    Nor the PYTEST_XDIST_* variables of this suite's own xdist worker: pytester sessions would
    believe they are xdist workers too. Sessions started in a subprocess load no foreign plugin.
    """
    for name in list(os.environ):
        if name.startswith(("AGENTV_", "PYTEST_XDIST_")):
            monkeypatch.delenv(name)
    _block_foreign_plugins(monkeypatch)


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """pytest's own fixture, whose sessions load no foreign plugin either.

    pytester clears PYTEST_ADDOPTS when it starts, so it is set again here, after it.
    """
    _block_foreign_plugins(monkeypatch)
    return pytester

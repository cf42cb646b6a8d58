"""Release files from anyone: random bytes and mutated artifacts load or fail with one clear error.

Files on a releases branch come from other people's pushes. Whatever they hold, loading must end
in a model or an :class:`ArtifactError` naming the file (never a traceback, never a silent
success with a value the schema forbids), and whatever loads must survive its canonical round
trip unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_agentv.releases.canonical import canonical_bytes, with_checksum
from pytest_agentv.releases.errors import ArtifactError
from pytest_agentv.releases.loading import load_current, load_draft, load_release
from pytest_agentv.releases.models import AgentRelease
from tests.release_helpers import DRAFT_YAML, release_data

FILE = "agents/support-agent/releases/v1.yaml"
# the draft's lines shuffled, with YAML features release files refuse or that tend to break parsers
_DRAFT_LINES = [
    *DRAFT_YAML.splitlines(),
    "x: *anchor",
    "y: &anchor [1, 2]",
    "z: !!python/object/apply:os.system [true]",
    "metadata: {",
    "  - [",
    "\tname: tab",
    "name: name",
    "%YAML 1.1",
    "---",
]
LOADERS: list[Callable[[bytes, str], object]] = [load_release, load_draft, load_current]

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def _load_or_clean_error(loader: Callable[[bytes, str], object], data: bytes) -> object | None:
    """The model, or None after checking the error is the documented one and renders."""
    try:
        return loader(data, FILE)
    except ArtifactError as error:
        assert error.problems, "an artifact error names at least one problem"
        message = str(error)
        assert all(line.startswith(f"{FILE}: ") for line in message.splitlines() if line)
        return None


def _stored(data: dict[str, Any]) -> bytes:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode()


def _valid() -> dict[str, Any]:
    data = release_data()
    data["metadata"]["status"] = "pending_eval"
    return data


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes_load_or_give_one_clean_error(data: bytes) -> None:
    for loader in LOADERS:
        _load_or_clean_error(loader, data)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_DRAFT_LINES), max_size=40))
def test_yaml_shaped_text_loads_or_gives_one_clean_error(lines: list[str]) -> None:
    for loader in LOADERS:
        _load_or_clean_error(loader, "\n".join(lines).encode())


@st.composite
def _mutated_release(draw: st.DrawFn) -> dict[str, Any]:
    """A valid stored release with one to three fields removed, replaced or added."""
    data = _valid()
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        node: Any = data
        while isinstance(node, dict) and node and draw(st.booleans()):
            child = node[draw(st.sampled_from(sorted(node)))]
            if not isinstance(child, dict) or not child:
                break
            node = child
        if not isinstance(node, dict):
            continue
        action = draw(st.sampled_from(["delete", "replace", "add"]))
        if action == "add" or not node:
            node[draw(st.text(min_size=1, max_size=12))] = draw(_values)
        else:
            key = draw(st.sampled_from(sorted(node)))
            if action == "delete":
                del node[key]
            else:
                node[key] = draw(_values)
    return data


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated_release())
def test_a_mutated_release_loads_valid_or_gives_one_clean_error(data: dict[str, Any]) -> None:
    loaded = _load_or_clean_error(load_release, _stored(data))
    if loaded is None:
        return
    assert isinstance(loaded, AgentRelease)
    assert 0 <= loaded.governance.min_quality_score <= 100
    canonical = canonical_bytes(with_checksum(loaded))
    again = load_release(canonical, FILE)
    assert canonical_bytes(again) == canonical


def test_the_fuzzed_loader_does_refuse_a_mutation() -> None:
    """The mutation strategy reaches real schema errors, so the property above is not vacuous."""
    data = _valid()
    assert isinstance(_load_or_clean_error(load_release, _stored(data)), AgentRelease)
    data["governance"]["min_quality_score"] = 101
    assert _load_or_clean_error(load_release, _stored(data)) is None
    data = _valid()
    data["agent"]["model"]["temperature"] = 0.2
    assert _load_or_clean_error(load_release, _stored(data)) is None

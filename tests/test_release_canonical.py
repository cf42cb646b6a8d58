"""The canonical form: deterministic, round-trips through YAML, and checksums ignore input style."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

from pytest_agentv.releases.canonical import (
    canonical_bytes,
    compute_checksum,
    config_digest,
    with_checksum,
)
from pytest_agentv.releases.loading import load_release, parse_yaml
from pytest_agentv.serial import dump_yaml
from tests.release_helpers import make_release, release_data


def test_the_documented_layout_of_a_release_file() -> None:
    text = canonical_bytes(make_release()).decode()
    assert text.startswith('apiVersion: "agents.recif.dev/v1"\nkind: "AgentRelease"\nmetadata:\n')
    assert (
        "  system_prompt: |\n    You are the support agent of Acme.\n    Answer briefly.\n" in text
    )
    assert '  tools:\n    - "search_kb"\n    - "open_ticket"\n' in text
    assert "  skills: []\n" in text
    assert "  memory: null\n" in text
    assert "  min_quality_score: 75.0\n" in text
    assert "    limits: {}\n" in text
    assert text.endswith('  environment: "production"\n')
    assert "\r" not in text


def test_the_checksum_is_the_file_with_its_checksum_blanked_in_one_substitution() -> None:
    # the recipe docs/releases.md gives other tools: no YAML library needed
    data = canonical_bytes(make_release(4, "rejected"))
    blanked = re.sub(rb'(?m)^  checksum: ".*"$', b'  checksum: ""', data, count=1)
    assert blanked != data
    assert (
        "sha256:" + hashlib.sha256(blanked).hexdigest()
        == make_release(4, "rejected").metadata.checksum
    )


def test_a_status_change_changes_the_checksum_and_with_checksum_makes_it_valid_again() -> None:
    release = make_release()
    metadata = release.metadata.model_copy(update={"status": "active"})
    edited = release.model_copy(update={"metadata": metadata})
    assert compute_checksum(edited) != edited.metadata.checksum
    fixed = with_checksum(edited)
    assert fixed.metadata.checksum == compute_checksum(fixed)
    assert fixed.metadata.status == "active"


def test_the_config_digest_ignores_metadata_and_nothing_else() -> None:
    one, two = make_release(1), make_release(2, "active")
    assert config_digest(one) == config_digest(two)
    three = make_release(3, runtime={"image": "ghcr.io/acme/support-agent:1.0.0", "replicas": 3})
    assert config_digest(three) != config_digest(one)


def test_free_form_maps_are_sorted_and_quantities_are_strings() -> None:
    runtime = {"image": "x", "resources": {"requests": {"memory": "1Gi", "cpu": 1}}}
    text = canonical_bytes(make_release(runtime=runtime)).decode()
    assert '    requests:\n      cpu: "1"\n      memory: "1Gi"\n' in text


def test_strings_yaml_would_misread_are_quoted_or_escaped() -> None:
    text = dump_yaml(
        {
            "on": "yes",
            "null": None,
            "1a": 1.5,
            "k": "line\u2028sep\x85nel\x7f",
            "big": 1e20,
            "tiny": 1e-07,
            "trail": "two\nlines \n",
            "lead": " indented\nblock",
        }
    ).decode()
    assert text == (
        '"on": "yes"\n'
        '"null": null\n'
        '"1a": 1.5\n'
        'k: "line\\u2028sep\\u0085nel\\u007f"\n'
        "big: 1.0e+20\n"
        "tiny: 1.0e-07\n"
        'trail: "two\\nlines \\n"\n'
        'lead: " indented\\nblock"\n'
    )
    assert yaml.safe_load(text)["tiny"] == 1e-07


def test_a_block_without_final_newline_uses_strip_chomping() -> None:
    assert dump_yaml({"p": "a\n\nb"}) == b"p: |-\n  a\n\n  b\n"
    assert dump_yaml({"p": ["a\nb\n"]}) == b"p:\n  - |\n    a\n    b\n"
    assert dump_yaml([{"a": 1, "b": [{"c": []}]}]) == b"- a: 1\n  b:\n    - c: []\n"


# --- properties ---------------------------------------------------------------------------------

_text = st.text(st.characters(codec="utf-8"), max_size=30)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    _text,
    st.lists(st.sampled_from(["\n", " ", "\t", "a", "é", "#", ":", "-", "|"]), max_size=12).map(
        "".join
    ),
)
_json_like = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(_text, children, max_size=4)
    ),
    max_leaves=20,
)


@given(_json_like)
def test_dump_yaml_round_trips_through_safe_load_and_our_loader(value: Any) -> None:
    data = dump_yaml(value)
    assert yaml.safe_load(data) == value
    if isinstance(value, dict):
        assert parse_yaml(data, "x.yaml") == value
    assert dump_yaml(yaml.safe_load(data)) == data


def _reorder(value: Any, draw: st.DrawFn) -> Any:
    if isinstance(value, dict):
        keys = draw(st.permutations(list(value)))
        return {key: _reorder(value[key], draw) for key in keys}
    if isinstance(value, list):
        return [_reorder(item, draw) for item in value]
    return value


@st.composite
def _restyled(draw: st.DrawFn, data: dict[str, Any]) -> bytes:
    """``data`` as some other tool might write it: any key order, quoting, flow or block style."""
    reordered = _reorder(data, draw)
    return yaml.safe_dump(
        reordered,
        sort_keys=draw(st.booleans()),
        default_flow_style=draw(st.sampled_from([False, True, None])),
        default_style=draw(st.sampled_from([None, '"', "'", "|"])),
        canonical=draw(st.booleans()),
        allow_unicode=draw(st.booleans()),
        indent=draw(st.integers(2, 6)),
        width=draw(st.integers(20, 200)),
        line_break=draw(st.sampled_from(["\n", "\r\n"])),
        explicit_start=draw(st.booleans()),
    ).encode()


_RELEASE = release_data(
    runtime={
        "image": "ghcr.io/acme/a:1",
        "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "2"}},
    },
    agent={
        "model": {"provider": "anthropic", "id": "claude-x"},
        "system_prompt": "Be brief.\nCite sources: always.\n  - even here\n",
        "skills": ["a", "on", "1.5"],
        "tools": [],
        "memory": {"backend": "redis"},
    },
)
_EXPECTED = compute_checksum(load_release(dump_yaml(_RELEASE), "v1.yaml"))


@given(_restyled(_RELEASE))
def test_the_checksum_does_not_depend_on_key_order_or_yaml_style(data: bytes) -> None:
    release = load_release(data, "v1.yaml")
    assert compute_checksum(release) == _EXPECTED
    assert canonical_bytes(with_checksum(release)) == canonical_bytes(
        with_checksum(load_release(dump_yaml(_RELEASE), "v1.yaml"))
    )


@given(st.sampled_from(["runtime.replicas", "agent.model.id", "agent.system_prompt"]), _text)
def test_any_change_to_the_config_changes_the_checksum(path: str, suffix: str) -> None:
    changed = release_data()
    section, *rest = path.split(".")
    target = changed[section]
    for key in rest[:-1]:
        target = target[key]
    old = target[rest[-1]]
    target[rest[-1]] = old + 1 if isinstance(old, int) else old + suffix + "!"
    original = load_release(dump_yaml(release_data()), "v1.yaml")
    assert compute_checksum(load_release(dump_yaml(changed), "v1.yaml")) != compute_checksum(
        original
    )

"""The serialisation module: deterministic YAML (for release artifacts), trailers, timestamps."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from pytest_agentv import trailers
from pytest_agentv.serial import dump_yaml, epoch_seconds, iso, iso_from_epoch, parse_iso


def test_dump_yaml_is_block_style_in_the_given_order() -> None:
    data = {"name": "support-bot", "version": "1.4.0", "zeta": 1, "alpha": [1, {"b": None}]}
    assert dump_yaml(data) == (
        b'name: "support-bot"\nversion: "1.4.0"\nzeta: 1\nalpha:\n  - 1\n  - b: null\n'
    )


@pytest.mark.parametrize(
    "text", ["yes", "No", "on", "null", "~", "1.0", "0x1f", "1e3", "12:30", "-x", "a: b", "", " x"]
)
def test_strings_yaml_would_misread_are_quoted(text: str) -> None:
    assert yaml.safe_load(dump_yaml({"k": text})) == {"k": text}
    assert b'"' in dump_yaml({"k": text})


def test_dump_yaml_refuses_what_it_cannot_write() -> None:
    with pytest.raises(ValueError, match="no canonical form"):
        dump_yaml({"x": float("nan")})
    with pytest.raises(TypeError, match="keys must be strings"):
        dump_yaml({1: "x"})


scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.text()
    | st.floats(allow_nan=False, allow_infinity=False)
)
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(documents)
def test_dump_yaml_round_trips_through_safe_load(data: object) -> None:
    written = dump_yaml(data)
    assert yaml.safe_load(written) == data
    assert b"\r" not in written.replace(b"\\r", b"") and written.endswith(b"\n")
    assert dump_yaml(data) == written


def test_trailers_written_are_parsed_back_by_us_and_by_git() -> None:
    message = trailers.format_message("Subject", [("AgentV-Kind", "config"), ("X-Y", "a b")])
    assert trailers.parse(message) == {"AgentV-Kind": "config", "X-Y": "a b"}
    parsed = subprocess.run(
        ["git", "interpret-trailers", "--parse"],
        input=message.decode(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert parsed == "AgentV-Kind: config\nX-Y: a b\n"


def test_trailers_outside_the_fast_path_follow_git() -> None:
    message = b"Subject\n\nBody text.\n\nSigned-off-by: A <a@x>\nKey :  spaced\n folded\n"
    assert trailers.parse(message) == {"Signed-off-by": "A <a@x>", "Key": "spaced folded"}
    assert trailers.parse(b"Subject only\n") == {}
    assert trailers.parse(b"Subject\n\nnot a trailer line\n") == {}


def test_timestamps() -> None:
    moment = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
    assert iso(moment) == "2024-05-01T12:00:00.123456Z"
    assert parse_iso("2024-05-01T12:00:00.123456Z") == moment
    assert parse_iso("2024-05-01 12:00") == moment.replace(microsecond=0)
    assert epoch_seconds("2024-01-01T00:00:00Z") == 1704067200
    assert epoch_seconds("not a time") is None
    assert iso_from_epoch(1704067200) == "2024-01-01T00:00:00.000000Z"

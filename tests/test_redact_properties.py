"""Properties of the redactor: idempotent, shape-preserving on JSON, never brings a secret back."""

from __future__ import annotations

import json
import string
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_agentv.redact import Redactor

REDACTOR = Redactor()

_TOKEN_CHARS = string.ascii_letters + string.digits


def _token(prefix: str, size: int, alphabet: str = _TOKEN_CHARS) -> st.SearchStrategy[str]:
    # Characters drawn by index: st.text() over a gappy alphabet can trip hypothesis' shrinker.
    chars = st.lists(st.sampled_from(alphabet), min_size=size, max_size=size)
    return chars.map(lambda body: prefix + "".join(body))


# Real-format secrets, mixed into noise so the rules see them at every kind of boundary.
secrets = st.one_of(
    _token("ghp_", 36),
    _token("sk-proj-", 80, _TOKEN_CHARS + "_-"),
    _token("AKIA", 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"),
    _token("xoxb-1234567890-", 24),
    _token("glpat-", 20),
    _token("AIza", 35, _TOKEN_CHARS + "_-"),
    _token("postgres://app:", 12).map(lambda s: s + "@db:5432/x"),
    _token('password = "', 16).map(lambda s: s + '"'),
    _token("Authorization: Bearer ", 32),
)
noise = st.text(
    st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs", "Cc")), max_size=40
)
texts = st.lists(st.one_of(noise, secrets), max_size=8).map("".join)

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), texts)
keys = st.one_of(
    st.sampled_from(
        [
            "id",
            "call_id",
            "password",
            "api_key",
            "content",
            "text",
            "max_tokens",
            "Authorization",
            "data",
            "type",
            "token",
        ]
    ),
    st.text(max_size=10),
)
json_values = st.recursive(
    json_leaf,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)
    ),
    max_leaves=20,
)

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_shape(v) for v in value]
    return type(value).__name__


@SETTINGS
@given(texts)
def test_text_is_idempotent(text: str) -> None:
    once = REDACTOR.text(text)
    assert REDACTOR.text(once) == once


@SETTINGS
@given(json_values)
def test_json_is_idempotent_valid_and_same_shape(value: Any) -> None:
    once = REDACTOR.json(value, "transcript")
    json.dumps(once)
    assert _shape(once) == _shape(value)
    assert REDACTOR.json(once, "transcript") == once


@SETTINGS
@given(json_values)
def test_redacting_a_serialised_line_keeps_it_valid_json(value: Any) -> None:
    line = json.dumps(value)
    out = REDACTOR.text(line)
    assert _shape(json.loads(out)) == _shape(value)


@SETTINGS
@given(noise, _token("ghp_", 36), noise)
def test_never_grows_a_secret_back(before: str, token: str, after: str) -> None:
    """Cutting a secret out never joins its neighbours into a new one, and the secret itself
    is gone wherever it starts a word."""
    out = REDACTOR.text(f"{before} {token} {after}")
    if REDACTOR.text(token) != token and "ghp_" not in before + after:
        assert token not in out
        assert "ghp_" not in out or "[REDACTED" in out
    assert REDACTOR.text(out) == out

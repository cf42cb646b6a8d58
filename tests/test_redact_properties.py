"""Properties of the redactor: idempotent, shape-preserving on JSON, never brings a secret back."""

from __future__ import annotations

import json
import string
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_agentv.redact import NamedPattern, RedactionConfig, Redactor

REDACTOR = Redactor()
# A pattern that never matches: with any pattern configured, every string takes the full pass,
# so this redactor is the reference for the one-scan shortcut.
FULL_PASS = Redactor(RedactionConfig(patterns=(NamedPattern(name="never", regex=r"(?!)"),)))

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
    # keys may be renamed (one holding a secret becomes its marker); their number and order stay
    if isinstance(value, dict):
        return ("dict", [_shape(v) for v in value.values()])
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


@SETTINGS
@given(json_values)
def test_the_one_scan_shortcut_gives_what_the_full_pass_gives(value: Any) -> None:
    assert REDACTOR.json(value, "transcript") == FULL_PASS.json(value, "transcript")
    assert REDACTOR.json({"event": value}) == FULL_PASS.json({"event": value})


@SETTINGS
@given(texts)
def test_could_change_is_never_wrong_when_it_says_no(text: str) -> None:
    if not REDACTOR.could_change(text):
        assert FULL_PASS.text(text) == text
    assert REDACTOR.text(text) == FULL_PASS.text(text)


@SETTINGS
@given(json_values)
def test_the_hook_sees_the_same_strings_and_contexts_either_way(value: Any) -> None:
    def recording(calls: list[tuple[str, str]]) -> Any:
        def extra(text: str, context: str) -> str:
            calls.append((text, context))
            return text + "~"

        return extra

    fast_calls: list[tuple[str, str]] = []
    full_calls: list[tuple[str, str]] = []
    fast = Redactor(extra=recording(fast_calls))
    full = Redactor(FULL_PASS.config, extra=recording(full_calls))
    assert fast.json(value, "transcript") == full.json(value, "transcript")
    assert fast_calls == full_calls

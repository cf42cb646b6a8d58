"""Serialisation written once: timestamps, canonical JSON, JSON Lines, sha256, deterministic YAML.

Every stored byte sequence that must be reproducible (run files, checksums, release artifacts)
is made here, so two writers of the same data always produce the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

_ISO_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, to the microsecond."""
    return moment.astimezone(UTC).strftime(_ISO_FORMAT)


def now_iso() -> str:
    """The current time as :func:`iso` writes it."""
    return iso(datetime.now(UTC))


def parse_iso(value: str) -> datetime:
    """An ISO 8601 timestamp (``Z`` or an offset; naive means UTC); ``ValueError`` if not one."""
    moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace(" ", "T"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def epoch_seconds(value: str) -> int | None:
    """Whole seconds since the epoch of an ISO 8601 timestamp; None if it is not one."""
    try:
        return int(parse_iso(value).timestamp())
    except ValueError:
        return None


def iso_from_epoch(seconds: int) -> str:
    """:func:`iso` of a time in seconds since the epoch (a git commit time)."""
    return iso(datetime.fromtimestamp(seconds, UTC))


def dump_json(value: Any) -> bytes:
    """Deterministic JSON file bytes: sorted keys, UTF-8, two-space indent, final newline."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, indent=2, allow_nan=False)
    return (text + "\n").encode("utf-8")


def dump_jsonl(values: Iterable[Any]) -> bytes:
    """Deterministic JSON Lines bytes: one compact sorted object per ``\\n``-ended line.

    Characters other readers take for line ends (U+0085, U+2028, U+2029: ``str.splitlines``,
    JavaScript) are written as ``\\u`` escapes, so a message holding one stays on its line.
    """
    return "".join(f"{jsonl_text(value)}\n" for value in values).encode("utf-8")


def jsonl_text(value: Any) -> str:
    """One line of :func:`dump_jsonl`, without its ``\\n``."""
    return "".join(jsonl_chunks(value))


def jsonl_chunks(value: Any) -> Sequence[str]:
    """:func:`jsonl_text` in pieces: what writes a big line to a file without a second copy.

    ``json.dumps`` builds a line out of its escaped strings, so a 100 MB message is held three
    times (the text, its escaped form, the line); an object with a big string member is written
    here member by member instead, the same bytes.
    """
    big = isinstance(value, dict) and any(
        isinstance(item, str) and len(item) > _BIG_MEMBER for item in value.values()
    )
    if big and all(isinstance(key, str) for key in value):
        chunks = ["{"]
        for n, key in enumerate(sorted(value)):
            item = value[key]
            chunks.append(f"{',' if n else ''}{_json_string(key)}:")
            chunks.append(_json_string(item) if isinstance(item, str) else _JSONL.encode(item))
        chunks.append("}")
        return [_escape_breaks(chunk) for chunk in chunks]
    return [_escape_breaks(_JSONL.encode(value))]


def _escape_breaks(text: str) -> str:
    if not text.isascii() and any(char in text for char in _BREAK_CHARS):
        return text.translate(_LINE_BREAKS)
    return text


#: a string member longer than this is written on its own by :func:`jsonl_chunks`
_BIG_MEMBER = 1 << 20
_json_string = json.encoder.encode_basestring  # what json.dumps writes a str as (ensure_ascii off)
_JSONL = json.JSONEncoder(
    sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
)
_LINE_BREAKS = {0x85: "\\u0085", 0x2028: "\\u2028", 0x2029: "\\u2029"}
_BREAK_CHARS = tuple(chr(code) for code in _LINE_BREAKS)


def canonical_json(value: Any) -> bytes:
    """Compact canonical JSON (sorted keys, no spaces, UTF-8): the input of checksums."""
    return json.dumps(
        value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")


def sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


# --- deterministic YAML ---------------------------------------------------------------------------

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_YAML11_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})
# what YAML may carry raw: its printable set minus the characters it reads as line breaks
_UNSAFE_CHAR = re.compile(
    "[^\x09\x0a\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
_UNSAFE_IN_BLOCK = re.compile(
    "[^\x0a\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)


def dump_yaml(value: Any) -> bytes:
    """Deterministic YAML bytes of JSON-like data (dicts, lists, str, int, float, bool, None).

    The canonical form of release artifacts (docs/releases.md), so these rules are a stored
    format; ``yaml.safe_load`` gives the data back:

    - block style; mappings as ``key: value``, sequences as ``- value``, two spaces per level;
      empty mapping ``{}``, empty sequence ``[]``;
    - keys in the order given (the model's field order; free-form maps are sorted by the models);
      a key is plain when it matches ``[A-Za-z_][A-Za-z0-9_-]*`` and is no YAML 1.1 boolean or null
      word, else double-quoted;
    - ``null``, ``true``, ``false``; integers in decimal; floats as Python's ``repr`` (shortest
      round-trip form) with ``.0`` before an exponent that lacks a fraction;
    - a string with a line break is a literal block (``|`` if it ends with one line break, ``|-``
      if it ends with none) when it is *block-safe*: it does not start with whitespace, ends with
      at most one line break, has no line with trailing spaces or tabs and only printable
      characters other than ``\\r``, NEL, LS and PS; every other string is double-quoted as JSON
      writes it (UTF-8 kept), with any character YAML cannot carry raw escaped as ``\\uXXXX``;
    - UTF-8, ``\\n`` line ends, a final newline, no document markers, no comments.
    """
    lines: list[str] = []
    if isinstance(value, Mapping) and value:
        _mapping(value, 0, lines)
    elif isinstance(value, list | tuple) and value:
        _sequence(value, 0, lines)
    else:
        lines.append(_scalar(value))
    return ("\n".join(lines) + "\n").encode("utf-8")


def _key(key: object) -> str:
    if not isinstance(key, str):
        raise TypeError(f"mapping keys must be strings, not {type(key).__name__}: {key!r}")
    if _PLAIN_KEY.fullmatch(key) and key.lower() not in _YAML11_WORDS:
        return key
    return _quoted(key)


def _mapping(value: Mapping[Any, Any], indent: int, lines: list[str]) -> None:
    pad = " " * indent
    for key, item in value.items():
        head = f"{pad}{_key(key)}:"
        if isinstance(item, Mapping) and item:
            lines.append(head)
            _mapping(item, indent + 2, lines)
        elif isinstance(item, list | tuple) and item:
            lines.append(head)
            _sequence(item, indent + 2, lines)
        else:
            _inline(head, item, indent, lines)


def _sequence(value: Sequence[Any], indent: int, lines: list[str]) -> None:
    pad = " " * indent
    for item in value:
        if isinstance(item, Mapping) and item:
            # the first key shares the dash's line; the rest align under it
            start = len(lines)
            _mapping(item, indent + 2, lines)
            lines[start] = f"{pad}- {lines[start][indent + 2 :]}"
        elif isinstance(item, list | tuple) and item:
            start = len(lines)
            _sequence(item, indent + 2, lines)
            lines[start] = f"{pad}- {lines[start][indent + 2 :]}"
        else:
            _inline(f"{pad}-", item, indent, lines)


def _inline(head: str, item: Any, indent: int, lines: list[str]) -> None:
    if isinstance(item, str) and _block_safe(item):
        lines.append(f"{head} {'|' if item.endswith(chr(10)) else '|-'}")
        body = " " * (indent + 2)
        lines.extend(
            f"{body}{line}" if line else "" for line in item.removesuffix("\n").split("\n")
        )
    else:
        lines.append(f"{head} {_scalar(item)}")


def _block_safe(text: str) -> bool:
    if "\n" not in text or text[0] in " \t\n" or text.endswith("\n\n"):
        return False
    if _UNSAFE_IN_BLOCK.search(text.replace("\t", " ")):
        return False
    return not any(line != line.rstrip(" \t") for line in text.split("\n"))


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        if text in ("inf", "-inf", "nan"):
            raise ValueError(f"{value!r} has no canonical form")
        if "e" in text and "." not in text:
            mantissa, exponent = text.split("e")
            text = f"{mantissa}.0e{exponent}"
        return text
    if isinstance(value, str):
        return _quoted(value)
    if isinstance(value, Mapping):
        return "{}"
    if isinstance(value, list | tuple):
        return "[]"
    raise TypeError(f"cannot serialise {type(value).__name__}: {value!r}")


def _quoted(text: str) -> str:
    quoted = json.dumps(text, ensure_ascii=False)
    return _UNSAFE_CHAR.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)

"""Serialisation written once: timestamps, canonical JSON, JSON Lines, sha256, deterministic YAML.

Every stored byte sequence that must be reproducible (run files, checksums, release artifacts)
is made here, so two writers of the same data always produce the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
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
    """Deterministic JSON Lines bytes: one compact sorted object per ``\\n``-ended line."""
    lines = [
        json.dumps(
            value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
        )
        + "\n"
        for value in values
    ]
    return "".join(lines).encode("utf-8")


def canonical_json(value: Any) -> bytes:
    """Compact canonical JSON (sorted keys, no spaces, UTF-8): the input of checksums."""
    return json.dumps(
        value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")


def sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


# --- deterministic YAML ---------------------------------------------------------------------------

_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_./+-]*")
#: plain scalars YAML 1.1 or 1.2 would read as something other than a string
_RESERVED = re.compile(
    r"(?i:y|yes|n|no|true|false|on|off|null|~|\.inf|\.nan|[-+]?\.inf)"
    r"|[-+]?(?:\d[\d_]*)?(?:\.\d*)?(?:e[-+]?\d+)?|0x[0-9a-fA-F_]+|0o?[0-7_]+|\d+(?::\d+)+.*"
)


_NOT_PRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


def dump_yaml(data: Any) -> bytes:
    """YAML bytes of ``data`` (dicts, lists, str, int, float, bool, None): block style, keys in
    the order given, ``\\n`` line ends, strings quoted whenever a plain scalar could be misread.

    The same data always gives the same bytes, and ``yaml.safe_load`` gives the data back.
    """
    lines: list[str] = []
    _yaml_node(data, 0, lines)
    return ("\n".join(lines) + "\n").encode("utf-8")


def _yaml_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ValueError(f"{value!r} cannot be written as YAML: use a finite number")
        text = repr(value)
        # YAML 1.1 readers (PyYAML) need a dot to see a float: 1e-05 -> 1.0e-05
        if "e" in text and "." not in text:
            text = text.replace("e", ".0e", 1)
        return text
    if isinstance(value, str):
        if _PLAIN.fullmatch(value) and not _RESERVED.fullmatch(value):
            return value
        # a JSON string is a YAML double-quoted one; YAML also forbids a few characters JSON
        # leaves raw (DEL, C1 controls, line separators, surrogates, U+FFFE/F): escaped too
        quoted = json.dumps(value, ensure_ascii=False)
        return _NOT_PRINTABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", quoted)
    raise TypeError(f"{type(value).__name__} cannot be written as YAML")


def _yaml_node(value: Any, indent: int, lines: list[str]) -> None:
    pad = " " * indent
    if isinstance(value, Mapping):
        if not value:
            lines.append(pad + "{}")
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"YAML keys must be strings, not {type(key).__name__}")
            _yaml_entry(f"{pad}{_yaml_scalar(key)}:", item, indent, lines)
    elif isinstance(value, list | tuple):
        if not value:
            lines.append(pad + "[]")
        for item in value:
            _yaml_entry(f"{pad}-", item, indent, lines)
    else:
        lines.append(pad + _yaml_scalar(value))


def _yaml_entry(head: str, item: Any, indent: int, lines: list[str]) -> None:
    if isinstance(item, Mapping | list | tuple) and item:
        lines.append(head)
        _yaml_node(item, indent + 2, lines)
    elif isinstance(item, Mapping):
        lines.append(f"{head} {{}}")
    elif isinstance(item, list | tuple):
        lines.append(f"{head} []")
    else:
        lines.append(f"{head} {_yaml_scalar(item)}")

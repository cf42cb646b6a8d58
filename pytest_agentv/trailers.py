"""Commit-message trailers: the one writer and the one parser (pure).

Messages this project writes are ``<subject>\\n\\n<Key: value lines>``. :func:`parse` reads those
with one regex over the whole block (walks over 100k commits depend on it) and falls back to
git's rules (``git interpret-trailers --parse``) for anything else.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_TRAILER_LINE = r"[A-Za-z0-9][A-Za-z0-9-]*: [^\n]*"
_SIMPLE_TRAILERS = re.compile(rf"{_TRAILER_LINE}(?:\n{_TRAILER_LINE})*")
_GENERAL_LINE = re.compile(r"(?P<key>[A-Za-z0-9][A-Za-z0-9-]*)\s*:\s*(?P<value>.*)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def one_line(value: str) -> str:
    """``value`` as a trailer value: one line, control characters and runs of spaces collapsed."""
    return " ".join(_CONTROL.sub(" ", value).split())


def format_message(subject: str, trailers: Sequence[tuple[str, str]]) -> bytes:
    """``subject``, a blank line and one ``Key: value`` line per trailer, newline-terminated."""
    message = subject.encode("utf-8")
    if not trailers:
        return message + b"\n"
    block = "\n".join(f"{key}: {value}" for key, value in trailers)
    return message + b"\n\n" + block.encode("utf-8") + b"\n"


def parse(message: bytes) -> dict[str, str]:
    """The trailers of a commit message, by key (the last one wins for repeated keys)."""
    end = len(message.rstrip(b"\n"))
    start = message.rfind(b"\n\n", 0, end)
    if start < 0:
        return {}
    block = message[start + 2 : end].decode("utf-8", "replace")
    # one C-level check of the whole block instead of a Python test per line and key
    if _SIMPLE_TRAILERS.fullmatch(block):
        return dict(line.split(": ", 1) for line in block.split("\n"))
    return _parse_general(block)


def _parse_general(block: str) -> dict[str, str]:
    """git's rules, simplified: the last paragraph is a trailer block when every line is a
    ``Key: value`` line or a continuation (indented) of the one before."""
    found: list[list[str]] = []
    for line in block.split("\n"):
        if line[:1].isspace() and found:
            found[-1][1] += " " + line.strip()
            continue
        match = _GENERAL_LINE.fullmatch(line)
        if match is None:
            return {}
        found.append([match["key"], match["value"].strip()])
    return {key: value for key, value in found}

"""Text from recorded values and other people's files, made safe to print.

Recorded values and pushed release files may carry terminal escapes, bidi overrides and line
breaks; printed raw they could rewrite what the terminal shows. They are shown escaped
(``\\xNN`` / ``\\uNNNN``), never sent as they are.
"""

from __future__ import annotations

import re

#: controls and bidi overrides; the newlines and tabs of a rendering itself pass
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
#: the same, and every character that breaks a line (what ``str.splitlines`` splits on)
_CONTROL_OR_BREAK = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escaped(match: re.Match[str]) -> str:
    return match[0].encode("unicode_escape").decode("ascii")


def printable(text: str) -> str:
    """``text`` safe for a terminal: control characters escaped, its own lines kept."""
    return _CONTROL.sub(_escaped, text)


def one_line(text: str) -> str:
    """``text`` safe for a terminal as one line: line breaks and tabs escaped too."""
    return _CONTROL_OR_BREAK.sub(_escaped, text)

"""How a repeated test is named: one definition read by the plugin, the gates and the trends.

``--agentv-repeat N`` parametrizes each eval test once more, last, so the repeat is the last part
of the node id's parameters: ``test_answer[repeat2of3]``, ``test_answer[case1-repeat2of3]``.
"""

from __future__ import annotations

import re

_REPEAT = re.compile(r"(?P<sep>[\[-])repeat(?P<index>[1-9][0-9]*)of(?P<count>[1-9][0-9]*)\]$")


def repeat_id(index: int, count: int) -> str:
    """The parameter id of repeat ``index`` (from 0) of ``count``: ``repeat1of3`` first."""
    if not 0 <= index < count:
        raise ValueError(f"repeat index {index} is outside 0..{count - 1}")
    return f"repeat{index + 1}of{count}"


def split_repeat(nodeid: str) -> tuple[str, int | None]:
    """The node id without its repeat, and the repeat's index (from 0; ``None``: not repeated).

    >>> split_repeat("t.py::test_a[case1-repeat2of3]")
    ('t.py::test_a[case1]', 1)
    """
    match = _REPEAT.search(nodeid)
    if match is None:
        return nodeid, None
    head = nodeid[: match.start()]
    base = head if match["sep"] == "[" else head + "]"
    return base, int(match["index"]) - 1

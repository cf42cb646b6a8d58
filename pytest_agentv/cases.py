"""A test's case identity and inputs, from its parametrized values (docs/fixtures.md).

pytest's ids of values it cannot print are positional (``case0``, ``case1``): inserting one case
in front of a dataset renames every later one, and a comparison by node id then pairs different
cases. The case id is derived from the values instead, so a case keeps its id wherever it sits:

* an explicit id wins: ``pytest.param(..., id="q17")`` or ``ids=[...]``;
* a string, number, bool or None is written as itself (strings up to 40 printable characters);
* anything else as ``h`` and 10 hex digits of the SHA-256 of its JSON form (see
  :func:`~pytest_agentv.values.json_safe`).

``agentv.case_id = "..."`` replaces the parameter part. The case id is the node id with its
``[...]`` part rebuilt this way: ``test_qa.py::test_answer[q17]``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from pytest_agentv.values import json_safe

_PLAIN_LIMIT = 40
#: parameters the plugin adds itself are not the case's inputs
_OWN_PREFIX = "agentv_"


def value_part(value: Any) -> str:
    """One parameter's part of a case id (pure)."""
    if value is None or isinstance(value, bool | int | float):
        return str(value)
    if (
        isinstance(value, str)
        and len(value) <= _PLAIN_LIMIT
        and value.isprintable()
        and not any(c in value for c in "[]")
    ):
        return value
    canonical = json.dumps(json_safe(value), sort_keys=True, separators=(",", ":"))
    return "h" + hashlib.sha256(canonical.encode()).hexdigest()[:10]


def case_key(base: str, parts: Sequence[str]) -> str:
    """``base[part-part]`` (pure)."""
    return f"{base}[{'-'.join(parts)}]"


def node_base(nodeid: str, callspec_id: str | None) -> str:
    """The node id without its ``[...]`` parameter part."""
    suffix = f"[{callspec_id}]" if callspec_id else ""
    return nodeid.removesuffix(suffix) if suffix and nodeid.endswith(suffix) else nodeid


def _argnames(mark: pytest.Mark) -> list[str]:
    names = mark.args[0] if mark.args else mark.kwargs.get("argnames", ())
    if isinstance(names, str):
        return [name.strip() for name in names.split(",") if name.strip()]
    return [str(name) for name in names]


def _entry_values(entry: Any, width: int) -> tuple[Any, ...]:
    if type(entry).__name__ == "ParameterSet":
        return tuple(entry.values)
    return (entry,) if width == 1 else tuple(entry)


#: per ``argvalues`` list: the identities of each entry's values -> its first index
_ENTRY_INDEX_KEY = pytest.StashKey[dict[int, tuple[Any, dict[tuple[int, ...], int]]]]()


def _entry_index(item: pytest.Item, values: Any, width: int) -> dict[tuple[int, ...], int]:
    """Where each entry of a ``parametrize`` list sits, by the identities of its values; made
    once per list (a test finds its entry in it without walking the list)."""
    cache = item.config.stash.setdefault(_ENTRY_INDEX_KEY, {})
    known = cache.get(id(values))
    if known is not None and known[0] is values:
        return known[1]
    index: dict[tuple[int, ...], int] = {}
    for position, entry in enumerate(values):
        try:
            entry_values = _entry_values(entry, width)
        except TypeError:
            continue
        index.setdefault(tuple(id(value) for value in entry_values), position)
    cache[id(values)] = (values, index)  # the list is kept, so its id is not reused
    return index


def _explicit_ids(item: pytest.Item, params: Mapping[str, Any]) -> dict[str, str]:
    """First argument name of each ``parametrize`` group -> the explicit id of its value.

    The chosen entry is found by identity of its values (``callspec.indices`` are not positions
    in the list once several ``parametrize`` marks combine).
    """
    explicit: dict[str, str] = {}
    for mark in item.iter_markers("parametrize"):
        names = _argnames(mark)
        if not names or any(name not in params for name in names):
            continue
        for name in names:
            explicit.setdefault(f"group:{name}", names[0])
        values = mark.args[1] if len(mark.args) > 1 else mark.kwargs.get("argvalues")
        if not isinstance(values, list | tuple):
            continue
        chosen = tuple(id(params[name]) for name in names)
        position = _entry_index(item, values, len(names)).get(chosen)
        if position is None:
            continue
        entry = values[position]
        ids = mark.kwargs.get("ids")
        ident = entry.id if type(entry).__name__ == "ParameterSet" else None
        if ident is None and isinstance(ids, list | tuple) and position < len(ids):
            ident = ids[position]
        if isinstance(ident, str) and ident:
            explicit[names[0]] = ident
    return explicit


def item_case(item: pytest.Item) -> tuple[str | None, dict[str, Any] | None]:
    """``(case_id, inputs)`` of a test: both None when it is not parametrized."""
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return None, None
    params: dict[str, Any] = dict(callspec.params)
    explicit = _explicit_ids(item, params)
    parts: list[str] = []
    done: set[str] = set()
    for name in params:
        group = explicit.get(f"group:{name}", name)
        if group in done:
            continue
        if group in explicit:
            parts.append(explicit[group])
            done.add(group)
            continue
        members = [n for n in params if explicit.get(f"group:{n}", n) == group]
        parts.append("-".join(value_part(params[n]) for n in members))
        done.add(group)
    base = node_base(item.nodeid, getattr(callspec, "id", None))
    inputs = {
        name: json_safe(value) for name, value in params.items() if not name.startswith(_OWN_PREFIX)
    }
    return case_key(base, parts), inputs or None

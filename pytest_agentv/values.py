"""Checks of the values eval tests record: storable as JSON, valid UTF-8, bounded depth.

Pure and free of pydantic, so the plugin can load it (case ids use :func:`json_safe`) without
the formats' models.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from pytest_agentv.exceptions import AgentvRecordError

#: How deep recorded JSON may nest; deeper values cannot be redacted, validated and stored
#: without recursion limits (real transcripts nest a dozen levels at most).
MAX_DEPTH = 100


def check_text(value: str, what: str) -> str:
    """``value`` if it can be written as UTF-8 (no lone surrogates), else
    :class:`AgentvRecordError`."""
    if value.isascii():  # the common case, and no copy of a big message
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise AgentvRecordError(
            f"{what} must be valid UTF-8 text: {value[exc.start : exc.end]!r} at position "
            f"{exc.start} is a lone surrogate; decode bytes with errors='replace' first"
        ) from None
    return value


def check_json(value: Any, what: str) -> int:
    """Raise :class:`AgentvRecordError` unless ``value`` can be stored: JSON-serialisable
    without NaN/inf, text valid UTF-8, nested at most :data:`MAX_DEPTH` levels. Returns the
    length of its JSON text (what it will take to store, roughly)."""
    # iterative, so a value nested 10**6 deep is refused rather than blowing the stack
    todo: list[tuple[Any, int]] = [(value, 0)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, str):
            check_text(item, what)
        elif isinstance(item, dict | list | tuple):
            if depth >= MAX_DEPTH:
                raise AgentvRecordError(
                    f"{what} is nested deeper than {MAX_DEPTH} levels; flatten it or store it "
                    "as a JSON string"
                )
            if isinstance(item, dict):
                for key in item:
                    if isinstance(key, str):
                        check_text(key, f"{what} key")
                todo.extend((child, depth + 1) for child in item.values())
            else:
                todo.extend((child, depth + 1) for child in item)
    if isinstance(value, str):
        return len(value) + 2
    try:
        return len(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError, RecursionError) as exc:
        raise AgentvRecordError(
            f"{what} must be JSON-serialisable (str, int, float, bool, None, list, dict with str "
            f"keys; no NaN/inf): {exc}"
        ) from None


def storable(value: Any) -> Any:
    """``value`` if it can be stored, else its repr (the test already failed for it)."""
    try:
        check_json(value, "value")
    except AgentvRecordError:
        return repr(value)
    return value


def check_name(name: object, what: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise AgentvRecordError(f"{what} must be a non-empty string, got {name!r}")
    return check_text(name, what)


def check_number(value: object, what: str) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if not isinstance(value, int | float):
        raise AgentvRecordError(f"{what} must be a number or bool, got {type(value).__name__}")
    if not math.isfinite(value):
        raise AgentvRecordError(f"{what} must be finite, got {value!r}")
    return float(value)


class JsonDict(dict[str, Any]):
    """A dict that refuses keys and values that could not be stored as JSON."""

    def __init__(self, what: str, *args: Any, **kwargs: Any):
        super().__init__()
        self._what = what
        self.update(*args, **kwargs)

    def __setitem__(self, key: str, value: Any) -> None:
        check_name(key, f"{self._what} key")
        check_json(value, f"{self._what}[{key!r}]")
        super().__setitem__(key, value)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]


def json_safe(value: Any) -> Any:
    """``value`` as JSON data: containers recursively, dataclasses and pydantic models as their
    fields, anything else as its ``repr`` (how parametrized arguments become inputs)."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, enum.Enum):
        return json_safe(value.value)
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, set | frozenset):
        return sorted((json_safe(item) for item in value), key=repr)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return json_safe({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return json_safe(dump(mode="json"))
        except Exception:
            pass
    if isinstance(value, PurePath):
        return str(value)
    return repr(value)


def mapping_fields(what: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    if len(args) > 1:
        raise AgentvRecordError(f"{what} takes one mapping and/or keyword arguments")
    merged: dict[str, Any] = {}
    if args:
        if not isinstance(args[0], Mapping):
            raise AgentvRecordError(
                f"{what} takes a mapping or keyword arguments, got {type(args[0]).__name__}; "
                f"name the value: {what}(answer=...)"
            )
        merged.update(args[0])
    merged.update(kwargs)
    return merged

"""Read release files from bytes into models, turning every kind of bad input into one clear error.

Release files come from users and from other people's pushes, so nothing here may end in a
traceback: non-UTF-8 bytes, broken YAML, alias bombs, duplicate keys, oversized files and schema
violations all become an :class:`ArtifactError` naming the file, the dotted field, the value and
what is allowed.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Hashable
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from pytest_agentv.releases.errors import MISSING, ArtifactError, Problem
from pytest_agentv.releases.models import AgentRelease, ReleaseDraft, ReleaseTombstone

MAX_FILE_BYTES = 1 << 20  # a release is a few kilobytes; a megabyte is a mistake or an attack

_M = TypeVar("_M", bound=BaseModel)
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class _YamlRefused(yaml.MarkedYAMLError):
    pass


class _Loader(yaml.SafeLoader):
    """safe_load without aliases (no alias bombs), duplicate keys or implicit timestamps.

    A timestamp stays the string it was written as: the model keeps it, and the checksum of a
    file does not depend on how YAML would have re-typed it.
    """

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise _YamlRefused(
                problem="YAML aliases (*name) are not allowed in release files; "
                "write the value out in full",
                problem_mark=event.start_mark,
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Hashable] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable):
                if key in seen:
                    raise _YamlRefused(
                        problem=f"duplicate key {key!r}; each key may appear once",
                        problem_mark=key_node.start_mark,
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_yaml(data: bytes, file: str) -> Any:
    """The one YAML document in ``data``, or an :class:`ArtifactError` saying what is wrong."""
    if len(data) > MAX_FILE_BYTES:
        raise ArtifactError(
            file, [Problem("", MISSING, f"{len(data)} bytes is over the {MAX_FILE_BYTES} limit")]
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ArtifactError(
            file, [Problem("", MISSING, f"not UTF-8 (byte {exc.start}); save the file as UTF-8")]
        ) from None
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.reader.ReaderError as exc:
        character = chr(exc.character) if isinstance(exc.character, int) else exc.character
        raise ArtifactError(
            file,
            [
                Problem(
                    f"character {exc.position + 1}",
                    character,
                    f"invalid YAML: {exc.reason}; YAML files may not hold control characters",
                )
            ],
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = " ".join(part for part in (exc.context, exc.problem) if part)
        raise ArtifactError(file, [Problem(where, MISSING, f"invalid YAML: {what}")]) from None
    except yaml.YAMLError as exc:
        raise ArtifactError(file, [Problem("", MISSING, f"invalid YAML: {exc}")]) from None
    except RecursionError:
        raise ArtifactError(
            file, [Problem("", MISSING, "invalid YAML: nested too deeply")]
        ) from None


def validate(model: type[_M], value: Any, file: str) -> _M:
    """``value`` as ``model``, or an :class:`ArtifactError` with one problem per bad field."""
    if not isinstance(value, dict):
        kind = "empty" if value is None else type(value).__name__
        raise ArtifactError(
            file, [Problem("", MISSING, f"expected a mapping (apiVersion, kind, ...), got {kind}")]
        )
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise ArtifactError(file, [_problem(model, error) for error in exc.errors()]) from None


def load_release(data: bytes, file: str) -> AgentRelease:
    """A stored release file (``releases/v<N>.yaml``)."""
    return validate(AgentRelease, parse_yaml(data, file), file)


def load_draft(data: bytes, file: str) -> ReleaseDraft:
    """A file given to ``create``."""
    return validate(ReleaseDraft, parse_yaml(data, file), file)


def load_current(data: bytes, file: str) -> AgentRelease | ReleaseTombstone:
    """``current.yaml``: the active release, or a tombstone once the agent was deleted."""
    value = parse_yaml(data, file)
    metadata = value.get("metadata") if isinstance(value, dict) else None
    if isinstance(metadata, dict) and metadata.get("status") == "deleted":
        return validate(ReleaseTombstone, value, file)
    return validate(AgentRelease, value, file)


# --- pydantic errors as problems ----------------------------------------------------------------


def _problem(model: type[BaseModel], error: Any) -> Problem:
    loc = tuple(error["loc"])
    field = ".".join(str(part) for part in loc)
    kind = error["type"]
    if kind == "missing":
        return Problem(field, MISSING, "required field is missing")
    if kind == "extra_forbidden":
        allowed = _fields_at(model, loc[:-1])
        hint = f"allowed here: {', '.join(allowed)}" if allowed else "no fields are allowed here"
        return Problem(field, error["input"], f"unknown field; {hint}")
    message = str(error["msg"]).removeprefix("Value error, ")
    return Problem(field, error["input"], message)


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys the model accepts at ``loc`` (aliases as written in files)."""
    current: Any = model
    for part in loc:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        info = next(
            (f for name, f in current.model_fields.items() if part in (name, f.alias)), None
        )
        if info is None:
            return []
        current = _model_in(info.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or name for name, f in current.model_fields.items()]
    return []


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        for arg in typing.get_args(annotation):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                return arg
    return annotation

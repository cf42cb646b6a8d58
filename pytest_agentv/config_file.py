"""``.agentv/config.yaml``: its pydantic model, built from the option table's ``file_key`` s
(sections and fields; a new setting needs no edit here), and loading, with errors that name the
file, the field and the value."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
)

from pytest_agentv.options import OPTIONS, OptionSpec, SettingsError


class NamedPattern(BaseModel):
    """A user-supplied rule from ``redaction.patterns`` in ``.agentv/config.yaml``.

    The whole match is redacted, or only the group named ``secret`` when the regex has one.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1)
    regex: str

    @field_validator("regex")
    @classmethod
    def _compiles(cls, regex: str, info: Any) -> str:
        try:
            re.compile(regex)
        except re.error as exc:
            name = info.data.get("name", "?")
            raise ValueError(
                f"redaction.patterns[{name}]: invalid regex {regex!r}: {exc}"
            ) from None
        return regex


class RedactionConfig(BaseModel):
    """The ``redaction:`` section of ``.agentv/config.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = True
    patterns: tuple[NamedPattern, ...] = ()
    allow: tuple[str, ...] = ()
    emails: bool = False


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _checked(spec: OptionSpec) -> Callable[[Any], Any]:
    """The option's value check as a validator: the file's errors name the field as pydantic
    reports it; the value is kept as written (the settings check it again and convert it)."""

    def validate(value: Any) -> Any:
        spec.parse(value)
        return value

    return validate


def _field_type(spec: OptionSpec) -> Any:
    """The type a config-file value of ``spec`` must have."""
    if spec.kind == "bool":
        return bool | None
    if spec.choices:
        choices: Any = Literal.__getitem__(spec.choices)
        return choices | None
    shape: Any = {"metric_map": dict[str, float], "number": int | float}.get(spec.kind, str)
    return Annotated[shape, AfterValidator(_checked(spec))] | None


def _section_model(name: str, tree: dict[str, Any]) -> type[_Section]:
    # a section's own settings first, then its subsections (artifacts: backend, strict, git, local)
    leaves: dict[str, Any] = {
        key: (_field_type(spec), None) for key, spec in tree.items() if not isinstance(spec, dict)
    }
    nested: dict[str, Any] = {}
    for key, subtree in tree.items():
        if isinstance(subtree, dict):
            model = _section_model(f"{name}.{key}", subtree)
            nested[key] = (model, model())
    model_name = "".join(part.title() for part in name.replace("_", ".").split(".")) + "Section"
    built: type[_Section] = create_model(model_name, __base__=_Section, **leaves, **nested)
    built.__doc__ = f"``{name}`` in ``.agentv/config.yaml`` (from the option table)."
    return built


@lru_cache(maxsize=4)
def _file_model(options: tuple[OptionSpec, ...]) -> type[_Section]:
    """The whole ``.agentv/config.yaml``: one section per first part of the table's file keys,
    in the table's order, and ``redaction`` (a structured section, not settings) after the first."""
    tree: dict[str, Any] = {}
    for spec in options:
        if spec.file_key:
            *parents, leaf = spec.file_key.split(".")
            node = tree
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = spec
    sections = {key: _section_model(key, subtree) for key, subtree in tree.items()}
    fields: dict[str, Any] = {}
    for index, (key, model) in enumerate(sections.items()):
        fields[key] = (model, model())
        if index == 0:
            fields["redaction"] = (RedactionConfig, RedactionConfig())
    built: type[_Section] = create_model("ConfigFileModel", __base__=_Section, **fields)
    return built


@dataclass(frozen=True)
class ConfigFile:
    """A loaded ``.agentv/config.yaml``: the values it gives settings, and its redaction."""

    values: Mapping[str, Any]  # by setting key; only the settings the file sets
    redaction: RedactionConfig


def _values_of(model: BaseModel, options: tuple[OptionSpec, ...]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for spec in options:
        if not spec.file_key:
            continue
        value: Any = model
        for part in spec.file_key.split("."):
            value = getattr(value, part)
        if value is not None:
            values[spec.key] = value
    return values


#: nodes a config may expand to once aliases are followed; hand-written configs have dozens
MAX_EXPANDED_NODES = 10_000


def load_yaml(text: str) -> Any:
    """``yaml.safe_load``, refusing a document whose aliases expand it past
    :data:`MAX_EXPANDED_NODES` nodes: a 1 KB "billion laughs" file would otherwise expand to
    gigabytes while it is validated or printed in an error message."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        size = _expanded_size(node)
        if size > MAX_EXPANDED_NODES:
            raise yaml.YAMLError(
                f"aliases (*name) expand it to more than {MAX_EXPANDED_NODES} values; write "
                "the values out instead of repeating anchors"
            )
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _expanded_size(root: yaml.Node) -> int:
    """How many nodes ``root`` stands for with every alias expanded (shared nodes are counted
    each time they are used, but measured once)."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()  # entered, children not measured yet: seen again = a cycle
    todo: list[tuple[yaml.Node, bool]] = [(root, False)]
    while todo:
        node, children_done = todo.pop()
        if id(node) in sizes:
            continue
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [item for pair in node.value for item in pair]
        if children_done or not children:
            open_nodes.discard(id(node))
            total = 1 + sum(sizes.get(id(child), 1) for child in children)
            sizes[id(node)] = min(total, MAX_EXPANDED_NODES + 1)
            continue
        if id(node) in open_nodes:
            raise yaml.YAMLError("an alias refers to a value that contains it (a cycle)")
        open_nodes.add(id(node))
        todo.append((node, True))
        todo.extend((child, False) for child in children if id(child) not in sizes)
    return sizes[id(root)]


def load_config_file(path: Path) -> ConfigFile:
    """Read and validate a config file; every problem becomes a :class:`SettingsError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise SettingsError(
            f"{path}: not UTF-8 text (byte {exc.object[exc.start : exc.start + 1]!r} at offset "
            f"{exc.start}); save the file as UTF-8"
        ) from None
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise SettingsError(f"{where}: invalid YAML: {problem}; fix the syntax") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SettingsError(
            f"{path}: expected a mapping at the top level (artifacts:, redaction:), "
            f"got {type(data).__name__}"
        )
    options = OPTIONS
    try:
        model = _file_model(options).model_validate(data)
    except ValidationError as exc:
        raise SettingsError(format_validation_error(path, exc)) from None
    redaction = model.__dict__["redaction"]  # a field of the built model, not of _Section
    assert isinstance(redaction, RedactionConfig)
    return ConfigFile(_values_of(model, options), redaction)


def format_validation_error(path: Path, exc: ValidationError) -> str:
    """Name the file, the field path, the bad value and what is allowed, for each problem."""
    lines = []
    for error in exc.errors():
        field_path = ".".join(str(part) for part in error["loc"]) or "(top level)"
        if error["type"] == "extra_forbidden":
            parent = ".".join(str(part) for part in error["loc"][:-1])
            lines.append(
                f"{path}: unknown field {field_path!r}; "
                f"allowed here: {_allowed_fields(error['loc'][:-1]) or '(none)'}"
                + (f" (in {parent!r})" if parent else "")
            )
            continue
        message = str(error["msg"]).removeprefix("Value error, ")
        got = repr(error["input"])
        got = got if len(got) <= 200 else got[:200] + f"... ({len(got)} characters)"
        lines.append(f"{path}: {field_path}: {message} (got {got})")
    return "\n".join(lines)


def _allowed_fields(loc: tuple[int | str, ...]) -> str:
    model: type[BaseModel] = _file_model(OPTIONS)
    for part in loc:
        info = model.model_fields.get(str(part))
        annotation = info.annotation if info else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return ""
        model = annotation
    return ", ".join(model.model_fields)

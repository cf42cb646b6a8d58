"""``.agentv/config.yaml``: its pydantic models and loading, with errors that name the field."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pytest_agentv.options import OPTIONS, Backend, SettingsError, check_branch, check_repo_path


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


class GitSection(_Section):
    """``artifacts.git``."""

    remote: str | None = None
    branch: str | None = None
    path: str | None = None

    _branch = field_validator("branch")(lambda v: None if v is None else check_branch(v))
    _path = field_validator("path")(lambda v: None if v is None else check_repo_path(v))


class LocalSection(_Section):
    """``artifacts.local``."""

    directory: str | None = None


class ArtifactsSection(_Section):
    """``artifacts``."""

    backend: Backend | None = None
    strict: bool | None = None
    git: GitSection = GitSection()
    local: LocalSection = LocalSection()


class ReleasesSection(_Section):
    """``releases``: where agent releases live (docs/releases.md)."""

    remote: str | None = None
    branch: str | None = None
    path: str | None = None
    on_event: str | None = None

    _branch = field_validator("branch")(lambda v: None if v is None else check_branch(v))
    _path = field_validator("path")(lambda v: None if v is None else check_repo_path(v))


class GatesSection(_Section):
    """``gates`` (docs/gates.md); values are checked again, with the command line's rules, when
    the gate settings are resolved."""

    min_score: dict[str, float] | None = None
    min_pass_rate: float | None = None
    baseline: str | None = None
    max_regression: dict[str, float] | None = None
    fail_on_regression: bool | None = None
    cluster_by: str | None = None
    method: str | None = None

    def given(self) -> dict[str, Any]:
        """The keys the file sets."""
        return {key: value for key, value in self.model_dump().items() if value is not None}


class ConfigFile(_Section):
    """The whole ``.agentv/config.yaml``."""

    artifacts: ArtifactsSection = ArtifactsSection()
    redaction: RedactionConfig = RedactionConfig()
    gates: GatesSection = GatesSection()
    releases: ReleasesSection = ReleasesSection()

    def value_of(self, key: str) -> Any:
        """The value the file gives a setting (by its ``file_key`` in the option table)."""
        dotted = _FILE_KEYS.get(key)
        if dotted is None:
            return None
        value: Any = self
        for part in dotted.split("."):
            value = getattr(value, part)
        return value


_FILE_KEYS = {spec.key: spec.file_key for spec in OPTIONS if spec.file_key}


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
    try:
        return ConfigFile.model_validate(data)
    except ValidationError as exc:
        raise SettingsError(format_validation_error(path, exc)) from None


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
    model: type[BaseModel] = ConfigFile
    for part in loc:
        info = model.model_fields.get(str(part))
        annotation = info.annotation if info else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return ""
        model = annotation
    return ", ".join(model.model_fields)

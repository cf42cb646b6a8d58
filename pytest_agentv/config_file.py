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


def load_config_file(path: Path) -> ConfigFile:
    """Read and validate a config file; every problem becomes a :class:`SettingsError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
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
        lines.append(f"{path}: {field_path}: {message} (got {error['input']!r})")
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

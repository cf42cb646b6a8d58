"""Settings: resolved once, from every source, into one frozen :class:`Settings`.

Precedence, highest first (docs/configuration.md has the table)::

    command line > AGENTV_* environment > pytest ini > .agentv/config.yaml > defaults

The option table :data:`~pytest_agentv.options.OPTIONS` names every setting in every source.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_agentv.credentials import mask_credentials
from pytest_agentv.layout import CONFIG_FILE
from pytest_agentv.options import (
    BACKENDS,
    DEFAULT_BRANCH,
    DEFAULT_LOCAL_DIR,
    DEFAULT_NETWORK_TIMEOUT,
    DEFAULT_RELEASES_BRANCH,
    OPTIONS,
    Backend,
    OptionSpec,
    SettingsError,
    argparse_type,
    check_backend,
    check_branch,
    check_repo_path,
    check_text,
    parse_bool,
)

if TYPE_CHECKING:
    from pytest_agentv.config_file import ConfigFile, RedactionConfig

__all__ = [
    "BACKENDS",
    "CONFIG_FILE",
    "DEFAULT_BRANCH",
    "DEFAULT_LOCAL_DIR",
    "OPTIONS",
    "Backend",
    "OptionSpec",
    "Settings",
    "SettingsError",
    "argparse_type",
    "check_backend",
    "check_branch",
    "check_repo_path",
    "check_text",
    "parse_bool",
    "resolve_settings",
    "settings_from_wire",
    "settings_to_wire",
]


# --- resolution -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """Every setting the plugin and the CLI use, resolved once."""

    rootdir: Path
    backend: Backend = "local"
    remote: str | None = None
    branch: str = DEFAULT_BRANCH
    path: str = ""
    local_dir: Path = Path(DEFAULT_LOCAL_DIR)
    network_timeout: float = DEFAULT_NETWORK_TIMEOUT
    model: str | None = None
    eval_file: str | None = None
    strict: bool = False
    record: bool = True
    releases_remote: str | None = None  # None: the runs' remote
    releases_branch: str = DEFAULT_RELEASES_BRANCH
    releases_path: str = ""
    releases_on_event: str | None = None
    release: str | None = None
    quality_metric: str | None = None
    redaction: RedactionConfig | None = None  # None: the defaults
    config_file: Path | None = None
    sources: Mapping[str, str] = field(default_factory=dict)
    file_gates: Mapping[str, Any] = field(default_factory=dict)  # the config file's gates:

    def describe_destination(self) -> str:
        """One phrase saying where runs go, for the report header."""
        if self.backend == "local":
            return f"local directory {self.local_dir}"
        where = f"git branch {self.branch}"
        if self.path:
            where += f" under {self.path}/"
        if self.remote:
            where += f", pushed to {mask_credentials(self.remote)}"
        else:
            where += " of the source repository (no remote configured)"
        return where


_PATH_FIELDS = ("rootdir", "local_dir", "config_file")


def settings_to_wire(settings: Settings) -> dict[str, Any]:
    """``settings`` as plain data (for an xdist worker's ``workerinput``)."""
    # every setting of the option table travels: a new one cannot be forgotten here
    data: dict[str, Any] = {
        spec.key: getattr(settings, spec.key) for spec in OPTIONS if spec.key not in _PATH_FIELDS
    }
    for name in _PATH_FIELDS:
        value = getattr(settings, name)
        data[name] = None if value is None else str(value)
    data["redaction"] = (
        None if settings.redaction is None else settings.redaction.model_dump(mode="json")
    )
    data["sources"] = dict(settings.sources)
    data["file_gates"] = dict(settings.file_gates)
    return data


def settings_from_wire(data: Mapping[str, Any]) -> Settings:
    """The :class:`Settings` :func:`settings_to_wire` described (the controller's, resolved)."""
    values = dict(data)
    for name in _PATH_FIELDS:
        if values.get(name) is not None:
            values[name] = Path(values[name])
    if values.get("redaction") is not None:
        from pytest_agentv.config_file import RedactionConfig

        values["redaction"] = RedactionConfig.model_validate(values["redaction"])
    return Settings(**values)


def resolve_settings(
    rootdir: Path,
    cli: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    ini: Mapping[str, Any] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Merge every source, highest first; raise :class:`SettingsError` naming a bad value."""
    cli = cli or {}
    env = env or {}
    ini = ini or {}
    path = config_file if config_file is not None else rootdir / CONFIG_FILE
    file_config: ConfigFile | None = None
    if path.is_file():
        # pydantic and yaml load only when there is a file to read
        from pytest_agentv.config_file import load_config_file

        file_config = load_config_file(path)

    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for spec in OPTIONS:
        candidates: list[tuple[str, Any]] = [
            (f"command line {spec.flag}", cli.get(spec.key)),
            (f"environment variable {spec.env}", env.get(spec.env) or None),
            (f"ini option {spec.ini}", ini.get(spec.ini) or None),
        ]
        if file_config is not None:
            candidates.append((str(path), file_config.value_of(spec.key)))
        for source, raw in candidates:
            if raw is None:
                continue
            values[spec.key] = _check(spec, raw, source)
            sources[spec.key] = source
            break
        else:
            sources[spec.key] = "default"

    local_dir = Path(values.pop("local_dir", DEFAULT_LOCAL_DIR))
    return Settings(
        rootdir=rootdir,
        local_dir=local_dir if local_dir.is_absolute() else rootdir / local_dir,
        redaction=file_config.redaction if file_config else None,
        config_file=path if file_config is not None else None,
        sources=sources,
        file_gates=file_config.gates.given() if file_config else {},
        **values,
    )


def _check(spec: OptionSpec, raw: Any, source: str) -> Any:
    try:
        if spec.is_bool:
            return parse_bool(raw)
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            raw = str(raw)  # a number (argparse converted it, or YAML read one) as its text
        if not isinstance(raw, str):
            raise ValueError(f"expected text, got {type(raw).__name__}")
        return spec.check(raw) if spec.check else raw
    except ValueError as exc:
        raise SettingsError(f"{source}: invalid value {raw!r} for {spec.key}: {exc}") from None

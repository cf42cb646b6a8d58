"""Settings: resolved once, from every source, into one frozen :class:`Settings`.

Precedence, highest first (docs/configuration.md has the table)::

    command line > AGENTV_* environment > pytest ini > .agentv/config.yaml > defaults

The option table :data:`~pytest_agentv.options.OPTIONS` names every setting in every source;
:func:`resolve_values` reads them all by it, so a new entry there is resolved, checked, carried to
xdist workers and named in errors with no edit here. ``metric_map`` settings merge metric by
metric, highest source first, and their source is every source that gave a metric.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_agentv.credentials import mask_credentials
from pytest_agentv.layout import CONFIG_FILE, ProjectLayout
from pytest_agentv.options import (
    BACKENDS,
    DEFAULT_BRANCH,
    DEFAULT_LOCAL_DIR,
    DEFAULT_NETWORK_TIMEOUT,
    DEFAULT_RELEASES_BRANCH,
    OPTIONS,
    Backend,
    GateMethod,
    OptionSpec,
    SettingsError,
    argparse_type,
    check_backend,
    check_branch,
    check_repo_path,
    check_size,
    check_text,
    parse_bool,
)
from pytest_agentv.stats import ClusterBy

if TYPE_CHECKING:
    from pytest_agentv.config_file import RedactionConfig

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
    "resolve_values",
    "settings_from_wire",
    "settings_to_wire",
]


#: GitHub refuses files over 100 MiB; a commit holding one could never be pushed
DEFAULT_MAX_FILE_SIZE = 100 * 1024 * 1024


# --- resolution -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """Every setting the plugin and the CLI use, resolved once (plain data: it crosses the wire
    to xdist workers as is)."""

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
    fail_on_threshold: bool = False
    # gates, repeats and run groups; gate_settings.GateSettings is the view the gates read
    min_score: Mapping[str, float] = field(default_factory=dict)
    min_pass_rate: float | None = None
    baseline: str | None = None  # checked; parsed by gate_settings
    max_regression: Mapping[str, float] = field(default_factory=dict)
    fail_on_regression: bool = False
    cluster_by: ClusterBy = "module"
    gate_method: GateMethod = "stats"
    repeat: int = 1
    run_group: str | None = None
    releases_remote: str | None = None  # None: the runs' remote
    releases_branch: str = DEFAULT_RELEASES_BRANCH
    releases_path: str = ""
    releases_on_event: str | None = None
    release: str | None = None
    quality_metric: str | None = None
    #: bytes one stored file may have (None: no limit); git backend only
    max_file_size: int | None = DEFAULT_MAX_FILE_SIZE
    redaction: RedactionConfig | None = None  # None: the defaults
    config_file: Path | None = None
    sources: Mapping[str, str] = field(default_factory=dict)
    #: the values of table settings that have no field here yet (see :meth:`value`)
    extra: Mapping[str, Any] = field(default_factory=dict)

    def value(self, key: str) -> Any:
        """The value of the table's setting ``key``, whether or not it has a field."""
        if key not in (spec.key for spec in OPTIONS):
            raise KeyError(f"{key!r} is not a setting of the option table")
        if key in _FIELDS:
            return getattr(self, key)
        return self.extra.get(key)  # None: a setting without a field, not given

    @property
    def recording_requested(self) -> bool:
        """True when the user asked for runs (a destination, an ``AGENTV_*`` variable, an
        ``agentv_*`` ini key, a config file): then every session records, eval tests or not.
        Otherwise only a session that ran an eval test does (docs/configuration.md)."""
        if not self.record:
            return False
        if self.config_file is not None:
            return True
        return any(
            self.sources.get(spec.key, "default") != "default"
            for spec in OPTIONS
            if spec.requests_recording
        )

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


_FIELDS = frozenset(item.name for item in fields(Settings))
_PATH_FIELDS = ("rootdir", "local_dir", "config_file")


def settings_to_wire(settings: Settings) -> dict[str, Any]:
    """``settings`` as plain data (for an xdist worker's ``workerinput``)."""
    # every setting of the option table travels: a new one cannot be forgotten here
    data: dict[str, Any] = {
        spec.key: _plain(getattr(settings, spec.key))
        for spec in OPTIONS
        if spec.key in _FIELDS and spec.key not in _PATH_FIELDS
    }
    for name in _PATH_FIELDS:
        value = getattr(settings, name)
        data[name] = None if value is None else str(value)
    data["redaction"] = (
        None if settings.redaction is None else settings.redaction.model_dump(mode="json")
    )
    data["sources"] = dict(settings.sources)
    data["extra"] = {key: _plain(value) for key, value in settings.extra.items()}
    return data


def _plain(value: Any) -> Any:
    return dict(value) if isinstance(value, Mapping) else value


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
    *,
    redaction: bool = True,
) -> Settings:
    """Merge every source, highest first; raise :class:`SettingsError` naming a bad value.

    ``cli`` holds the command line's values by setting key, as argparse converted them (a
    ``metric_map`` setting: a list of ``(metric, value)`` pairs); ``env`` and ``ini`` the raw
    text by variable and ini name. ``redaction=False`` (the read commands, which never redact)
    leaves :attr:`Settings.redaction` None and takes the config file's values from the cache
    of :mod:`pytest_agentv.config_cache` when the file is unchanged: no PyYAML, no pydantic.
    """
    path = config_file if config_file is not None else rootdir / CONFIG_FILE
    file_values: Mapping[str, Any] = {}
    rules = None
    if path.is_file():
        if redaction:
            # pydantic and yaml load only when there is a file to read
            from pytest_agentv.config_file import load_config_file

            loaded = load_config_file(path)
            file_values, rules = loaded.values, loaded.redaction
        else:
            file_values = _config_values(path, rootdir)

    values, sources = resolve_values(cli, env, ini, file_values, str(path))
    _imply_git_backend(values, sources)
    local_dir = Path(values.pop("local_dir", DEFAULT_LOCAL_DIR))
    if "max_file_size" in values:  # a count of bytes, 0 for no limit (check_size is idempotent)
        values["max_file_size"] = int(check_size(str(values["max_file_size"]))) or None
    given = {key: value for key, value in values.items() if key in _FIELDS}
    return Settings(
        rootdir=rootdir,
        local_dir=local_dir if local_dir.is_absolute() else rootdir / local_dir,
        redaction=rules,
        config_file=path if path.is_file() else None,
        sources=sources,
        extra={key: value for key, value in values.items() if key not in _FIELDS},
        **given,
    )


def _config_values(path: Path, rootdir: Path) -> Mapping[str, Any]:
    """The config file's setting values: cached while the file and its validators are
    unchanged, else validated (every error raised as without a cache) and cached."""
    from pytest_agentv import config_cache

    cache_dir = ProjectLayout(rootdir).cache_dir
    key = config_cache.cache_key(path)
    if key is not None and (cached := config_cache.cached_values(cache_dir, key)) is not None:
        return cached
    from pytest_agentv.config_file import load_config_file

    values = load_config_file(path).values
    # only if the file did not change while it was validated: the key must name what was read
    if key is not None and config_cache.cache_key(path) == key:
        config_cache.store_values(cache_dir, key, values)
    return values


def resolve_values(
    cli: Mapping[str, Any] | None,
    env: Mapping[str, str] | None,
    ini: Mapping[str, Any] | None,
    file: Mapping[str, Any],
    file_name: str,
    options: tuple[OptionSpec, ...] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """The value of every setting some source gives, and where each came from ("default" when
    none does); ``file`` holds the config file's values by setting key."""
    cli, env, ini = cli or {}, env or {}, ini or {}
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for spec in OPTIONS if options is None else options:
        merging = spec.kind == "metric_map"
        given: list[tuple[str, Any]] = []
        raw_cli = cli.get(spec.key)
        if raw_cli is not None and raw_cli != []:
            # argparse has checked and converted it already
            given.append((f"command line {spec.flag}", dict(raw_cli) if merging else raw_cli))
        for source, label, raw in (
            (f"environment variable {spec.env}", None, env.get(spec.env) or None),
            (f"ini option {spec.ini}", None, ini.get(spec.ini) or None),
            (file_name, f"{file_name}: {spec.file_key}", file.get(spec.key)),
        ):
            if given and not merging:
                break  # a lower source is not read, so a stale value there does no harm
            if raw is not None:
                given.append((source, _parse(spec, raw, label or source)))
        if not given:
            sources[spec.key] = "default"
        elif merging:
            merged: dict[str, float] = {}
            for _, mapping in reversed(given):  # lowest first, so higher sources win per metric
                merged.update(mapping)
            values[spec.key] = merged
            sources[spec.key] = ", ".join(source for source, _ in given)
        else:
            sources[spec.key], values[spec.key] = given[0]
    return values, sources


def _parse(spec: OptionSpec, raw: Any, source: str) -> Any:
    try:
        return spec.parse(raw)
    except ValueError as exc:
        shown = str(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else raw
        raise SettingsError(f"{source}: invalid value {shown!r} for {spec.key}: {exc}") from None


def _rank(source: str) -> int:
    """Precedence of a source (0 highest): command line, environment, ini, config file."""
    for rank, prefix in enumerate(("command line", "environment", "ini option")):
        if source.startswith(prefix):
            return rank
    return 3


def _imply_git_backend(values: dict[str, Any], sources: dict[str, str]) -> None:
    """A remote is pushed to by the git backend only: it implies that backend when none was
    chosen. ``local`` chosen where a remote is given at the same or a higher precedence is a
    contradiction; ``local`` chosen above it (``--agentv-backend local`` over a config file's
    remote) wins, for that session."""
    if values.get("remote") is None:
        return
    if sources.get("backend", "default") == "default":
        values["backend"] = "git"
        sources["backend"] = f"implied by the remote ({sources['remote']})"
    elif values.get("backend") == "local" and _rank(sources["remote"]) <= _rank(sources["backend"]):
        raise SettingsError(
            f"{sources['remote']} names a remote, which only the git backend pushes to, but "
            f"{sources['backend']} chose the local backend; drop the remote or choose the git "
            "backend (--agentv-git)"
        )

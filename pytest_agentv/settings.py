"""Settings: resolved once, from every source, into one frozen :class:`Settings`.

Precedence, highest first (docs/configuration.md has the table)::

    command line > AGENTV_* environment > pytest ini > .agentv/config.yaml > defaults

The option table :data:`OPTIONS` is shared by the pytest plugin and the ``agentv-results`` CLI.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from pytest_agentv.config_file import ConfigFile, RedactionConfig

DEFAULT_BRANCH = "agentv/checkpoints/v1"
DEFAULT_LOCAL_DIR = ".agentv/runs"
#: GitHub refuses files over 100 MiB; a commit holding one could never be pushed
DEFAULT_MAX_FILE_SIZE = 100 * 1024 * 1024
CONFIG_FILE = Path(".agentv") / "config.yaml"
Backend = Literal["local", "git"]
BACKENDS: tuple[Backend, ...] = ("local", "git")


class SettingsError(ValueError):
    """A setting is wrong; the message names where it came from and how to fix it."""


# --- value checks, shared by argparse, environment, ini and the config file ----------------------

# the rules of `git check-ref-format --branch`, as one pattern that matches any violation
_BAD_REF = re.compile(
    r"(^[/.-])|(/[.])|([.]lock$)|([.]{2})|(@\{)|(//)|([\x00-\x20~^:?*\[\\\x7f])|([/.]$)"
)


def check_branch(value: str) -> str:
    """Return ``value`` if it is a valid git branch name (``git check-ref-format --branch``)."""
    if not value or value == "@" or _BAD_REF.search(value):
        raise ValueError(
            f"{value!r} is not a valid git branch name "
            "(no spaces, '..', '~^:?*[\\', leading '-' or '/', trailing '/', '.lock')"
        )
    return value


def check_repo_path(value: str) -> str:
    """Return ``value`` normalised as a relative POSIX path inside a repository ('' for none)."""
    cleaned = value.strip().strip("/")
    if cleaned in ("", "."):
        return ""
    parts = cleaned.split("/")
    if "\\" in cleaned or any(part in ("", ".", "..", ".git") for part in parts):
        raise ValueError(
            f"{value!r} is not a relative path inside the repository "
            "(use '/'-separated names, no '..', '.git' or empty parts)"
        )
    return cleaned


def check_backend(value: str) -> str:
    """Return ``value`` if it names a backend."""
    if value not in BACKENDS:
        raise ValueError(f"{value!r} is not a backend; choose one of: {', '.join(BACKENDS)}")
    return value


def check_text(value: str) -> str:
    """Return ``value`` if it is non-empty."""
    if not value.strip():
        raise ValueError("must not be empty")
    return value


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def parse_bool(value: str | bool) -> bool:
    """Parse a boolean from an environment or ini value."""
    if isinstance(value, bool):
        return value
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{value!r} is not a boolean; use one of 1/0, true/false, yes/no, on/off")


def argparse_type(check: Callable[[str], str]) -> Callable[[str], str]:
    """Wrap a value check for argparse, which expects ``ArgumentTypeError``."""

    def convert(value: str) -> str:
        try:
            return check(value)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = check.__name__.removeprefix("check_")
    return convert


# --- the option table -----------------------------------------------------------------------------


@dataclass(frozen=True)
class OptionSpec:
    """One setting and every name it has in every source."""

    key: str
    flag: str  # pytest flag
    cli_flag: str | None  # agentv-results flag (None: not a CLI setting)
    env: str
    ini: str
    help: str
    check: Callable[[str], str] | None = None
    is_bool: bool = False


OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec(
        "backend",
        "--agentv-backend",
        "--backend",
        "AGENTV_BACKEND",
        "agentv_backend",
        "where runs go: local (default) or git",
        check_backend,
    ),
    OptionSpec(
        "remote",
        "--agentv-remote",
        "--remote",
        "AGENTV_REMOTE",
        "agentv_remote",
        "git remote name or URL that runs are pushed to",
        check_text,
    ),
    OptionSpec(
        "branch",
        "--agentv-branch",
        "--branch",
        "AGENTV_BRANCH",
        "agentv_branch",
        f"branch that runs are committed to (default {DEFAULT_BRANCH})",
        check_branch,
    ),
    OptionSpec(
        "path",
        "--agentv-path",
        "--path",
        "AGENTV_PATH",
        "agentv_path",
        "directory prefix inside the branch for run files",
        check_repo_path,
    ),
    OptionSpec(
        "local_dir",
        "--agentv-local-dir",
        "--local-dir",
        "AGENTV_LOCAL_DIR",
        "agentv_local_dir",
        f"directory of the local backend (default {DEFAULT_LOCAL_DIR})",
        check_text,
    ),
    OptionSpec(
        "model",
        "--agentv-model",
        None,
        "AGENTV_MODEL",
        "agentv_model",
        "model under evaluation, recorded with the run",
        check_text,
    ),
    OptionSpec(
        "eval_file",
        "--agentv-eval",
        None,
        "AGENTV_EVAL",
        "agentv_eval",
        "name of the eval recorded with the run (default: the test files run)",
        check_text,
    ),
    OptionSpec(
        "strict",
        "--agentv-strict",
        None,
        "AGENTV_STRICT",
        "agentv_strict",
        "fail the session when the run cannot be delivered",
        is_bool=True,
    ),
    OptionSpec(
        "record",
        "--agentv-no-record",
        None,
        "AGENTV_RECORD",
        "agentv_record",
        "run the evals but record nothing",
        is_bool=True,
    ),
)
OPTION_BY_KEY = {spec.key: spec for spec in OPTIONS}


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
    model: str | None = None
    eval_file: str | None = None
    strict: bool = False
    record: bool = True
    #: bytes one stored file may have (None: no limit); git backend only
    max_file_size: int | None = DEFAULT_MAX_FILE_SIZE
    redaction: RedactionConfig | None = None  # None: the defaults
    config_file: Path | None = None
    sources: Mapping[str, str] = field(default_factory=dict)

    def describe_destination(self) -> str:
        """One phrase saying where runs go, for the report header."""
        if self.backend == "local":
            return f"local directory {self.local_dir}"
        where = f"git branch {self.branch}"
        if self.path:
            where += f" under {self.path}/"
        if self.remote:
            from pytest_agentv.redact import Redactor

            where += f", pushed to {Redactor().text(self.remote)}"
        else:
            where += " of the source repository (no remote configured)"
        return where


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
        **values,
    )


def _check(spec: OptionSpec, raw: Any, source: str) -> Any:
    try:
        if spec.is_bool:
            return parse_bool(raw)
        if not isinstance(raw, str):
            raise ValueError(f"expected text, got {type(raw).__name__}")
        return spec.check(raw) if spec.check else raw
    except ValueError as exc:
        raise SettingsError(f"{source}: invalid value {raw!r} for {spec.key}: {exc}") from None

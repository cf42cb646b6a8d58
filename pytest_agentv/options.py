"""The option table: every setting and its name in every source, with its value check (pure).

One :class:`OptionSpec` per setting drives the pytest options and ini keys (``plugin``), the
``.agentv/config.yaml`` keys (``config_file``), the ``AGENTV_*`` environment variables and the
CLI's global options (``cli``). Adding a setting is one entry here and one field of
:class:`~pytest_agentv.settings.Settings`. Nothing here imports the rest of the project.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pytest_agentv.layout import DEFAULT_RUNS_DIR

DEFAULT_BRANCH = "agentv/checkpoints/v1"
DEFAULT_RELEASES_BRANCH = "agentv/releases/v1"
DEFAULT_LOCAL_DIR = DEFAULT_RUNS_DIR
Backend = Literal["local", "git"]
BACKENDS: tuple[Backend, ...] = ("local", "git")


class SettingsError(ValueError):
    """A setting is wrong; the message names where it came from and how to fix it."""


# --- value checks, shared by argparse, environment, ini and the config file ----------------------

# the rules of `git check-ref-format --branch`, as one pattern that matches any violation
_BAD_REF = re.compile(r"([.]{2})|(@\{)|(//)|([\x00-\x20~^:?*\[\\\x7f])|(^[/-])|(/$)|([.]$)")


def check_branch(value: str) -> str:
    """Return ``value`` if it is a valid git branch name (``git check-ref-format --branch``):
    besides the characters refused anywhere, each ``/``-separated component must be non-empty,
    must not start with ``.`` and must not end with ``.lock``; ``HEAD`` and ``@`` are refused."""
    bad_component = next(
        (part for part in value.split("/") if part.startswith(".") or part.endswith(".lock")),
        None,
    )
    if not value or value in ("@", "HEAD") or _BAD_REF.search(value) or bad_component:
        why = f" (component {bad_component!r})" if bad_component else ""
        raise ValueError(
            f"{value!r} is not a valid git branch name{why}: no spaces, '..', '~^:?*[\\', "
            "leading '-' or '/', trailing '/' or '.'; no component starting with '.' or ending "
            "in '.lock'; not 'HEAD'"
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


_RELEASE_REF = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(@[1-9][0-9]*)?")


def check_release_ref(value: str) -> str:
    """Return ``value`` if it is ``SLUG`` or ``SLUG@VERSION`` (a DNS-1123 label, a number)."""
    if not _RELEASE_REF.fullmatch(value):
        raise ValueError(
            f"{value!r} is not SLUG or SLUG@VERSION (e.g. support-agent or support-agent@3; the "
            "slug is lowercase letters, digits and '-')"
        )
    return value


def check_text(value: str) -> str:
    """Return ``value`` if it is non-empty."""
    if not value.strip():
        raise ValueError("must not be empty")
    return value


DEFAULT_NETWORK_TIMEOUT = 30.0


def check_seconds(value: str) -> float:
    """A positive number of seconds (``0`` turns the limit off)."""
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a number of seconds (e.g. 30 or 2.5)") from None
    if not 0 <= seconds <= 86400:
        raise ValueError(f"{value!r} is not between 0 (no limit) and 86400 seconds")
    return seconds


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


def argparse_type(check: Callable[[str], Any]) -> Callable[[str], Any]:
    """Wrap a value check for argparse, which expects ``ArgumentTypeError``."""

    def convert(value: str) -> Any:
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
    #: validates (and converts) a value given as text
    check: Callable[[str], Any] | None = None
    is_bool: bool = False
    #: dotted path in ``.agentv/config.yaml`` (None: not settable there)
    file_key: str | None = None
    #: a boolean flag that turns the setting off (``--agentv-no-record``) rather than on
    negated_flag: bool = False
    #: the allowed values, when they are a fixed list (argparse shows them in ``--help``)
    choices: tuple[str, ...] = ()


OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec(
        "backend",
        "--agentv-backend",
        "--backend",
        "AGENTV_BACKEND",
        "agentv_backend",
        "where runs go: local (default) or git",
        check_backend,
        file_key="artifacts.backend",
        choices=BACKENDS,
    ),
    OptionSpec(
        "remote",
        "--agentv-remote",
        "--remote",
        "AGENTV_REMOTE",
        "agentv_remote",
        "git remote name or URL that runs are pushed to",
        check_text,
        file_key="artifacts.git.remote",
    ),
    OptionSpec(
        "branch",
        "--agentv-branch",
        "--branch",
        "AGENTV_BRANCH",
        "agentv_branch",
        f"branch that runs are committed to (default {DEFAULT_BRANCH})",
        check_branch,
        file_key="artifacts.git.branch",
    ),
    OptionSpec(
        "path",
        "--agentv-path",
        "--path",
        "AGENTV_PATH",
        "agentv_path",
        "directory prefix inside the branch for run files",
        check_repo_path,
        file_key="artifacts.git.path",
    ),
    OptionSpec(
        "local_dir",
        "--agentv-local-dir",
        "--local-dir",
        "AGENTV_LOCAL_DIR",
        "agentv_local_dir",
        f"directory of the local backend (default {DEFAULT_LOCAL_DIR})",
        check_text,
        file_key="artifacts.local.directory",
    ),
    OptionSpec(
        "network_timeout",
        "--agentv-network-timeout",
        "--network-timeout",
        "AGENTV_NETWORK_TIMEOUT",
        "agentv_network_timeout",
        f"seconds a fetch or push may wait to connect or for the remote to answer (default "
        f"{DEFAULT_NETWORK_TIMEOUT:g}; a whole fetch or push gets 10 times that; 0: no limit)",
        check_seconds,
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
        file_key="artifacts.strict",
    ),
    OptionSpec(
        "record",
        "--agentv-no-record",
        None,
        "AGENTV_RECORD",
        "agentv_record",
        "run the evals but record nothing",
        is_bool=True,
        negated_flag=True,
    ),
    # agent releases (docs/releases.md); agentv-release has its own --remote/--branch/--path
    OptionSpec(
        "releases_remote",
        "--agentv-releases-remote",
        None,
        "AGENTV_RELEASES_REMOTE",
        "agentv_releases_remote",
        "git remote name or URL of the releases branch (default: the runs' remote)",
        check_text,
        file_key="releases.remote",
    ),
    OptionSpec(
        "releases_branch",
        "--agentv-releases-branch",
        None,
        "AGENTV_RELEASES_BRANCH",
        "agentv_releases_branch",
        f"branch holding agent releases (default {DEFAULT_RELEASES_BRANCH})",
        check_branch,
        file_key="releases.branch",
    ),
    OptionSpec(
        "releases_path",
        "--agentv-releases-path",
        None,
        "AGENTV_RELEASES_PATH",
        "agentv_releases_path",
        "directory prefix inside the releases branch",
        check_repo_path,
        file_key="releases.path",
    ),
    OptionSpec(
        "releases_on_event",
        "--agentv-releases-on-event",
        None,
        "AGENTV_RELEASES_ON_EVENT",
        "agentv_releases_on_event",
        "shell command that receives every release event as JSON on stdin",
        check_text,
        file_key="releases.on_event",
    ),
    OptionSpec(
        "release",
        "--agentv-release",
        None,
        "AGENTV_RELEASE",
        "agentv_release",
        "gate this release with the run: SLUG or SLUG@VERSION (default: its latest pending_eval)",
        check_release_ref,
    ),
    OptionSpec(
        "quality_metric",
        "--agentv-quality-metric",
        None,
        "AGENTV_QUALITY_METRIC",
        "agentv_quality_metric",
        "metric whose mean x 100 is the release's quality score (default: the pass rate)",
        check_text,
    ),
)

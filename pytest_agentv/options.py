"""The option table: every setting and its name in every source, with its value check (pure).

One :class:`OptionSpec` per setting drives the pytest options and ini keys (``plugin``), the
``.agentv/config.yaml`` keys and sections (``config_file`` builds its model from ``file_key``),
the ``AGENTV_*`` environment variables, the CLI's global options and the ``gate`` command's
options (``cli``), and what xdist workers inherit (``settings``). Adding a setting is one entry
here; a field of :class:`~pytest_agentv.settings.Settings` gives it a typed name (without one it
is read with ``Settings.value(key)``).

A ``metric_map`` setting (``--agentv-min-score METRIC=VALUE``) is repeatable on the command line,
written ``METRIC=VALUE`` pairs separated by commas or spaces in the environment and ini
(``AGENTV_MIN_SCORE="accuracy=0.8,f1=0.7"``), a mapping in the config file, and merged metric by
metric across the sources (a higher source wins for the metrics it names).

The module is long because it is a table (about a dozen lines per setting, thirty settings) with
the checks its entries name; splitting it would put a setting's names and its check apart.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pytest_agentv.layout import DEFAULT_RUNS_DIR
from pytest_agentv.stats import CLUSTER_BY, ClusterBy

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


_SIZE = re.compile(r"(\d+)\s*(|b|kb|kib|mb|mib|gb|gib)", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "b": 1, "kb": 10**3, "kib": 2**10, "mb": 10**6, "mib": 2**20}
_SIZE_UNITS |= {"gb": 10**9, "gib": 2**30}


def check_size(value: str) -> str:
    """``value`` (``100MiB``, ``50MB``, ``1048576``; ``0`` for no limit) as a count of bytes."""
    match = _SIZE.fullmatch(value.strip())
    if match is None:
        raise ValueError(
            f"{value!r} is not a size; use bytes or a unit, like 100MiB, 50MB or 0 for no limit"
        )
    return str(int(match[1]) * _SIZE_UNITS[match[2].lower()])


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


def parse_metric_value(text: str) -> tuple[str, float]:
    """``METRIC=NUMBER`` as a pair."""
    name, equals, number = (part.strip() for part in text.partition("="))
    if not equals or not name:
        raise ValueError(f"{text!r} is not METRIC=VALUE (for example accuracy=0.8)")
    try:
        value = float(number)
    except ValueError:
        raise ValueError(f"{text!r}: {number!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{text!r}: the value must be finite")
    return name, value


def check_delta(text: str) -> tuple[str, float]:
    """``METRIC=DELTA``: a regression allowance, not negative."""
    name, value = parse_metric_value(text)
    if value < 0:
        raise ValueError(f"{name}={value:g}: the allowed regression must not be negative")
    return name, value


def check_rate(text: str) -> float:
    """A pass rate between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number between 0 and 1") from None
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{text!r} is not between 0 and 1 (0.9 means 90 %)")
    return value


def check_repeat(text: str) -> int:
    """A repeat count of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise ValueError(f"{text!r}: the repeat count must be at least 1")
    return value


def check_cluster_by(text: str) -> ClusterBy:
    """One of :data:`~pytest_agentv.stats.CLUSTER_BY`."""
    for choice in CLUSTER_BY:
        if text == choice:
            return choice
    raise ValueError(f"{text!r} is not a clustering; choose one of: {', '.join(CLUSTER_BY)}")


#: how a baseline gate judges a regression: ``stats``, the paired, clustered interval;
#: ``per-test``, ``agentv-results diff``'s rules
GateMethod = Literal["stats", "per-test"]
GATE_METHODS: tuple[GateMethod, ...] = ("stats", "per-test")


def check_gate_method(text: str) -> GateMethod:
    """One of :data:`GATE_METHODS`."""
    for method in GATE_METHODS:
        if text == method:
            return method
    raise ValueError(f"{text!r} is not a gate method; choose stats (default) or per-test")


_RUN_GROUP = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}")


def check_run_group(text: str) -> str:
    """A run group id: letters, digits and ``._:/@+-``, up to 128 characters."""
    if not _RUN_GROUP.fullmatch(text):
        raise ValueError(
            f"{text!r} is not a run group id (letters, digits and ._:/@+-, up to 128 "
            "characters, starting with a letter or digit)"
        )
    return text


def check_baseline(text: str) -> str:
    """A baseline reference (:func:`~pytest_agentv.baseline.parse_baseline_ref`), kept as text
    so that settings stay plain data; :mod:`~pytest_agentv.gate_settings` parses it for use."""
    # lazy: the grammar lives with the baseline search, which imports the run index
    from pytest_agentv.baseline import parse_baseline_ref

    return parse_baseline_ref(text).text


def argparse_type(check: Callable[[str], Any]) -> Callable[[str], Any]:
    """Wrap a value check for argparse, which expects ``ArgumentTypeError``."""

    def convert(value: str) -> Any:
        try:
            return check(value)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = check.__name__.removeprefix("check_").removeprefix("parse_")
    return convert


def metric_value_parts(text: str) -> list[str]:
    """The ``METRIC=VALUE`` parts of an environment or ini value (commas or spaces between)."""
    return [part for part in re.split(r"[,\s]+", text.strip()) if part]


# --- the option table -----------------------------------------------------------------------------


#: ``text``: one value, checked by ``check``; ``bool``: a flag, 1/0 true/false yes/no on/off;
#: ``number``: like text, but a number in the config file; ``metric_map``: ``METRIC=VALUE``
#: pairs, repeatable and merged per metric across the sources (``check`` reads one pair)
Kind = Literal["text", "bool", "number", "metric_map"]


@dataclass(frozen=True)
class OptionSpec:
    """One setting and every name it has in every source."""

    key: str
    flag: str  # pytest flag
    cli_flag: str | None  # agentv-results flag (None: not a CLI setting)
    env: str
    ini: str
    help: str
    check: Callable[[str], Any] | None = None
    kind: Kind = "text"
    #: dotted path in ``.agentv/config.yaml``; its first part is the section (None: not there)
    file_key: str | None = None
    #: help of the ini key and environment variable, when it differs from the flag's
    ini_help: str | None = None
    #: setting it (anywhere but the defaults) asks for every session to be recorded
    requests_recording: bool = True
    #: a boolean flag that turns the setting off (``--agentv-no-record``) rather than on
    negated_flag: bool = False
    #: the allowed values, when they are a fixed list (argparse shows them in ``--help``)
    choices: tuple[str, ...] = ()
    #: the value's name in ``--help`` (default: the key in capitals)
    metavar: str | None = None
    #: the ``agentv-results`` command whose option ``cli_flag`` is (None: a global option)
    cli_command: str | None = None

    @property
    def value_name(self) -> str:
        """What ``--help`` calls the value."""
        return self.metavar or self.key.upper()

    def parse(self, raw: Any) -> Any:
        """A value from the environment, an ini file or the config file, checked and converted
        (numbers and mappings as the config file gives them); ``ValueError`` says what is wrong."""
        if self.kind == "bool":
            return parse_bool(raw)
        if self.kind == "metric_map":
            pairs: list[str]
            if isinstance(raw, Mapping):
                pairs = [f"{name}={value}" for name, value in raw.items()]
            elif isinstance(raw, str):
                pairs = metric_value_parts(raw)
            else:
                raise ValueError(f"expected METRIC=VALUE pairs, got {type(raw).__name__}")
            check = self.check or parse_metric_value
            return dict(check(pair) for pair in pairs)
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            raw = str(raw)
        if not isinstance(raw, str):
            raise ValueError(f"expected text, got {type(raw).__name__}")
        return self.check(raw) if self.check else raw


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
        kind="bool",
        file_key="artifacts.strict",
    ),
    OptionSpec(
        "record",
        "--agentv-no-record",
        None,
        "AGENTV_RECORD",
        "agentv_record",
        "run the evals but record nothing",
        kind="bool",
        negated_flag=True,
        ini_help=(
            "true: record every session, eval tests or not; false: record nothing "
            "(unset: record sessions that run eval tests)"
        ),
    ),
    OptionSpec(
        "fail_on_threshold",
        "--agentv-fail-on-threshold",
        None,
        "AGENTV_FAIL_ON_THRESHOLD",
        "agentv_fail_on_threshold",
        "fail every test with a score below its threshold",
        kind="bool",
        requests_recording=False,
    ),
    # gates, repeats and run groups (docs/gates.md); agentv-results gate takes the gates as its
    # own options (--min-score ...), not as global ones
    OptionSpec(
        "min_score",
        "--agentv-min-score",
        "--min-score",
        "AGENTV_MIN_SCORE",
        "agentv_min_score",
        "gate: the run's mean of METRIC must reach VALUE (repeatable)",
        parse_metric_value,
        kind="metric_map",
        file_key="gates.min_score",
        metavar="METRIC=VALUE",
        cli_command="gate",
    ),
    OptionSpec(
        "min_pass_rate",
        "--agentv-min-pass-rate",
        "--min-pass-rate",
        "AGENTV_MIN_PASS_RATE",
        "agentv_min_pass_rate",
        "gate: the share of passing tests must reach VALUE (0..1)",
        check_rate,
        kind="number",
        file_key="gates.min_pass_rate",
        metavar="VALUE",
        cli_command="gate",
    ),
    OptionSpec(
        "baseline",
        "--agentv-baseline",
        "--baseline",
        "AGENTV_BASELINE",
        "agentv_baseline",
        "the run to compare with: a run id, latest, latest:branch=main,model=<same>, merge-base",
        check_baseline,
        file_key="gates.baseline",
        metavar="REF",
        cli_command="gate",
    ),
    OptionSpec(
        "max_regression",
        "--agentv-max-regression",
        "--max-regression",
        "AGENTV_MAX_REGRESSION",
        "agentv_max_regression",
        "gate: METRIC (or pass_rate) may be worse than the baseline by at most DELTA (repeatable)",
        check_delta,
        kind="metric_map",
        file_key="gates.max_regression",
        metavar="METRIC=DELTA",
        cli_command="gate",
    ),
    OptionSpec(
        "fail_on_regression",
        "--agentv-fail-on-regression",
        "--fail-on-regression",
        "AGENTV_FAIL_ON_REGRESSION",
        "agentv_fail_on_regression",
        "gate: fail when any metric or the pass rate is worse than the baseline",
        kind="bool",
        file_key="gates.fail_on_regression",
        cli_command="gate",
    ),
    OptionSpec(
        "cluster_by",
        "--agentv-cluster-by",
        "--cluster-by",
        "AGENTV_CLUSTER_BY",
        "agentv_cluster_by",
        "how baseline gates group tests for the standard error: module (default), origin, test",
        check_cluster_by,
        file_key="gates.cluster_by",
        metavar="KIND",
        cli_command="gate",
    ),
    OptionSpec(
        "gate_method",
        "--agentv-gate-method",
        "--gate-method",
        "AGENTV_GATE_METHOD",
        "agentv_gate_method",
        "how baseline gates judge a regression: stats (default: the paired, clustered interval) "
        "or per-test (agentv-results diff's rules, DELTA as the tolerance)",
        check_gate_method,
        file_key="gates.method",
        metavar="METHOD",
        cli_command="gate",
    ),
    OptionSpec(
        "repeat",
        "--agentv-repeat",
        None,
        "AGENTV_REPEAT",
        "agentv_repeat",
        "run each eval test N times within the run",
        check_repeat,
        metavar="N",
    ),
    OptionSpec(
        "run_group",
        "--agentv-run-group",
        None,
        "AGENTV_RUN_GROUP",
        "agentv_run_group",
        "record this run as a part of the logical run ID (a CI pipeline id)",
        check_run_group,
        metavar="ID",
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
        "max_file_size",
        "--agentv-max-file-size",
        "--max-file-size",
        "AGENTV_MAX_FILE_SIZE",
        "agentv_max_file_size",
        "refuse a run with a file bigger than this, which the git host would refuse "
        "(default 100MiB, GitHub's limit; 0: no limit)",
        check_size,
        file_key="artifacts.git.max_file_size",
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

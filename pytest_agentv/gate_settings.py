"""The settings of gates, repeats and run groups: options, parsing, and one frozen result.

Precedence is the plugin's (docs/configuration.md): command line > ``AGENTV_*`` environment >
pytest ini > ``gates:`` in ``.agentv/config.yaml`` > defaults. The two per-metric settings
(``min_score``, ``max_regression``) are merged metric by metric in that order, so a CI job can
tighten one metric of the team's file without repeating the others.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pytest_agentv.baseline import BaselineRef, parse_baseline_ref
from pytest_agentv.options import SettingsError, parse_bool
from pytest_agentv.stats import CLUSTER_BY, ClusterBy

if TYPE_CHECKING:
    from pytest_agentv.gates import GateSpec

_RUN_GROUP = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}")


# -- value checks (each raises ValueError saying what is allowed) -------------------------------


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


def check_delta(pair: tuple[str, float]) -> tuple[str, float]:
    """A regression allowance is not negative."""
    if pair[1] < 0:
        raise ValueError(f"{pair[0]}={pair[1]:g}: the allowed regression must not be negative")
    return pair


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


def check_method(text: str) -> str:
    """``stats`` or ``per-test`` (:data:`~pytest_agentv.gates.GATE_METHODS`)."""
    if text not in ("stats", "per-test"):
        raise ValueError(f"{text!r} is not a gate method; choose stats (default) or per-test")
    return text


def check_run_group(text: str) -> str:
    """A run group id: letters, digits and ``._:/@+-``, up to 128 characters."""
    if not _RUN_GROUP.fullmatch(text):
        raise ValueError(
            f"{text!r} is not a run group id (letters, digits and ._:/@+-, up to 128 "
            "characters, starting with a letter or digit)"
        )
    return text


def check_baseline(text: str) -> BaselineRef:
    """A baseline reference (:func:`~pytest_agentv.baseline.parse_baseline_ref`)."""
    return parse_baseline_ref(text)


def argparse_checked(check: Callable[[str], Any]) -> Callable[[str], Any]:
    """``check`` for argparse, which wants ``ArgumentTypeError``."""

    def convert(text: str) -> Any:
        try:
            return check(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = check.__name__.removeprefix("check_").removeprefix("parse_")
    return convert


# -- the table ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class GateOption:
    """One setting and its names in every source; ``per_metric`` ones are repeatable."""

    key: str
    flag: str
    env: str
    ini: str
    help: str
    check: Callable[[str], Any] | None = None
    metavar: str | None = None
    is_bool: bool = False
    per_metric: bool = False


GATE_OPTIONS: tuple[GateOption, ...] = (
    GateOption(
        "min_score",
        "--agentv-min-score",
        "AGENTV_MIN_SCORE",
        "agentv_min_score",
        "gate: the run's mean of METRIC must reach VALUE (repeatable)",
        parse_metric_value,
        "METRIC=VALUE",
        per_metric=True,
    ),
    GateOption(
        "min_pass_rate",
        "--agentv-min-pass-rate",
        "AGENTV_MIN_PASS_RATE",
        "agentv_min_pass_rate",
        "gate: the share of passing tests must reach VALUE (0..1)",
        check_rate,
        "VALUE",
    ),
    GateOption(
        "baseline",
        "--agentv-baseline",
        "AGENTV_BASELINE",
        "agentv_baseline",
        "the run to compare with: a run id, latest, latest:branch=main,model=<same>, merge-base",
        check_baseline,
        "REF",
    ),
    GateOption(
        "max_regression",
        "--agentv-max-regression",
        "AGENTV_MAX_REGRESSION",
        "agentv_max_regression",
        "gate: METRIC (or pass_rate) may be worse than the baseline by at most DELTA (repeatable)",
        lambda text: check_delta(parse_metric_value(text)),
        "METRIC=DELTA",
        per_metric=True,
    ),
    GateOption(
        "fail_on_regression",
        "--agentv-fail-on-regression",
        "AGENTV_FAIL_ON_REGRESSION",
        "agentv_fail_on_regression",
        "gate: fail when any metric or the pass rate is worse than the baseline",
        is_bool=True,
    ),
    GateOption(
        "cluster_by",
        "--agentv-cluster-by",
        "AGENTV_CLUSTER_BY",
        "agentv_cluster_by",
        "how baseline gates group tests for the standard error: module (default), origin, test",
        check_cluster_by,
        "KIND",
    ),
    GateOption(
        "method",
        "--agentv-gate-method",
        "AGENTV_GATE_METHOD",
        "agentv_gate_method",
        "how baseline gates judge a regression: stats (default: the paired, clustered interval) "
        "or per-test (agentv-results diff's rules, DELTA as the tolerance)",
        check_method,
        "METHOD",
    ),
    GateOption(
        "repeat",
        "--agentv-repeat",
        "AGENTV_REPEAT",
        "agentv_repeat",
        "run each eval test N times within the run",
        check_repeat,
        "N",
    ),
    GateOption(
        "run_group",
        "--agentv-run-group",
        "AGENTV_RUN_GROUP",
        "agentv_run_group",
        "record this run as a part of the logical run ID (a CI pipeline id)",
        check_run_group,
        "ID",
    ),
)


@dataclass(frozen=True)
class GateSettings:
    """The resolved gates, baseline, repeat count and run group."""

    min_scores: Mapping[str, float] = field(default_factory=dict)
    min_pass_rate: float | None = None
    max_regression: Mapping[str, float] = field(default_factory=dict)
    fail_on_regression: bool = False
    cluster_by: ClusterBy = "module"
    method: str = "stats"
    baseline: BaselineRef | None = None
    repeat: int = 1
    run_group: str | None = None
    sources: Mapping[str, str] = field(default_factory=dict)

    @property
    def spec(self) -> GateSpec:
        """The gates to evaluate (built on use: :mod:`pytest_agentv.gates` loads pydantic, which
        the CLI's fast path must not)."""
        from pytest_agentv.gates import GateSpec

        return GateSpec(
            min_scores=self.min_scores,
            min_pass_rate=self.min_pass_rate,
            max_regression=self.max_regression,
            fail_on_regression=self.fail_on_regression,
            cluster_by=self.cluster_by,
            method="per-test" if self.method == "per-test" else "stats",
        )


def _convert(option: GateOption, raw: Any, source: str) -> Any:
    """One raw value from ``source`` as the option's type; SettingsError names the source."""
    check = option.check
    try:
        if option.is_bool:
            return parse_bool(raw)
        if check is None:
            return raw
        if option.per_metric:
            if isinstance(raw, Mapping):
                return dict(check(f"{name}={value}") for name, value in raw.items())
            if not isinstance(raw, str):
                raise ValueError(f"expected METRIC=VALUE pairs, got {type(raw).__name__}")
            return dict(check(part) for part in metric_value_parts(raw))
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            raw = str(raw)
        if not isinstance(raw, str):
            raise ValueError(f"expected text, got {type(raw).__name__}")
        return check(raw)
    except ValueError as exc:
        raise SettingsError(f"{source}: invalid value {raw!r} for {option.key}: {exc}") from None


def metric_value_parts(text: str) -> list[str]:
    """The ``METRIC=VALUE`` parts of an environment or ini value."""
    return [part for part in re.split(r"[,\s]+", text.strip()) if part]


def resolve_gate_settings(
    cli: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    ini: Mapping[str, Any] | None = None,
    file: Mapping[str, Any] | None = None,
    file_name: str = ".agentv/config.yaml",
) -> GateSettings:
    """Merge every source (``file``: the ``gates:`` section, by setting key), highest first."""
    cli, env, ini, file = cli or {}, env or {}, ini or {}, file or {}
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for option in GATE_OPTIONS:
        candidates: list[tuple[str, Any]] = [
            (f"command line {option.flag}", cli.get(option.key)),
            (f"environment variable {option.env}", env.get(option.env) or None),
            (f"ini option {option.ini}", ini.get(option.ini) or None),
            (f"{file_name}: gates.{option.key}", file.get(option.key)),
        ]
        given: list[tuple[str, Any]] = []
        for index, (source, raw) in enumerate(candidates):
            if raw is None or raw == []:
                continue
            if index == 0:  # the command line's values went through argparse's type already
                given.append((source, dict(raw) if option.per_metric else raw))
            else:
                given.append((source, _convert(option, raw, source)))
        if not given:
            sources[option.key] = "default"
        elif option.per_metric:
            merged: dict[str, float] = {}
            for _, mapping in reversed(given):  # lowest first, so higher sources win per metric
                merged.update(mapping)
            values[option.key] = merged
            sources[option.key] = ", ".join(source for source, _ in given)
        else:
            sources[option.key], values[option.key] = given[0]
    gates = GateSettings(
        min_scores=values.get("min_score", {}),
        min_pass_rate=values.get("min_pass_rate"),
        max_regression=values.get("max_regression", {}),
        fail_on_regression=values.get("fail_on_regression", False),
        cluster_by=values.get("cluster_by", "module"),
        method=values.get("method", "stats"),
        baseline=values.get("baseline"),
        repeat=values.get("repeat", 1),
        run_group=values.get("run_group"),
        sources=sources,
    )
    if (gates.max_regression or gates.fail_on_regression) and gates.baseline is None:
        key = "max_regression" if gates.max_regression else "fail_on_regression"
        raise SettingsError(
            f"{key} (from {sources[key]}) compares with a baseline, but none is set: add "
            "--agentv-baseline REF (for example latest, or merge-base) or gates.baseline in the "
            "config file"
        )
    return gates

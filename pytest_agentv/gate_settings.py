"""The gates, baseline, repeat count and run group as the gates read them: a view of
:class:`~pytest_agentv.settings.Settings`.

The settings themselves are entries of the option table (:data:`~pytest_agentv.options.OPTIONS`),
resolved with every other setting (so xdist workers inherit them with the rest); this module adds
what a single setting cannot say: the parsed baseline reference, the :class:`GateSpec`, and the
rule that a baseline gate needs a baseline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pytest_agentv.options import GateMethod, SettingsError
from pytest_agentv.stats import ClusterBy

if TYPE_CHECKING:  # loaded on use: a session without gates or baseline needs neither
    from pytest_agentv.baseline import BaselineRef
    from pytest_agentv.gates import GateSpec
    from pytest_agentv.settings import Settings


@dataclass(frozen=True)
class GateSettings:
    """The resolved gates, baseline, repeat count and run group."""

    min_scores: Mapping[str, float] = field(default_factory=dict)
    min_pass_rate: float | None = None
    max_regression: Mapping[str, float] = field(default_factory=dict)
    fail_on_regression: bool = False
    cluster_by: ClusterBy = "module"
    method: GateMethod = "stats"
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
            method=self.method,
        )


def gate_settings(settings: Settings) -> GateSettings:
    """The gate view of ``settings``; :class:`SettingsError` when a baseline gate has no
    baseline to compare with."""
    baseline = None
    if settings.baseline is not None:
        from pytest_agentv.baseline import parse_baseline_ref

        baseline = parse_baseline_ref(settings.baseline)
    gates = GateSettings(
        min_scores=settings.min_score,
        min_pass_rate=settings.min_pass_rate,
        max_regression=settings.max_regression,
        fail_on_regression=settings.fail_on_regression,
        cluster_by=settings.cluster_by,
        method=settings.gate_method,
        baseline=baseline,
        repeat=settings.repeat,
        run_group=settings.run_group,
        sources=settings.sources,
    )
    if (gates.max_regression or gates.fail_on_regression) and gates.baseline is None:
        key = "max_regression" if gates.max_regression else "fail_on_regression"
        raise SettingsError(
            f"{key} (from {gates.sources[key]}) compares with a baseline, but none is set: add "
            "--agentv-baseline REF (for example latest, or merge-base) or gates.baseline in the "
            "config file"
        )
    return gates

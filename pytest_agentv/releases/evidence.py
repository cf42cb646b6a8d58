"""Gate evidence: does a release's recorded verdict follow from the run that decided it?

The run is read from the results store the settings name (the run names the release and the
checksum it evaluated in ``metadata.agentv_release``); its score is recomputed with
:func:`pytest_agentv.releases.gate.decide` and must give the recorded score and verdict.
"""

from __future__ import annotations

import json
from typing import Any

from pytest_agentv.releases.gate import PASS_RATE, decide
from pytest_agentv.releases.models import AgentRelease
from pytest_agentv.store.base import ArtifactStore, RunNotFound, StoreError, load_summary

RUN_METADATA_KEY = "agentv_release"
"""The key of ``metadata.json``'s ``metadata`` that names the release a run evaluated."""

_PASSED_STATUSES = ("active", "archived", "deleted")


def release_ref(release: AgentRelease) -> str:
    """``support-agent@5``: how runs and trailers name a release."""
    return f"{release.slug}@{release.version}"


def run_metadata(release: AgentRelease) -> dict[str, Any]:
    """What a gate run records about the release it evaluates."""
    return {"release": release_ref(release), "checksum": release.metadata.checksum}


class EvidenceChecker:
    """``verify``'s check of each evaluation against the results store (one run read each)."""

    def __init__(self, runs: ArtifactStore) -> None:
        self.runs = runs
        #: why some evaluations could not be checked (the results store is unreachable)
        self.unchecked: list[str] = []

    def __call__(self, release: AgentRelease) -> str | None:
        evaluation = release.metadata.evaluation
        if evaluation is None:
            return None
        run_id = evaluation.run_id
        try:
            summary = load_summary(self.runs.read(run_id, "summary.json"))
            metadata = json.loads(self.runs.read(run_id, "metadata.json"))
        except RunNotFound:
            return f"eval run {run_id} is not in the results store"
        except ValueError as exc:
            return f"eval run {run_id} cannot be read from the results store: {exc}"
        except StoreError as exc:
            self.unchecked.append(f"{release_ref(release)}: eval run {run_id} not checked: {exc}")
            return None
        named = (metadata.get("metadata") or {}).get(RUN_METADATA_KEY)
        expected = {"release": release_ref(release), "checksum": evaluation.release_checksum}
        if named != expected:
            return f"eval run {run_id} evaluated {named!r}, not {expected!r}"
        metric = None if evaluation.metric == PASS_RATE else evaluation.metric
        verdict = decide(summary.counts, summary.scores, metric, evaluation.threshold)
        if abs(verdict.score - evaluation.score) > 1e-6:
            recorded = f"{evaluation.score:g}"
            return f"eval run {run_id} scores {verdict.score:g}, the release records {recorded}"
        if release.status == "rejected" and verdict.passed:
            return f"rejected, but eval run {run_id} passed its gate ({verdict.reason})"
        if release.status in _PASSED_STATUSES and not verdict.passed:
            return f"{release.status}, but eval run {run_id} failed its gate ({verdict.reason})"
        return None

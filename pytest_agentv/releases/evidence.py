"""Gate evidence: does a release's recorded verdict follow from the run that decided it?

The run is read from the results branch the evaluation names (the run names the release and the
checksum it evaluated in ``metadata.agentv_release``); its score is recomputed from the run's
test records with :func:`pytest_agentv.releases.gate.decide`, as the gate computed it, and must
give the recorded score and verdict.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pytest_agentv.models import RunMetadata
from pytest_agentv.releases.gate import PASS_RATE, decide
from pytest_agentv.releases.models import AgentRelease
from pytest_agentv.store.base import ArtifactStore, RunNotFound, StoreError

RUN_METADATA_KEY = "agentv_release"
"""The key of ``metadata.json``'s ``metadata`` that names the release a run evaluated."""

_PASSED_STATUSES = ("active", "archived", "deleted")
LOCAL_RESULTS = "local"
"""``evaluation.results_branch`` of a gate run recorded to a local directory, not to git."""


def release_ref(release: AgentRelease) -> str:
    """``support-agent@5``: how runs and trailers name a release."""
    return f"{release.slug}@{release.version}"


def run_metadata(release: AgentRelease) -> dict[str, Any]:
    """What a gate run records about the release it evaluates."""
    return {"release": release_ref(release), "checksum": release.metadata.checksum}


class EvidenceChecker:
    """``verify``'s check of each evaluation against the results branch it names.

    ``open_runs(branch)`` opens (and fetches) the results store of a branch; a
    :class:`StoreError` there means the branch is out of reach, and the evaluations on it are
    listed in :attr:`unchecked` instead of being findings.
    """

    def __init__(self, open_runs: Callable[[str], ArtifactStore]) -> None:
        self._open_runs = open_runs
        self._stores: dict[str, ArtifactStore | str] = {}
        #: why some evaluations could not be checked (a local run, an unreachable branch)
        self.unchecked: list[str] = []

    def _runs(self, branch: str) -> ArtifactStore | str:
        if branch not in self._stores:
            try:
                self._stores[branch] = self._open_runs(branch)
            except StoreError as exc:
                self._stores[branch] = f"results branch {branch} is out of reach: {exc}"
        return self._stores[branch]

    def __call__(self, release: AgentRelease) -> str | None:
        evaluation = release.metadata.evaluation
        if evaluation is None:
            return None
        run_id = evaluation.run_id
        where = f"{release_ref(release)}: eval run {run_id} not checked"
        if evaluation.results_branch == LOCAL_RESULTS:
            self.unchecked.append(f"{where}: it was stored in a local directory only")
            return None
        runs = self._runs(evaluation.results_branch)
        if isinstance(runs, str):
            self.unchecked.append(f"{where}: {runs}")
            return None
        try:
            metadata = RunMetadata.model_validate_json(runs.read(run_id, "metadata.json"))
        except RunNotFound:
            return f"eval run {run_id} is not on the results branch {evaluation.results_branch}"
        except ValueError as exc:
            return f"eval run {run_id} cannot be read from the results store: {exc}"
        except StoreError as exc:
            self.unchecked.append(f"{where}: {exc}")
            return None
        named = metadata.metadata.get(RUN_METADATA_KEY)
        expected = {"release": release_ref(release), "checksum": evaluation.release_checksum}
        if named != expected:
            return f"eval run {run_id} evaluated {named!r}, not {expected!r}"
        metric = None if evaluation.metric == PASS_RATE else evaluation.metric
        verdict = decide(metadata.tests, metric, evaluation.threshold)
        if abs(verdict.score - evaluation.score) > 1e-6:
            recorded = f"{evaluation.score:g}"
            return f"eval run {run_id} scores {verdict.score:g}, the release records {recorded}"
        if release.status == "rejected" and verdict.passed:
            return f"rejected, but eval run {run_id} passed its gate ({verdict.reason})"
        if release.status in _PASSED_STATUSES and not verdict.passed:
            return f"{release.status}, but eval run {run_id} failed its gate ({verdict.reason})"
        return None

"""Gates against stored runs: find the baseline (or a group's parts), read it, evaluate.

The I/O edge of :mod:`pytest_agentv.gates`, shared by the plugin's session end and
``agentv-results gate``. Anything that goes wrong while looking for the baseline becomes the
report's ``error`` (a failed gate), never an exception: the run being gated is written either way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import ValidationError

from pytest_agentv.baseline import BaselineError, BaselineRef, ThisRun, find_baseline
from pytest_agentv.gates import GateReport, GateSpec, evaluate_gates
from pytest_agentv.models import RunMetadata, RunSummary
from pytest_agentv.sources import RunSource, resolve_ref
from pytest_agentv.store.base import StoreError
from pytest_agentv.store.paths import METADATA_FILE, SUMMARY_FILE


def read_metadata(source: RunSource, run_id: str) -> RunMetadata:
    """A stored run's metadata (StoreError or ValidationError when it cannot be read)."""
    return RunMetadata.model_validate_json(source.read(run_id, METADATA_FILE))


def read_summary(source: RunSource, run_id: str) -> RunSummary:
    """A stored run's summary."""
    return RunSummary.model_validate_json(source.read(run_id, SUMMARY_FILE))


def _branch_of(source: RunSource) -> Callable[[str], str | None]:
    def branch(run_id: str) -> str | None:
        try:
            return read_summary(source, run_id).source_branch
        except (StoreError, ValidationError):
            return None  # an unreadable run is no baseline

    return branch


def _ancestry(rootdir: Path) -> Callable[[], tuple[str, Sequence[str]]]:
    def ancestry() -> tuple[str, Sequence[str]]:
        from pytest_agentv.git.history import SourceHistoryError, merge_base_ancestry

        try:
            return merge_base_ancestry(rootdir)
        except SourceHistoryError as exc:
            raise BaselineError(f"merge-base: {exc}") from None

    return ancestry


def locate_baseline(
    ref: BaselineRef, this: ThisRun, source: RunSource, rootdir: Path
) -> RunMetadata:
    """The baseline run's metadata; :class:`BaselineError` says why there is none."""
    try:
        run_id = find_baseline(
            ref,
            this,
            rows=source.query,
            branch_of=_branch_of(source),
            resolve_ref=lambda text: resolve_ref(source, text),
            ancestry=_ancestry(rootdir),
        )
        return read_metadata(source, run_id)
    except (StoreError, ValidationError) as exc:
        raise BaselineError(f"baseline {ref.text!r}: cannot read it: {exc}") from None


def gate_run(
    run: RunMetadata,
    spec: GateSpec,
    baseline: BaselineRef | None,
    open_source: Callable[[], RunSource],
    rootdir: Path,
    this: ThisRun | None = None,
) -> GateReport:
    """Evaluate ``spec`` on ``run``, reading the baseline from the source ``open_source`` opens
    (fetched first when it has a remote, so runs recorded elsewhere count)."""
    if not spec.needs_baseline:
        return evaluate_gates(run, spec)
    if baseline is None:
        return evaluate_gates(run, spec, baseline_error="no baseline is set (--agentv-baseline)")
    try:
        source = open_source()
        if source.has_remote():
            source.fetch()
        found = locate_baseline(
            baseline, this or ThisRun(run.run_id, run.model, run.eval_file), source, rootdir
        )
    except (BaselineError, StoreError) as exc:
        return evaluate_gates(run, spec, baseline_error=str(exc))
    return evaluate_gates(run, spec, found)


# -- run groups --------------------------------------------------------------------------------


def group_parts(source: RunSource, group: str) -> list[RunSummary]:
    """The summaries of the runs recorded with run group ``group``, oldest first."""
    parts = []
    for run_id in source.run_ids():
        try:
            summary = read_summary(source, run_id)
        except (StoreError, ValidationError):
            continue
        if summary.run_group == group:
            parts.append(summary)
    return sorted(parts, key=lambda s: (s.timestamp, s.run_id))


def merge_group(group: str, parts: Sequence[RunMetadata]) -> RunMetadata:
    """One logical run from a group's parts: their tests together (a test in several parts
    counts as repeats of one test), the first part's identity, ``group:ID`` as its id."""
    if not parts:
        raise BaselineError(f"run group {group!r} has no recorded runs")
    from pytest_agentv.payload import aggregate_scores, count_outcomes

    first, last = parts[0], parts[-1]
    tests = [record for part in parts for record in part.tests]
    return first.model_copy(
        update={
            "run_id": f"group:{group}",
            "finished_at": last.finished_at,
            "tests": tests,
            "counts": count_outcomes(tests),
            "scores": aggregate_scores(tests),
            "gate": None,
        }
    )


def load_group(source: RunSource, group: str) -> tuple[RunMetadata, list[str]]:
    """A run group as one run, and the run ids of its parts."""
    summaries = group_parts(source, group)
    parts = []
    for summary in summaries:
        try:
            parts.append(read_metadata(source, summary.run_id))
        except (StoreError, ValidationError) as exc:
            raise BaselineError(f"run group {group!r}: part {summary.run_id}: {exc}") from None
    return merge_group(group, parts), [s.run_id for s in summaries]

"""Pruning old runs from the tip of a results branch: one commit through the branch writer.

The commit deletes every file of the chosen runs (history keeps them) and names them in its
trailers (:mod:`pytest_agentv.retention`), so the run index drops them and no later walk lists
them again. It goes through :meth:`BranchWriter.apply` like any change: under the lock, caught up
with the remote, compare-and-swap, pushed without forcing, re-applied on a new tip after a lost
race (a run deleted meanwhile is simply already gone).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from pytest_agentv.branch.changes import ChangeSet
from pytest_agentv.branch.spool import ChangeSpool
from pytest_agentv.branch.writer import BranchWriter
from pytest_agentv.layout import ProjectLayout
from pytest_agentv.retention import PrunePlan, plan_prune, prune_subject, prune_trailers
from pytest_agentv.store.git import RUNS_GENESIS, GitArtifactStore
from pytest_agentv.store.paths import RUN_FILES, shard_path


@dataclass(frozen=True)
class PruneResult:
    """What a prune did (or, with ``dry_run``, would do)."""

    plan: PrunePlan
    dry_run: bool
    commit: str | None = None  # the prune commit on the local branch
    pushed: bool = False
    problems: tuple[str, ...] = ()


def prune_change(plan: PrunePlan, prefix: str = "") -> ChangeSet:
    """The change set deleting every file of the planned runs."""
    files: dict[str, bytes | None] = {
        f"{shard_path(run_id, prefix)}/{name}": None for run_id in plan.prune for name in RUN_FILES
    }
    digest = hashlib.sha256(" ".join(plan.prune).encode()).hexdigest()[:16]
    return ChangeSet(
        key=f"prune-{digest}",
        subject=prune_subject(plan),
        files=files,
        trailers=tuple(prune_trailers(plan)),
    )


def prune_runs(
    store: GitArtifactStore,
    runs: Iterable[tuple[str, str]],
    now: datetime,
    older_than: str,
    keep_last: int | None = None,
    dry_run: bool = False,
) -> PruneResult:
    """Remove from the branch tip the runs of ``runs`` (``(run_id, timestamp)``, as on the tip)
    that :func:`plan_prune` chooses; nothing is written with ``dry_run`` or nothing to prune."""
    plan = plan_prune(runs, now, older_than, keep_last)
    if dry_run or not plan.prune:
        return PruneResult(plan=plan, dry_run=dry_run)
    settings = store.settings
    writer = BranchWriter(
        store.target(),
        ChangeSpool(ProjectLayout(settings.rootdir).changes_spool_dir),
        genesis=RUNS_GENESIS,
    )
    delivery = writer.apply(prune_change(plan, settings.path))
    return PruneResult(
        plan=plan,
        dry_run=False,
        commit=delivery.commit,
        pushed=delivery.pushed,
        problems=delivery.problems,
    )

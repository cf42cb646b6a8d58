"""The releases page's rows, read from the releases branch (the I/O edge of that one page).

Each version of each agent becomes a :class:`ReleaseRow`: its status, the eval run that gated it
(``metadata.evaluation``, written by ``pytest --agentv-release``) and whether ``current.yaml``
deploys it. :class:`ReleasesSection` turns the rows into the page and links each eval run to its
run page when the run is on the site.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_agentv.dashboard.extensions import ReleaseRow, ReleasesSection
from pytest_agentv.releases.models import AgentRelease

if TYPE_CHECKING:
    from pytest_agentv.releases.store import ReleaseStore
    from pytest_agentv.settings import Settings


def release_rows(store: ReleaseStore) -> list[ReleaseRow]:
    """Every version of every agent on the branch, as the store reads it at its tip."""
    rows = []
    for slug in store.agents():
        state = store.state(slug)
        current = state.current
        deployed = current.version if isinstance(current, AgentRelease) else None
        for version in sorted(state.releases):
            release = state.releases[version].release
            meta, evaluation = release.metadata, release.metadata.evaluation
            rows.append(
                ReleaseRow(
                    agent=slug,
                    version=version,
                    status=release.status,
                    timestamp=meta.timestamp,
                    changelog=meta.changelog,
                    eval_run=None if evaluation is None else evaluation.run_id,
                    score=None if evaluation is None else evaluation.score,
                    threshold=None if evaluation is None else evaluation.threshold,
                    metric=None if evaluation is None else evaluation.metric,
                    deployed=version == deployed,
                )
            )
    return rows


def releases_section(settings: Settings, *, fetch: bool = True) -> ReleasesSection:
    """The releases page of the branch the ``releases_*`` settings name (no page when the
    branch has no agents). Raises :class:`~pytest_agentv.releases.errors.ReleaseError` when
    the branch cannot be read, naming it."""
    from pytest_agentv.releases.store import ReleaseStore

    store = ReleaseStore.for_settings(settings)
    if fetch:
        store.refresh()  # a no-op without a remote
    return ReleasesSection(release_rows(store), where=store.describe())

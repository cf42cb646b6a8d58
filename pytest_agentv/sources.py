"""Where ``agentv-results`` reads runs from: one small interface, one adapter per backend.

The CLI only talks to :class:`RunSource` (:mod:`.sources_base`, with run references).
:class:`LocalRunSource` (:mod:`.sources_local`) reads a local store directory;
:class:`GitRunSource` (:mod:`.sources_git`) reads a results branch through the git store and the
SQLite run index. :func:`open_source` picks one; the store and its git library load only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_agentv.sources_base import (
    RefError,
    RefSyntaxError,
    RunSource,
    SyncOutcome,
    read_one_by_one,
    resolve_ref,
)
from pytest_agentv.sources_git import GitRunSource, GitStore, index_path
from pytest_agentv.sources_local import LocalRunSource

if TYPE_CHECKING:
    from pytest_agentv.settings import Settings

__all__ = [
    "GitRunSource",
    "GitStore",
    "LocalRunSource",
    "RefError",
    "RefSyntaxError",
    "RunSource",
    "SyncOutcome",
    "index_path",
    "open_source",
    "read_one_by_one",
    "resolve_ref",
]


def open_source(settings: Settings) -> RunSource:
    """The run source the settings name (the git store, and the git library, only when used)."""
    if settings.backend == "git":
        from pytest_agentv.store.git import GitArtifactStore

        return GitRunSource(GitArtifactStore(settings), settings)
    from pytest_agentv.store.local import LocalArtifactStore
    from pytest_agentv.store.spool import Destination, project_spool

    spool = project_spool(settings.rootdir, Destination.local(settings.local_dir))
    return LocalRunSource(LocalArtifactStore(settings.local_dir, spool))

"""Artifact stores: where runs are written and read back (see :mod:`.base` for the protocol)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_agentv.store.base import (
    ArtifactStore,
    RunArtifacts,
    RunExists,
    RunNotFound,
    StoredRun,
    StoreError,
    WriteResult,
)

if TYPE_CHECKING:
    from pytest_agentv.settings import Settings

__all__ = [
    "ArtifactStore",
    "RunArtifacts",
    "RunExists",
    "RunNotFound",
    "StoreError",
    "StoredRun",
    "WriteResult",
    "open_store",
]


def open_store(settings: Settings) -> ArtifactStore:
    """The store the settings name; the git store (and git) is imported only when used."""
    if settings.backend == "git":
        from pytest_agentv.store.git import GitArtifactStore

        return GitArtifactStore(settings)
    from pytest_agentv.store.local import LocalArtifactStore
    from pytest_agentv.store.spool import project_spool

    return LocalArtifactStore(settings.local_dir, spool=project_spool(settings.rootdir))

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
    from pytest_agentv.store.spool import Destination

__all__ = [
    "ArtifactStore",
    "RunArtifacts",
    "RunExists",
    "RunNotFound",
    "StoreError",
    "StoredRun",
    "WriteResult",
    "destination_of",
    "open_store",
    "settings_for",
]


def destination_of(settings: Settings) -> Destination:
    """Where the settings send runs, as a spooled run remembers it (no credentials)."""
    from pytest_agentv.store.spool import Destination

    if settings.backend == "git":
        return Destination.git(settings.remote, settings.branch, settings.path)
    return Destination.local(settings.local_dir)


def settings_for(settings: Settings, destination: Destination) -> Settings:
    """``settings`` sending runs to ``destination`` instead; the configured remote's
    credentials are kept when it is the same remote."""
    from dataclasses import replace
    from pathlib import Path

    from pytest_agentv.credentials import strip_credentials

    if destination.backend == "local":
        return replace(settings, backend="local", local_dir=Path(destination.directory or "."))
    remote = destination.remote
    if settings.remote and remote and strip_credentials(settings.remote) == remote:
        remote = settings.remote
    return replace(
        settings,
        backend="git",
        remote=remote,
        branch=destination.branch or settings.branch,
        path=destination.path,
    )


def open_store(settings: Settings) -> ArtifactStore:
    """The store the settings name; the git store (and git) is imported only when used."""
    if settings.backend == "git":
        from pytest_agentv.store.git import GitArtifactStore

        return GitArtifactStore(settings)
    from pytest_agentv.store.local import LocalArtifactStore
    from pytest_agentv.store.spool import project_spool

    spool = project_spool(settings.rootdir, destination_of(settings))
    return LocalArtifactStore(settings.local_dir, spool=spool)

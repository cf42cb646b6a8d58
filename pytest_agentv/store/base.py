"""The store protocol: what every backend (local directory, git branch) provides."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # pydantic stays unloaded on the CLI's fast path
    from pytest_agentv.models import RunSummary


def load_summary(data: bytes) -> RunSummary:
    """Parse ``summary.json`` bytes; ``ValueError`` (pydantic's) if they are not a summary.

    pydantic is imported here, on first use, not when a store module loads.
    """
    from pytest_agentv.models import RunSummary

    return RunSummary.model_validate_json(data)


class StoreError(Exception):
    """A store could not do what was asked; the message says what happened and what to do."""


class RunNotFound(StoreError):
    """No run has that id."""


class RunExists(StoreError):
    """A run with that id is already stored; runs are immutable."""


@dataclass(frozen=True)
class RunArtifacts:
    """One run, serialised: the bytes of its files, ready to store."""

    run_id: str
    files: dict[str, bytes]
    summary: RunSummary


@dataclass(frozen=True)
class WriteResult:
    """What happened to a written run, for the terminal summary."""

    run_id: str
    location: str
    delivered: bool = True
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class StoredRun:
    """A run as listed from a store."""

    summary: RunSummary
    pending: bool = False  # committed locally but not yet on the remote


class ArtifactStore(Protocol):
    """Where runs are written and read back."""

    def write(self, run: RunArtifacts) -> WriteResult:
        """Store a run; never overwrite one. Raise :class:`StoreError` if it cannot be kept."""
        ...

    def list(self) -> Iterator[StoredRun]:
        """Every stored run, newest first."""
        ...

    def read(self, run_id: str, name: str) -> bytes:
        """The stored bytes of one file of one run; :class:`RunNotFound` if there is none."""
        ...

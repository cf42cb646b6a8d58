"""The local backend: runs as plain files under a directory (default ``.agentv/runs``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pytest_agentv.fs import display_path, write_dir_atomically
from pytest_agentv.store.base import (
    RunArtifacts,
    RunExists,
    RunNotFound,
    StoredRun,
    StoreError,
    WriteResult,
    load_summary,
)
from pytest_agentv.store.paths import RUN_FILES, SUMMARY_FILE, check_run_id, is_run_id, shard_path
from pytest_agentv.store.spool import Spool


@dataclass(frozen=True)
class LocalSyncReport:
    """What :meth:`LocalArtifactStore.sync` moved from the spool into the directory."""

    delivered: tuple[str, ...] = ()
    pending: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()


class LocalArtifactStore:
    """Writes ``<directory>/<runId[:2]>/<runId[2:]>/{metadata.json,...}`` atomically.

    With a spool, a run that cannot be written is kept there instead (and a warning says so);
    the next write, or ``sync()``, moves it into the directory.
    """

    def __init__(self, directory: Path, spool: Spool | None = None):
        self.directory = directory
        self.spool = spool

    def run_dir(self, run_id: str) -> Path:
        """The directory one run lives in."""
        return self.directory / shard_path(run_id)

    def write(self, run: RunArtifacts) -> WriteResult:
        """Write ``run`` (after any spooled runs); keep it in the spool if that fails."""
        earlier = self.sync() if self.spool is not None else LocalSyncReport()
        notes = (
            (f"also delivered {len(earlier.delivered)} earlier run(s) from the spool",)
            if earlier.delivered
            else ()
        )
        try:
            location = self._write_dir(run)
        except RunExists:
            raise
        except StoreError as exc:
            if self.spool is None:
                raise
            return self.spool.keep(run, str(exc), notes)
        return WriteResult(run_id=run.run_id, location=location, notes=notes)

    def sync(self) -> LocalSyncReport:
        """Move spooled runs into the directory; what cannot move stays spooled."""
        if self.spool is None:
            return LocalSyncReport()
        delivered, pending, problems = [], [], []
        for run_id in self.spool.run_ids():
            try:
                self._write_dir(self.spool.load(run_id))
            except RunExists:
                pass  # written before a crash that left the spool copy behind
            except StoreError as exc:
                pending.append(run_id)
                problems.append(str(exc))
                continue
            else:
                delivered.append(run_id)
            self.spool.remove(run_id)
        return LocalSyncReport(tuple(delivered), tuple(pending), tuple(problems))

    def _write_dir(self, run: RunArtifacts) -> str:
        """Write the files into a temporary directory, then rename it into place."""
        final = self.run_dir(run.run_id)
        if final.exists():
            raise RunExists(
                f"run {run.run_id} already exists at {final}; runs are never overwritten"
            )
        if self.directory.exists() and not self.directory.is_dir():
            raise StoreError(f"cannot write run {run.run_id}: {self.directory} is not a directory")
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create {final.parent}: {exc.strerror}") from None
        try:
            write_dir_atomically(final, run.files)
        except OSError as exc:
            if final.exists():
                raise RunExists(f"run {run.run_id} already exists at {final}") from None
            raise StoreError(f"cannot write run {run.run_id} to {final}: {exc}") from None
        return display_path(final)

    def list(self) -> Iterator[StoredRun]:
        """Every run with a readable summary, newest first."""
        runs = []
        for summary_path in self.directory.glob(f"??/*/{SUMMARY_FILE}"):
            run_id = summary_path.parent.parent.name + summary_path.parent.name
            if not is_run_id(run_id):
                continue
            try:
                summary = load_summary(summary_path.read_bytes())
            except (OSError, ValueError):
                continue
            runs.append(StoredRun(summary=summary))
        runs.sort(key=lambda run: (run.summary.timestamp, run.summary.run_id), reverse=True)
        return iter(runs)

    def read(self, run_id: str, name: str) -> bytes:
        """The bytes of one stored file."""
        check_run_id(run_id)
        if name not in RUN_FILES:
            raise ValueError(f"{name!r} is not a run file; choose one of {', '.join(RUN_FILES)}")
        try:
            return (self.run_dir(run_id) / name).read_bytes()
        except FileNotFoundError:
            raise RunNotFound(f"no run {run_id} in {self.directory}") from None

"""The spool: runs waiting to be committed, as plain files written atomically.

The git store puts every run here before committing it and removes it once the commit is on the
local branch, so a run survives anything that goes wrong in between (an unwritable repository, a
refused branch, a crash). The next write or ``agentv-results sync`` commits what is left.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pytest_agentv.fs import display_path, make_ignored_dir, write_dir_atomically
from pytest_agentv.fs_locks import clean_staging
from pytest_agentv.layout import ProjectLayout
from pytest_agentv.store.base import RunArtifacts, StoreError, WriteResult, load_summary
from pytest_agentv.store.paths import RUN_FILES, SUMMARY_FILE, is_run_id

SYNC_HINT = "deliver it with `agentv-results sync`"


def project_spool(rootdir: Path) -> Spool:
    """The spool of the project at ``rootdir``: ``.agentv/spool``, or the user cache dir."""
    return Spool(ProjectLayout(rootdir).spool_dir)


class Spool:
    """``<directory>/<runId>/{metadata.json,transcript.jsonl,summary.json}``."""

    def __init__(self, directory: Path):
        self.directory = directory

    def path(self, run_id: str) -> Path:
        """The directory a spooled run lives in."""
        return self.directory / run_id

    def put(self, run: RunArtifacts) -> Path:
        """Write ``run`` durably (fsync, then rename into place); keep an existing copy."""
        final = self.path(run.run_id)
        if final.exists():
            return final
        try:
            make_ignored_dir(self.directory)
        except OSError as exc:
            raise StoreError(f"cannot create the spool {self.directory}: {exc.strerror}") from None
        try:
            write_dir_atomically(final, run.files)
        except OSError as exc:
            if final.exists():
                return final
            raise StoreError(f"cannot write run {run.run_id} to {final}: {exc}") from None
        return final

    def keep(self, run: RunArtifacts, problem: str, notes: tuple[str, ...] = ()) -> WriteResult:
        """Spool a run that could not be delivered; the result says why and where it waits."""
        try:
            where = display_path(self.put(run))
        except StoreError as exc:
            raise StoreError(f"{problem}; and the run could not be kept: {exc}") from None
        return WriteResult(
            run_id=run.run_id,
            location=where,
            delivered=False,
            notes=notes,
            problems=(f"{problem}; the run is kept locally in {where}; {SYNC_HINT}",),
        )

    def run_ids(self) -> list[str]:
        """Spooled run ids, oldest first (by when they were spooled, then by id)."""
        if not self.directory.is_dir():
            return []
        # what a killed writer left: a half-written run (.tmp-*), a half-removed one (.done-*)
        clean_staging(self.directory, prefixes=(".tmp-", ".done-"))
        found = []
        for entry in self.directory.iterdir():
            if is_run_id(entry.name) and (entry / SUMMARY_FILE).is_file():
                try:
                    found.append((entry.stat().st_mtime_ns, entry.name))
                except OSError:
                    continue
        return [run_id for _mtime, run_id in sorted(found)]

    def load(self, run_id: str) -> RunArtifacts:
        """Read a spooled run back; :class:`StoreError` if it is incomplete or corrupt."""
        directory = self.path(run_id)
        try:
            files = {name: (directory / name).read_bytes() for name in RUN_FILES}
            summary = load_summary(files[SUMMARY_FILE])
        except (OSError, ValueError) as exc:
            raise StoreError(f"spooled run {directory} is unreadable: {exc}") from None
        return RunArtifacts(run_id=run_id, files=files, summary=summary)

    def remove(self, run_id: str) -> None:
        """Forget a spooled run (it is committed); rename first so readers never see half."""
        directory = self.path(run_id)
        doomed = self.directory / f".done-{run_id}-{os.getpid()}"
        try:
            os.rename(directory, doomed)
        except OSError:
            return
        shutil.rmtree(doomed, ignore_errors=True)

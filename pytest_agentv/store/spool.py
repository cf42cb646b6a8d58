"""The spool: runs waiting to be committed, as plain files written atomically.

The git store puts every run here before committing it and removes it once the commit is on the
local branch, so a run survives anything that goes wrong in between (an unwritable repository, a
refused branch, a crash). The next write or ``agentv-results sync`` commits what is left.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pytest_agentv.credentials import strip_credentials
from pytest_agentv.fs import (
    display_path,
    make_ignored_dir,
    write_dir_atomically,
    write_file_atomically,
)
from pytest_agentv.fs_locks import clean_staging
from pytest_agentv.layout import ProjectLayout
from pytest_agentv.store.base import RunArtifacts, StoreError, WriteResult, load_summary
from pytest_agentv.store.paths import RUN_FILES, SUMMARY_FILE, is_run_id

SYNC_HINT = "deliver it with `agentv-results sync`"
#: beside a spooled run's files: where it was going (docs/format.md)
DESTINATION_FILE = "destination.json"


@dataclass(frozen=True)
class Destination:
    """Where a spooled run was going, without credentials: it is delivered there only.

    ``backend`` is ``local`` (``directory``) or ``git`` (``remote``, ``branch``, ``path``).
    """

    backend: str
    directory: str | None = None
    remote: str | None = None
    branch: str | None = None
    path: str = ""

    @classmethod
    def local(cls, directory: Path) -> Destination:
        return cls("local", directory=str(directory.resolve()))

    @classmethod
    def git(cls, remote: str | None, branch: str, path: str) -> Destination:
        return cls(
            "git", remote=strip_credentials(remote) if remote else None, branch=branch, path=path
        )

    def to_bytes(self) -> bytes:
        fields = {k: v for k, v in asdict(self).items() if v not in (None, "")}
        data = {"schemaVersion": 1, **fields}
        return json.dumps(data, sort_keys=True).encode("utf-8") + b"\n"

    @classmethod
    def from_bytes(cls, data: bytes) -> Destination:
        """Parse ``destination.json``; ``ValueError`` if it is not one."""
        document: Any = json.loads(data)
        if not isinstance(document, dict) or document.get("backend") not in ("local", "git"):
            raise ValueError("not a spool destination")
        return cls(
            backend=document["backend"],
            directory=document.get("directory"),
            remote=document.get("remote"),
            branch=document.get("branch"),
            path=document.get("path", ""),
        )

    def takes(self, kept: Destination) -> bool:
        """True when a run kept for ``kept`` may be delivered here: the same directory, or the
        same branch and path — of the same remote, or of none (a run kept for the local branch
        alone may go on to its remote; one kept for a remote never goes to another)."""
        if kept == self:
            return True
        if self.backend != "git" or kept.backend != "git":
            return False
        return (kept.branch, kept.path) == (self.branch, self.path) and kept.remote is None

    def describe(self) -> str:
        """One phrase for messages."""
        if self.backend == "local":
            return f"local directory {self.directory}"
        where = f"git branch {self.branch}" + (f" under {self.path}/" if self.path else "")
        return where + (f" of {self.remote}" if self.remote else " (no remote)")


def project_spool(rootdir: Path, destination: Destination | None = None) -> Spool:
    """The spool of the project at ``rootdir``: ``.agentv/spool``, or the user cache dir."""
    return Spool(ProjectLayout(rootdir).spool_dir, destination)


class Spool:
    """``<directory>/<runId>/{metadata.json,transcript.jsonl,summary.json,destination.json}``.

    A spool with a ``destination`` keeps runs for it and sees only those (and runs spooled before
    destinations were recorded); one without sees every run.
    """

    def __init__(self, directory: Path, destination: Destination | None = None):
        self.directory = directory
        self.destination = destination

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
        files = dict(run.files)
        if self.destination is not None:
            files[DESTINATION_FILE] = self.destination.to_bytes()
        try:
            write_dir_atomically(final, files)
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
        """Spooled run ids for this spool's destination, oldest first (by when they were
        spooled, then by id)."""
        return [run_id for run_id in self.all_run_ids() if self._takes(self.destination_of(run_id))]

    def _takes(self, kept: Destination | None) -> bool:
        return kept is None or self.destination is None or self.destination.takes(kept)

    def all_run_ids(self) -> list[str]:
        """Every spooled run id, whatever its destination, oldest first."""
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

    # -- destinations with runs committed but not pushed (in a cache or the source repository)

    @property
    def _unpushed_dir(self) -> Path:
        return self.directory / "unpushed"

    def _marker(self, destination: Destination) -> Path:
        digest = hashlib.sha256(destination.to_bytes()).hexdigest()[:16]
        return self._unpushed_dir / f"{digest}.json"

    def remember_unpushed(self, destination: Destination) -> None:
        """Note that ``destination`` has runs committed locally but not pushed, so that
        ``agentv-results sync`` with no options pushes them there."""
        marker = self._marker(destination)
        if marker.exists():
            return
        try:
            make_ignored_dir(self.directory)
            self._unpushed_dir.mkdir(exist_ok=True)
            write_file_atomically(marker, destination.to_bytes())
        except OSError:
            pass  # only a convenience: the commits themselves are safe

    def forget_unpushed(self, destination: Destination) -> None:
        """``destination`` has nothing left to push."""
        self._marker(destination).unlink(missing_ok=True)

    def unpushed_destinations(self) -> list[Destination]:
        """Destinations noted by :meth:`remember_unpushed`."""
        found = []
        for marker in sorted(self._unpushed_dir.glob("*.json")):
            try:
                found.append(Destination.from_bytes(marker.read_bytes()))
            except (OSError, ValueError, KeyError):
                continue
        return found

    def destination_of(self, run_id: str) -> Destination | None:
        """Where a spooled run was going (None: spooled before destinations were recorded, or
        unreadable: any destination may deliver it)."""
        try:
            return Destination.from_bytes((self.path(run_id) / DESTINATION_FILE).read_bytes())
        except (OSError, ValueError, KeyError):
            return None

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

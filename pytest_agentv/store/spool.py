"""The spool: runs waiting to be committed, as plain files written atomically.

The git store puts every run here before committing it and removes it once the commit is on the
local branch, so a run survives anything that goes wrong in between (an unwritable repository, a
refused branch, a crash). The next write or ``agentv-results sync`` commits what is left.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from pytest_agentv.store.base import RunArtifacts, StoreError, WriteResult, load_summary
from pytest_agentv.store.paths import RUN_FILES, SUMMARY_FILE, is_run_id

SYNC_HINT = "deliver it with `agentv-results sync`"


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when it is below it, for messages."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def write_dir_atomically(final: Path, files: Mapping[str, bytes]) -> None:
    """Write ``files`` into a temporary sibling of ``final`` (fsynced), then rename it into place.

    ``rename()`` refuses a non-empty target, so of two writers of one directory only one wins.
    Raises ``OSError``, leaving nothing half-written behind.
    """
    staging = Path(tempfile.mkdtemp(prefix=f".tmp-{final.name}-", dir=final.parent))
    try:
        for name, data in files.items():
            with open(staging / name, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        staging.chmod(0o755)
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def make_ignored_dir(directory: Path) -> None:
    """Create ``directory`` with a ``.gitignore`` of ``*`` (as pytest does for its cache), so
    the spool and cache repositories never show up in the user's ``git status``."""
    directory.mkdir(parents=True, exist_ok=True)
    ignore = directory / ".gitignore"
    if not ignore.exists():
        ignore.write_text(
            "# created by pytest-agentv: local spool and cache, not project files\n*\n"
        )


def writable_dir(preferred: Path, kind: str, rootdir: Path) -> Path:
    """``preferred`` if it can be created and written, else a per-project user cache dir.

    Nothing is created here: writers create the directory when they first need it.
    """
    probe = preferred
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if os.access(probe, os.W_OK) and (probe == preferred or probe.is_dir()):
        return preferred
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pytest-agentv"
    project = hashlib.sha256(str(rootdir.resolve()).encode()).hexdigest()[:12]
    return base / project / kind


def project_spool(rootdir: Path) -> Spool:
    """The spool of the project at ``rootdir``: ``.agentv/spool``, or the user cache dir."""
    return Spool(writable_dir(rootdir / ".agentv" / "spool", "spool", rootdir))


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

"""Filesystem helpers shared by stores, spools and caches: atomic writes, ignored directories.

Nothing here knows what the files mean.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path


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


def write_file_atomically(final: Path, data: bytes) -> None:
    """Write ``data`` to a temporary sibling of ``final`` (fsynced), then replace ``final``."""
    handle, staging = tempfile.mkstemp(prefix=f".tmp-{final.name}-", dir=final.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(staging, final)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
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


def user_cache_dir(rootdir: Path, kind: str) -> Path:
    """The per-project directory ``kind`` under the user's cache (``$XDG_CACHE_HOME``)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pytest-agentv"
    project = hashlib.sha256(str(rootdir.resolve()).encode()).hexdigest()[:12]
    return base / project / kind


def writable_dir(preferred: Path, kind: str, rootdir: Path) -> Path:
    """``preferred`` if it can be created and written, else a per-project user cache dir.

    Nothing is created here: writers create the directory when they first need it.
    """
    probe = preferred
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if os.access(probe, os.W_OK) and (probe == preferred or probe.is_dir()):
        return preferred
    return user_cache_dir(rootdir, kind)

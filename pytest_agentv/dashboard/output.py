"""Writing the site: skip-if-unchanged, atomic per file, and a manifest of what was written.

The manifest (:data:`MANIFEST`, in the output directory) records the SHA-256 of every file the
build made and the cached record of every run, so the next build rewrites only what changed and
removes only files it made itself. A directory with other content and no manifest is refused,
never overwritten.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MANIFEST = ".agentv-dashboard.json"
MANIFEST_FORMAT = 1


class SiteError(Exception):
    """The site cannot be written where asked; the message says why and what to do."""


@dataclass(frozen=True)
class Manifest:
    """What the previous build left: file digests and per-run cache entries."""

    files: Mapping[str, str]
    runs: Mapping[str, Mapping[str, Any]]
    fingerprint: str = ""


def read_manifest(out_dir: Path) -> Manifest:
    """The previous build's manifest; empty for a new or empty directory.

    Raises :class:`SiteError` for a non-empty directory that no build made.
    """
    path = out_dir / MANIFEST
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        if out_dir.exists() and not out_dir.is_dir():
            raise SiteError(f"{out_dir} is a file; give a directory for the site") from None
        if out_dir.is_dir() and any(out_dir.iterdir()):
            raise SiteError(
                f"{out_dir} is not empty and holds no {MANIFEST}, so it was not made by "
                "agentv-results dashboard; choose an empty or new directory"
            ) from None
        return Manifest({}, {})
    except (OSError, ValueError):
        # a damaged manifest only costs a full rebuild; the site's own files are rewritten
        return Manifest({}, {})
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        return Manifest({}, {})
    return Manifest(data.get("files", {}), data.get("runs", {}), data.get("fingerprint", ""))


def digest(data: bytes) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hashlib.sha256(data).hexdigest()


class SiteWriter:
    """Writes files under ``out_dir`` unless the previous build wrote the same bytes."""

    def __init__(self, out_dir: Path, previous: Manifest):
        self.out_dir = out_dir
        self.previous = previous
        self.files: dict[str, str] = {}
        self.written: list[str] = []
        self.unchanged = 0

    def write(self, path: str, data: bytes) -> None:
        """Write ``data`` at ``path`` (relative, POSIX) unless it is there already."""
        sha = digest(data)
        self.files[path] = sha
        target = self.out_dir / path
        if self.previous.files.get(path) == sha and target.is_file():
            self.unchanged += 1
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(target, data)
        self.written.append(path)

    def keep(self, path: str) -> bool:
        """Keep a file the previous build wrote without remaking it; False if it is gone."""
        sha = self.previous.files.get(path)
        if sha is None or not (self.out_dir / path).is_file():
            return False
        self.files[path] = sha
        self.unchanged += 1
        return True

    def finish(self, runs: Mapping[str, Mapping[str, Any]], fingerprint: str) -> list[str]:
        """Remove files of the previous build that this one did not make; write the manifest."""
        removed = sorted(set(self.previous.files) - set(self.files))
        for path in removed:
            with contextlib.suppress(FileNotFoundError):
                (self.out_dir / path).unlink()
        manifest = {
            "format": MANIFEST_FORMAT,
            "fingerprint": fingerprint,
            "files": dict(sorted(self.files.items())),
            "runs": runs,
        }
        self.out_dir.mkdir(parents=True, exist_ok=True)
        _atomic_write(
            self.out_dir / MANIFEST,
            json.dumps(manifest, separators=(",", ":"), sort_keys=True).encode(),
        )
        return removed


def _atomic_write(target: Path, data: bytes) -> None:
    # a reader (or a web server) sees the old file or the new one, never half of one
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise

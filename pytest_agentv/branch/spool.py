"""Pending change sets: kept on disk from before the commit until it is on the local branch.

The writer puts a change set here first, so it survives anything between (an unreachable
repository, a refused branch, a crash); the next ``apply`` or ``sync`` commits what is left.
:class:`ChangeSpool` stores any change set as one JSON file; the runs store plugs in its own
spool (one directory per run) through the same :class:`PendingChanges` protocol.
"""

from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path
from typing import Any, Protocol

from pytest_agentv.branch.changes import ChangeSet, MustHaveBlob, MustNotExist, Precondition
from pytest_agentv.fs import make_ignored_dir, write_file_atomically
from pytest_agentv.fs_locks import clean_staging

_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
SCHEMA_VERSION = 1


class SpoolError(Exception):
    """A change set could not be kept or read back; the message names the file."""


class PendingChanges(Protocol):
    """Where change sets wait until they are committed to the local branch."""

    def waiting(self) -> list[str]:
        """Keys of the waiting change sets, oldest first."""
        ...

    def load(self, key: str) -> ChangeSet:
        """The change set ``key``; :class:`SpoolError` if it is unreadable."""
        ...

    def put(self, change: ChangeSet) -> None:
        """Keep ``change`` durably (an existing copy of the same key is kept)."""
        ...

    def remove(self, key: str) -> None:
        """Forget ``key`` (it is committed, or was refused for good)."""
        ...

    def where(self, key: str) -> str:
        """Where ``key`` waits, for messages."""
        ...


def check_key(key: str) -> str:
    """``key`` if it can name a spool entry, else ``ValueError``."""
    if not _KEY.fullmatch(key):
        raise ValueError(
            f"{key!r} is not a change-set key: use 1-128 letters, digits, '.', '_' or '-'"
        )
    return key


def encode(change: ChangeSet) -> bytes:
    """The spool file of ``change`` (JSON; file contents base64)."""
    preconditions: dict[str, dict[str, str]] = {}
    for path, rule in change.preconditions.items():
        if isinstance(rule, MustHaveBlob):
            preconditions[path] = {"mustHaveBlob": rule.sha}
        else:
            preconditions[path] = {"mustNotExist": ""}
    document = {
        "schemaVersion": SCHEMA_VERSION,
        "key": change.key,
        "subject": change.subject,
        "timestamp": change.timestamp,
        "files": {
            path: None if data is None else base64.b64encode(data).decode("ascii")
            for path, data in change.files.items()
        },
        "preconditions": preconditions,
        "trailers": [list(pair) for pair in change.trailers],
    }
    return json.dumps(document, indent=1, sort_keys=True).encode("utf-8") + b"\n"


def decode(data: bytes) -> ChangeSet:
    """Parse a spool file; ``ValueError`` (or ``KeyError``) if it is not one."""
    document: dict[str, Any] = json.loads(data)
    if document.get("schemaVersion") != SCHEMA_VERSION:
        raise ValueError(f"unknown schemaVersion {document.get('schemaVersion')!r}")
    preconditions: dict[str, Precondition] = {}
    for path, rule in document["preconditions"].items():
        preconditions[path] = (
            MustHaveBlob(rule["mustHaveBlob"]) if "mustHaveBlob" in rule else (MustNotExist())
        )
    return ChangeSet(
        key=document["key"],
        subject=document["subject"],
        timestamp=document.get("timestamp"),
        files={
            path: None if value is None else base64.b64decode(value)
            for path, value in document["files"].items()
        },
        preconditions=preconditions,
        trailers=tuple((str(key), str(value)) for key, value in document["trailers"]),
    )


class ChangeSpool:
    """``<directory>/<key>.json``, one file per pending change set, written atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _file(self, key: str) -> Path:
        return self.directory / f"{check_key(key)}.json"

    def waiting(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        clean_staging(self.directory)  # a file a killed writer was writing
        found = []
        for entry in self.directory.glob("*.json"):
            if _KEY.fullmatch(entry.stem):
                try:
                    found.append((entry.stat().st_mtime_ns, entry.stem))
                except OSError:
                    continue
        return [key for _mtime, key in sorted(found)]

    def load(self, key: str) -> ChangeSet:
        path = self._file(key)
        try:
            return decode(path.read_bytes())
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SpoolError(f"pending change set {path} is unreadable: {exc}") from None

    def put(self, change: ChangeSet) -> None:
        path = self._file(change.key)
        if path.exists():
            return
        try:
            make_ignored_dir(self.directory)
            write_file_atomically(path, encode(change))
        except OSError as exc:
            raise SpoolError(f"cannot keep change set {change.key} in {path}: {exc}") from None

    def remove(self, key: str) -> None:
        try:
            os.unlink(self._file(key))
        except OSError:
            return

    def where(self, key: str) -> str:
        return str(self._file(key))

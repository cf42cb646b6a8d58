"""Stale lock files and staging leftovers: recognise what a killed writer left, never touch a
live writer's (pure filesystem, no git library).

A git-style ``.lock`` file carries no owner, so a lock is stale only when all of these hold:
it belongs to this user, no process has it open (on Linux, read from ``/proc``; where that
cannot be observed, only the age counts and must be much larger), and it has not changed for
:data:`LOCK_STALE_AFTER` seconds. A live writer of loose objects keeps its lock open until it
renames it, and git holds its ref locks for milliseconds.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

#: a lock unchanged this long and open by no process is stale
LOCK_STALE_AFTER = 10.0
#: where open files cannot be observed (no /proc), only a much older lock is taken for stale
UNOBSERVED_STALE_AFTER = 600.0
#: ``.tmp-*`` staging entries older than this were left by a killed writer
STAGING_STALE_AFTER = 600.0

_PROC = Path("/proc")


@dataclass(frozen=True)
class LockState:
    """What can be known about a lock file."""

    path: Path
    age: float  # seconds since it last changed
    holders: tuple[int, ...] | None  # pids that have it open; None: cannot be observed
    ours: bool  # owned by this user

    @property
    def stale(self) -> bool:
        if not self.ours:
            return False
        if self.holders is None:
            return self.age >= UNOBSERVED_STALE_AFTER
        return not self.holders and self.age >= LOCK_STALE_AFTER

    def describe(self) -> str:
        """Why the lock is (not) taken for stale, for messages."""
        if self.holders:
            return f"{self.path} is held by a running process (pid {self.holders[0]})"
        if not self.ours:
            return f"{self.path} belongs to another user"
        return f"{self.path} was created {self.age:.0f}s ago"


def inspect_lock(path: Path) -> LockState | None:
    """The state of the lock file ``path``; None if it is gone."""
    try:
        info = path.lstat()
    except OSError:
        return None
    return LockState(
        path=path,
        age=max(0.0, time.time() - info.st_mtime),
        holders=_holders(path),
        ours=info.st_uid == os.getuid(),
    )


def remove_if_stale(path: Path, wait: float = 0.0) -> bool:
    """Remove the lock file ``path`` if it is stale; True if it is gone now (removed here or
    released meanwhile), False if a live writer may still own it.

    With ``wait``, a lock that is open by no process but still young is watched for up to that
    many seconds: a live writer releases it, a killed one's grows old enough to be removed.
    """
    deadline = time.monotonic() + wait
    delay = 0.02
    while True:
        state = inspect_lock(path)
        if state is None:
            return True
        if state.stale:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            except OSError:
                return False
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 2, 0.5)


def sweep_stale_locks(paths: list[Path]) -> list[Path]:
    """Remove each stale lock among ``paths`` (left by killed writers, in nobody's way yet);
    returns what was removed. Live or young locks stay."""
    return [path for path in paths if path.exists() and remove_if_stale(path)]


def _holders(path: Path) -> tuple[int, ...] | None:
    """Pids with ``path`` open, scanning ``/proc/*/fd``; None when that cannot be observed."""
    if not (_PROC / "self" / "fd").is_dir():
        return None
    target = str(path.resolve())
    found = []
    for entry in os.scandir(_PROC):
        if not entry.name.isdigit():
            continue
        try:
            fds = os.scandir(f"{entry.path}/fd")
        except OSError:
            continue  # gone, or another user's process (whose locks are not ours either)
        with fds:
            for fd in fds:
                try:
                    if os.readlink(fd.path) == target:
                        found.append(int(entry.name))
                        break
                except OSError:
                    continue
    return tuple(found)


def clean_staging(
    directory: Path, max_age: float = STAGING_STALE_AFTER, prefixes: tuple[str, ...] = (".tmp-",)
) -> list[Path]:
    """Remove the staging entries (``.tmp-*``) in ``directory`` that a killed writer left
    (older than ``max_age``; a live writer renames its staging entry within moments). Returns
    what was removed; trouble removing one is not an error (the next pass tries again)."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        if not entry.name.startswith(prefixes):
            continue
        try:
            if now - entry.stat(follow_symlinks=False).st_mtime < max_age:
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed

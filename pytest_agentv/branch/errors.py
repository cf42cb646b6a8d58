"""Errors of the branch writer (no git imports: anyone may catch them)."""

from __future__ import annotations


class BranchError(Exception):
    """The branch cannot be used as asked; the message says what happened and what to do."""


class BranchConflict(BranchError):
    """A precondition of a change set does not hold on the branch; nothing was committed."""

    def __init__(self, key: str, path: str, expected: str, found: str) -> None:
        super().__init__(
            f"change {key} conflicts at {path}: expected {expected}, found {found}; "
            "nothing was committed (read the branch again and rebuild the change)"
        )
        self.key = key
        self.path = path
        self.expected = expected
        self.found = found


class FileTooLarge(BranchError):
    """A file of a change set is over the target's per-file limit; nothing was kept or committed.

    A commit the host refuses would stay first in line and block every later change, so such a
    change is refused before it reaches the spool.
    """

    def __init__(self, key: str, path: str, size: int, limit: int) -> None:
        super().__init__(
            f"change {key} was not committed: {path} is {describe_size(size)}, over the "
            f"per-file limit of {describe_size(limit)} (max_file_size; GitHub refuses files over "
            "100 MiB, and a refused commit would block every later push)"
        )
        self.key = key
        self.path = path
        self.size = size
        self.limit = limit


def describe_size(size: int) -> str:
    """``104857600`` -> ``100.0 MiB`` (binary units, as git hosts state their limits)."""
    value = float(size)
    for unit in ("bytes", "KiB", "MiB"):
        if value < 1024 or unit == "MiB":
            return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")

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

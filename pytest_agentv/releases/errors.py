"""Errors of the release operations: messages name the file, the field, the value and the fix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pytest_agentv.printable import one_line


class ReleaseError(Exception):
    """An operation on releases was refused; nothing was committed."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in an artifact: a dotted field path, the value found, what is allowed."""

    field: str
    value: object
    allowed: str

    def __str__(self) -> str:
        parts = [self.field] if self.field else []
        if self.value is not MISSING:
            parts.append(_show(self.value))
        return one_line(": ".join([*parts, self.allowed]))


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING: object = _Missing()
"""The value of a :class:`Problem` about something absent (a required field, broken YAML)."""


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class ArtifactError(ReleaseError):
    """A release file is not a valid artifact (bad YAML, schema, slug, version, score...)."""

    def __init__(self, file: str, problems: Sequence[Problem]) -> None:
        self.file = file
        self.problems = tuple(problems)
        super().__init__("\n".join(f"{file}: {problem}" for problem in self.problems))


class TransitionError(ReleaseError):
    """A status change the transition table does not allow."""


class ConflictError(ReleaseError):
    """The branch changed in a way the operation cannot re-apply on (someone else won the race)."""


class NotFoundError(ReleaseError):
    """No such agent or version on the releases branch."""

"""The release status machine: one table, read by the operations and by ``verify`` alike.

::

    pending_eval ──eval passed──▶ active ──newer version activated──▶ archived
         │                          ▲                                   │
         └──eval failed──▶ rejected └────────── deploy (rollback) ──────┘
    any status ──delete──▶ deleted

``archived → active`` is a deploy (rollback) of a version that passed its gate; a rejected or
never-evaluated release can never become active except through its own gate.
"""

from __future__ import annotations

from typing import Final

from pytest_agentv.releases.errors import TransitionError
from pytest_agentv.releases.models import STATUSES, Status

ANY: Final = "*"

ALLOWED: Final[frozenset[tuple[str, Status]]] = frozenset(
    {
        ("pending_eval", "active"),
        ("pending_eval", "rejected"),
        ("active", "archived"),
        ("archived", "active"),
        (ANY, "deleted"),
    }
)

DEPLOYABLE: Final[frozenset[Status]] = frozenset({"active", "archived"})
"""The statuses of a release that passed its gate, so may be deployed (rolled back to)."""


def is_allowed(old: Status, new: Status) -> bool:
    """Whether a release may go from ``old`` to ``new``."""
    return (old, new) in ALLOWED or (ANY, new) in ALLOWED


def allowed_from(old: Status) -> list[Status]:
    """Every status a release in ``old`` may move to, in the table's order of statuses."""
    return [new for new in STATUSES if new != old and is_allowed(old, new)]


def check_transition(old: Status, new: Status, what: str) -> None:
    """Raise :class:`TransitionError` naming ``what`` and the allowed moves, unless allowed."""
    if not is_allowed(old, new):
        moves = ", ".join(f"{old} -> {status}" for status in allowed_from(old)) or "none"
        raise TransitionError(f"{what}: {old} -> {new} is not allowed (allowed: {moves})")


def rejected_changelog(changelog: str, reason: str) -> str:
    """The changelog of a rejected release: the original with ``[REJECTED: <reason>]`` appended."""
    suffix = f"[REJECTED: {reason}]"
    return f"{changelog} {suffix}" if changelog else suffix


def deleted_changelog(reason: str) -> str:
    """The changelog of a tombstone."""
    return f"[DELETED] {reason}" if reason else "[DELETED]"

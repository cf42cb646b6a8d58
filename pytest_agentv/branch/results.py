"""What the branch writer returns: deliveries, sync reports and commits read back (data only)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BranchCommit:
    """One commit of the branch's first-parent history."""

    sha: str
    parents: tuple[str, ...]
    author: str
    timestamp: str  # author date, ISO 8601 UTC
    subject: str
    trailers: dict[str, str]
    changed: tuple[str, ...]  # file paths changed against the first parent


@dataclass(frozen=True)
class BranchDelivery:
    """What :meth:`BranchWriter.apply` did with one change set."""

    key: str
    commit: str | None  # the local commit holding it; None while it waits in the spool
    pushed: bool  # the remote has it (False without a remote: see ``target.push_url``)
    spooled: bool  # still only in the spool (not committed)
    problems: tuple[str, ...] = ()
    #: other pending change sets committed in the same pass
    also_committed: tuple[str, ...] = ()

    @property
    def delivered(self) -> bool:
        """True when the change is where the target says it should end up, without problems."""
        return not self.spooled and not self.problems


@dataclass(frozen=True)
class BranchSync:
    """What :meth:`BranchWriter.sync` did."""

    committed: tuple[str, ...] = ()  # keys committed from the spool now
    spooled: tuple[str, ...] = ()  # keys still waiting in the spool
    pushed: bool = False  # the remote has the local branch (False without a remote)
    problems: tuple[str, ...] = ()

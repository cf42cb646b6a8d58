"""Reading a branch's history: where two first-parent chains meet, commits as plain data."""

from __future__ import annotations

from pytest_agentv import trailers as trailer_format
from pytest_agentv.branch.results import BranchCommit
from pytest_agentv.git.repository import GitRepository
from pytest_agentv.serial import iso_from_epoch


def unpushed_commits(
    repo: GitRepository, local: str, remote: str | None
) -> tuple[list[str], str | None]:
    """Commits on ``local``'s first-parent chain missing from ``remote``'s, newest first,
    and where the chains meet (None if never).

    Both chains are walked in lockstep so the cost is the distance to the fork point.
    """
    ours = repo.walk_first_parent(local)
    theirs = repo.walk_first_parent(remote) if remote else None
    order: list[str] = []
    seen_ours: set[str] = set()
    seen_theirs: set[str] = set()
    try:
        while True:
            mine = next(ours, None)
            if mine is not None:
                if mine[0] in seen_theirs:
                    return order, mine[0]
                seen_ours.add(mine[0])
                order.append(mine[0])
            other = next(theirs, None) if theirs is not None else None
            if other is not None:
                if other[0] in seen_ours:
                    return order[: order.index(other[0])], other[0]
                seen_theirs.add(other[0])
            if mine is None and other is None:
                return order, None
    finally:
        ours.close()
        if theirs is not None:
            theirs.close()


def describe_entry(entry: tuple[bool, str] | None) -> str:
    """What a path holds, for conflict messages (:meth:`GitRepository.entries`)."""
    if entry is None:
        return "no such path"
    return "a directory" if entry[0] else f"blob {entry[1]}"


def branch_commit(repo: GitRepository, sha: str) -> BranchCommit:
    info = repo.commit_info(sha)
    message = info.meta.message
    return BranchCommit(
        sha=sha,
        parents=info.parents,
        author=info.meta.author,
        timestamp=iso_from_epoch(info.meta.author_time),
        subject=message.split(b"\n", 1)[0].decode("utf-8", "replace"),
        trailers=trailer_format.parse(message),
        changed=tuple(sorted(repo.changed_files(sha))),
    )

"""The project's source history, as far as a ``merge-base`` baseline needs it.

Reads the source repository (never writes it): the merge-base of ``HEAD`` and the default branch,
and the commits from there back, nearest first.
"""

from __future__ import annotations

from pathlib import Path

from dulwich.errors import NotGitRepository
from dulwich.graph import find_merge_base
from dulwich.objects import ObjectID
from dulwich.refs import Ref
from dulwich.repo import Repo

#: How far back from the merge-base a baseline is looked for.
ANCESTRY_LIMIT = 10_000
_DEFAULT_BRANCHES = ("main", "master")


class SourceHistoryError(LookupError):
    """The source repository cannot answer (not a repository, no default branch, no HEAD)."""


def _ref(repo: Repo, name: bytes) -> ObjectID | None:
    try:
        return repo.refs[Ref(name)]
    except KeyError:
        return None


def default_branch(repo: Repo) -> tuple[str, ObjectID]:
    """The default branch as ``origin/HEAD`` names it, else ``main`` or ``master`` (remote
    tracking branch first, then local); its name and commit."""
    symref = repo.refs.read_ref(Ref(b"refs/remotes/origin/HEAD"))
    candidates: list[bytes] = []
    if symref and symref.startswith(b"ref: "):
        candidates.append(symref[len(b"ref: ") :])
    for branch in _DEFAULT_BRANCHES:
        candidates += [f"refs/remotes/origin/{branch}".encode(), f"refs/heads/{branch}".encode()]
    for ref in candidates:
        sha = _ref(repo, ref)
        if sha is not None:
            name = ref.decode("utf-8", "replace").removeprefix("refs/heads/")
            return name.removeprefix("refs/remotes/"), sha
    raise SourceHistoryError(
        "the source repository has no default branch (no origin/HEAD, main or master); "
        "use a run id or 'latest:branch=NAME' as the baseline instead"
    )


def merge_base_ancestry(start: Path, limit: int = ANCESTRY_LIMIT) -> tuple[str, list[str]]:
    """The default branch's name, and the merge-base of ``HEAD`` with it followed by its
    ancestors, nearest first (commit-date order, as ``git log`` lists them)."""
    try:
        repo = Repo.discover(str(start))
    except NotGitRepository:
        raise SourceHistoryError(
            f"{start} is not in a git repository, so 'merge-base' has no history to walk"
        ) from None
    with repo:
        head = _ref(repo, b"HEAD")
        if head is None:
            raise SourceHistoryError("the source repository has no commit at HEAD")
        branch, tip = default_branch(repo)
        shallow = bool(repo.get_shallow())
        try:
            bases = find_merge_base(repo, [head, tip])
        except KeyError:  # a parent beyond a shallow clone's boundary
            bases = []
        if not bases:
            if shallow:
                raise SourceHistoryError(
                    f"the source repository is a shallow clone, and HEAD and {branch} share no "
                    "commit it has; fetch the history (git fetch --unshallow, or fetch-depth: 0 "
                    "for actions/checkout)"
                )
            raise SourceHistoryError(f"HEAD and {branch} have no common ancestor")
        commits: list[str] = []
        try:
            for entry in repo.get_walker(include=sorted(bases), max_entries=limit):
                commits.append(entry.commit.id.decode("ascii"))
        except KeyError:
            pass  # the shallow boundary: the ancestry ends where the clone's history does
        return branch, commits

"""Reading a branch: its tip, files, directories and history, without taking the lock.

:class:`BranchReader` is the read half of :class:`~pytest_agentv.branch.writer.BranchWriter`;
it opens the target's repository for each call and never writes, except to drop a ref that
points at a missing object (the next fetch repairs it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import filelock

from pytest_agentv.branch.errors import BranchError
from pytest_agentv.branch.history import branch_commit, unpushed_commits
from pytest_agentv.branch.results import BranchCommit
from pytest_agentv.branch.target import BranchTarget
from pytest_agentv.fs import make_ignored_dir
from pytest_agentv.git.repository import GitRepository


class BranchReader:
    """Reads one branch of one target."""

    #: how long to wait for another local writer of the same repository
    lock_timeout = 300.0

    def __init__(self, target: BranchTarget) -> None:
        self.target = target
        self.branch = target.branch

    # --- opening ----------------------------------------------------------------------------

    @contextmanager
    def _open(
        self, *, lock: bool, before_waiting: Callable[[], None] | None = None
    ) -> Iterator[GitRepository]:
        """The repository, under the writers' lock with ``lock``; ``before_waiting`` is called
        when another process holds the lock, before waiting for it (the writer keeps its change
        durable first: a wait can last as long as another writer's push)."""
        target = self.target
        if target.kind == "cache":
            make_ignored_dir(target.lock_path.parent)
        guard = filelock.FileLock(str(target.lock_path), timeout=self.lock_timeout)
        if lock:
            try:
                if before_waiting is not None:
                    try:
                        guard.acquire(timeout=0)
                    except filelock.Timeout:
                        before_waiting()
                        guard.acquire()
                else:
                    guard.acquire()
            except filelock.Timeout:
                raise BranchError(
                    f"another process held the lock {target.lock_path} for {self.lock_timeout:.0f}s"
                ) from None
        try:
            if target.kind == "cache":
                repo = GitRepository.open_bare(target.repo_dir)
            else:
                repo = GitRepository.open(target.repo_dir)
            with repo:
                yield repo
        finally:
            if lock:
                guard.release()

    def _present_ref(self, repo: GitRepository, ref: str) -> str | None:
        """The ref's sha when its commit is in the object store; a ref to a missing object
        (left by an interrupted or racing fetch) is removed, so the next fetch repairs it."""
        sha = repo.read_ref(ref)
        if sha is None or repo.has_object(sha):
            return sha
        repo.update_ref(ref, None, sha)
        return None

    # --- reading ----------------------------------------------------------------------------

    def tip(self) -> str | None:
        """The local branch tip (the remote-tracking tip if there is no local branch)."""
        with self._open(lock=False) as repo:
            return self._tip(repo)

    def _tip(self, repo: GitRepository) -> str | None:
        local = self._present_ref(repo, self.target.local_ref)
        if local is None and self.target.tracking_ref is not None:
            return self._present_ref(repo, self.target.tracking_ref)
        return local

    def read(self, path: str, commit: str | None = None) -> bytes | None:
        """The bytes of the file ``path`` at ``commit`` (default: the tip); None if absent."""
        with self._open(lock=False) as repo:
            at = commit or self._tip(repo)
            return None if at is None else repo.read(at, path)

    def blob_id(self, path: str, commit: str | None = None) -> str | None:
        """The blob id of the file ``path`` at ``commit`` (default: the tip); None if absent."""
        with self._open(lock=False) as repo:
            at = commit or self._tip(repo)
            return None if at is None else repo.blob_id(at, path)

    def exists(self, path: str, commit: str | None = None) -> bool:
        """True if the file or directory ``path`` exists at ``commit`` (default: the tip)."""
        with self._open(lock=False) as repo:
            at = commit or self._tip(repo)
            return at is not None and repo.exists(at, path)

    def list_dir(self, path: str, commit: str | None = None) -> list[str]:
        """Entry names of the directory ``path`` (``""``: the root), sorted; [] if none."""
        with self._open(lock=False) as repo:
            at = commit or self._tip(repo)
            return [] if at is None else repo.list_dir(at, path)

    def walk(self, stop_at: str | None = None) -> Iterator[tuple[str, bytes, int]]:
        """``(sha, raw message, commit time)`` along first parents from the tip, newest first,
        before ``stop_at``; reads no trees (the fast path of the run index)."""
        with self._open(lock=False) as repo:
            tip = self._tip(repo)
            if tip is not None:
                yield from repo.walk_first_parent(tip, stop_at)

    def log(self, path: str | None = None) -> Iterator[BranchCommit]:
        """First-parent history from the tip, newest first; with ``path``, only the commits
        that changed it (a file, or anything below a directory)."""
        with self._open(lock=False) as repo:
            tip = self._tip(repo)
            if tip is None:
                return
            for sha, _message, _time in repo.walk_first_parent(tip):
                commit = branch_commit(repo, sha)
                if path is None or any(
                    changed == path or changed.startswith(path.rstrip("/") + "/")
                    for changed in commit.changed
                ):
                    yield commit

    def unpushed(self) -> list[BranchCommit]:
        """Local commits the remote does not have yet, newest first ([] without a remote)."""
        with self._open(lock=False) as repo:
            local = self._present_ref(repo, self.target.local_ref)
            if self.target.tracking_ref is None or local is None:
                return []
            remote = self._present_ref(repo, self.target.tracking_ref)
            if local == remote:
                return []
            shas, _base = unpushed_commits(repo, local, remote)
            return [branch_commit(repo, sha) for sha in shas]

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """True if ``ancestor`` is ``descendant`` or in its history (False if either is unknown)."""
        with self._open(lock=False) as repo:
            if not (repo.has_object(ancestor) and repo.has_object(descendant)):
                return False
            return repo.is_ancestor(ancestor, descendant)

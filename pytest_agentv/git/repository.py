"""The facade of the git package: a repository handle speaking plain types.

Code outside :mod:`pytest_agentv.git` holds a :class:`GitRepository` and never the dulwich
``Repo`` inside it; shas are hex strings, paths are ``/``-separated strings.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from dulwich.file import FileLocked
from dulwich.repo import Repo

from pytest_agentv.fs_locks import LOCK_STALE_AFTER, remove_if_stale, sweep_stale_locks
from pytest_agentv.git import maintenance, objects, packs, provenance, refs, transport
from pytest_agentv.git.errors import GitError
from pytest_agentv.git.objects import CommitMeta
from pytest_agentv.git.provenance import repo_slug
from pytest_agentv.git.transport import REMOTE_BUSY, RemoteBranch

_T = TypeVar("_T")

__all__ = [
    "REMOTE_BUSY",
    "CommitMeta",
    "GitRepository",
    "RemoteBranch",
    "SourceInfo",
    "genesis_sha",
    "repo_slug",
    "source_info",
]


def genesis_sha(message: bytes, readme: bytes) -> str:
    """The sha of the deterministic root commit a new branch with this message and README
    starts from."""
    return objects.genesis_sha(message, readme)


@dataclass(frozen=True)
class Remote:
    """A remote configured in the source repository."""

    name: str
    fetch_url: str | None
    push_url: str | None


@dataclass(frozen=True)
class SourceInfo:
    """What the branch writer needs to know about the project's own repository."""

    control_dir: Path  # .git, or the bare repository itself
    bare: bool
    head_branch: str | None
    identity: str | None  # ``Name <email>`` from the git config stack, if set
    remotes: Mapping[str, Remote]


def global_identity() -> str | None:
    """The identity of the user's global git config (for commits outside a repository)."""
    return refs.global_identity()


def source_info(start: Path) -> SourceInfo | None:
    """The git repository containing ``start``, described; None outside one."""
    repo = provenance.find_source_repo(start)
    if repo is None:
        return None
    with repo:
        remotes = {
            name: Remote(name, refs.remote_url(repo, name), refs.remote_url(repo, name, push=True))
            for name in refs.remote_names(repo)
        }
        return SourceInfo(
            control_dir=refs.control_dir(repo),
            bare=bool(repo.bare),
            head_branch=refs.head_branch(repo),
            identity=refs.user_identity(repo),
            remotes=remotes,
        )


@dataclass(frozen=True)
class CommitInfo:
    """A commit, read back."""

    sha: str
    parents: tuple[str, ...]
    meta: CommitMeta


class GitRepository:
    """One open repository (a work tree's ``.git`` or a bare repository)."""

    def __init__(self, repo: Repo) -> None:
        self._repo = repo

    def _reading(self, action: Callable[[], _T]) -> _T:
        """Run a read; an object missing from the store (a lost pack, a cache cut short)
        becomes a :class:`GitError` that says what to do, not a ``KeyError``."""
        try:
            return action()
        except KeyError as exc:
            sha = exc.args[0] if exc.args else b"?"
            name = sha.decode("ascii", "replace") if isinstance(sha, bytes) else str(sha)
            where = refs.control_dir(self._repo)
            raise GitError(
                f"object {name} is missing from {where} (a pack was lost or a write was cut "
                "short); run the command again with --fetch to fetch what the remote has, or "
                f"if this is a cache repository, delete {where} to rebuild it from the remote "
                "(runs not yet delivered are kept in the spool)"
            ) from None

    @classmethod
    def open(cls, path: Path) -> GitRepository:
        """Open the repository at ``path``."""
        return cls(refs.open_repo(path))

    @classmethod
    def open_bare(cls, path: Path) -> GitRepository:
        """Open the bare repository at ``path``, creating it first (atomically) if missing."""
        return cls(refs.init_bare(path))

    def close(self) -> None:
        self._repo.close()

    def sweep_stale_locks(self) -> list[Path]:
        """Remove the stale loose-object and ref locks a killed writer left (see
        :mod:`pytest_agentv.fs_locks`), including those no write has run into yet."""
        root = refs.control_dir(self._repo)
        candidates = [*(root / "objects").glob("??/*.lock"), *(root / "refs").rglob("*.lock")]
        candidates.append(root / "packed-refs.lock")
        return sweep_stale_locks(candidates)

    def __enter__(self) -> GitRepository:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- refs -------------------------------------------------------------------------------

    def read_ref(self, ref: str) -> str | None:
        """The hex sha a ref points at, or None if it does not exist."""
        return refs.read_ref(self._repo, ref)

    def update_ref(self, ref: str, new: str | None, old: str | None) -> bool:
        """Compare-and-swap ``ref`` from ``old`` to ``new`` (None: absent); False if it moved."""
        return refs.update_ref(self._repo, ref, new, old)

    # --- objects ----------------------------------------------------------------------------

    def has_object(self, sha: str) -> bool:
        return objects.has_object(self._repo, sha)

    def _writing(self, action: Callable[[], _T]) -> _T:
        """Run an object write; a loose object's ``.lock`` left by a killed writer is removed
        (when stale: :mod:`pytest_agentv.fs_locks`) and the write tried again."""
        removed: set[Path] = set()
        while True:
            try:
                return action()
            except FileLocked as exc:
                lock = Path(os.fsdecode(exc.lockfilename))
                if lock in removed or not remove_if_stale(lock, wait=LOCK_STALE_AFTER + 2):
                    message = refs.stuck_lock_message("cannot write a git object", lock)
                    raise GitError(message) from None
                removed.add(lock)

    def blob_bytes(self, sha: str) -> bytes:
        return self._reading(lambda: objects.read_blob_id(self._repo, sha))

    def blob_id(self, commit: str, path: str) -> str | None:
        """The blob sha of the file ``path`` in ``commit``; None if there is no such file."""
        return self._reading(lambda: objects.blob_at(self._repo, commit, path))

    def read(self, commit: str, path: str) -> bytes | None:
        """The bytes of the file ``path`` in ``commit``; None if there is no such file."""
        sha = self.blob_id(commit, path)
        return None if sha is None else self.blob_bytes(sha)

    def entries(self, commit: str, paths: list[str]) -> dict[str, tuple[bool, str] | None]:
        """``path -> (is a directory, sha)`` in ``commit`` (None: absent), each tree read once."""
        found = self._reading(lambda: objects.tree_entries(self._repo, commit, paths))
        return {
            path: None if entry is None else (entry[0] == objects.DIR_MODE, entry[1])
            for path, entry in found.items()
        }

    def exists(self, commit: str, path: str) -> bool:
        """True if ``path`` (file or directory) exists in ``commit``."""
        return self._reading(lambda: objects.tree_entry(self._repo, commit, path) is not None)

    def list_dir(self, commit: str, path: str) -> list[str]:
        return self._reading(lambda: objects.list_dir(self._repo, commit, path))

    def commit(
        self, parent: str | None, changes: Mapping[str, str | bytes | None], meta: CommitMeta
    ) -> str:
        """Commit ``changes`` on top of ``parent`` as one pack: path -> blob sha (stored
        already), file contents (``bytes``, stored now) or None (delete)."""
        return self._writing(lambda: objects.commit_changes(self._repo, parent, changes, meta))

    def changed_files(self, sha: str) -> dict[str, tuple[str | None, str | None]]:
        """``path -> (blob before, blob after)`` of a commit against its first parent."""
        return self._reading(lambda: objects.changed_files(self._repo, sha))

    def commit_info(self, sha: str) -> CommitInfo:
        return self._reading(
            lambda: CommitInfo(
                sha=sha,
                parents=tuple(objects.commit_parents(self._repo, sha)),
                meta=objects.commit_meta(self._repo, sha),
            )
        )

    def genesis_commit(self, message: bytes, readme: bytes) -> str:
        """Write the deterministic root commit; return its sha."""
        return self._writing(lambda: objects.genesis_commit(self._repo, message, readme))

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return objects.is_ancestor(self._repo, ancestor, descendant)

    def walk_first_parent(
        self, tip: str, stop_at: str | None = None
    ) -> Generator[tuple[str, bytes, int], None, None]:
        """``(sha, message, commit time)`` along first parents from ``tip``, before ``stop_at``."""
        with packs.ObjectReader(self._repo) as reader:
            walk = packs.walk_first_parent(reader, tip, stop_at)
            while True:
                step = self._reading(lambda: next(walk, None))
                if step is None:
                    return
                yield step

    def consolidate_packs(self, *, busy: bool = False) -> int:
        """Roll small packs into one when they break the geometric progression (see
        :mod:`.maintenance`); never raises: it is an optimisation. Returns packs rolled up.
        ``busy``: the remote is contended, so only when packs are many (:data:`BUSY_MIN_PACKS`)."""
        min_packs = maintenance.BUSY_MIN_PACKS if busy else maintenance.MIN_PACKS
        try:
            return maintenance.consolidate(self._repo, min_packs)
        except Exception:  # a failed repack leaves every pack in place
            return 0

    # --- remotes ----------------------------------------------------------------------------

    def fetch_branch(self, url: str, branch: str, timeout: float | None = None) -> RemoteBranch:
        """Fetch ``branch`` from ``url`` into the object store; refs are left alone.
        ``timeout``: seconds to connect and per read (:mod:`pytest_agentv.git.deadline`)."""
        return transport.fetch_branch(self._repo, url, branch, timeout)

    def push_branch(
        self, url: str, branch: str, old: str | None, new: str, timeout: float | None = None
    ) -> str | None:
        """Push ``new`` if the remote still has ``old``; None when taken, else why not."""
        return transport.push_branch(self._repo, url, branch, old, new, timeout)

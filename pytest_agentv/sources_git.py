"""The git backend's :class:`~pytest_agentv.sources_base.RunSource`: a results branch read
through the git store, with list rows and run-id prefixes served by the SQLite index
(:mod:`pytest_agentv.index`) so nothing walks history twice."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from pytest_agentv.credentials import mask_credentials, strip_credentials
from pytest_agentv.git_cli import GitCli, GitCliError, find_git
from pytest_agentv.index import CommitLike, RowFeed, RunIndex, RunQuery, RunRow
from pytest_agentv.layout import ProjectLayout
from pytest_agentv.sources_base import SyncOutcome, read_one_by_one

if TYPE_CHECKING:
    from pytest_agentv.settings import Settings


class _SyncReport(Protocol):
    @property
    def pushed(self) -> Sequence[str]: ...
    @property
    def pending(self) -> Sequence[str]: ...
    @property
    def problems(self) -> Sequence[str]: ...


class _Target(Protocol):
    @property
    def repo_dir(self) -> Path: ...


class GitStore(Protocol):
    """The git store calls the CLI uses beyond the :class:`ArtifactStore` protocol."""

    prefix: str

    def target(self) -> _Target: ...
    def fetch(self) -> None: ...
    def tip(self) -> str | None: ...
    def walk(self, stop_at: str | None = None) -> Iterator[CommitLike]: ...
    def is_ancestor(self, ancestor: str, descendant: str) -> bool: ...
    def read(self, run_id: str, name: str) -> bytes: ...
    def pending_run_ids(self) -> set[str]: ...
    def sync(self) -> _SyncReport: ...
    def describe(self) -> str: ...


def index_path(settings: Settings) -> tuple[Path, str]:
    """The index file of the branch the settings name, and the identity stored in it."""
    # without credentials: the index file stores its identity, and a token must not land on disk
    # (the same remote with other credentials is the same branch, so it shares the index)
    remote = strip_credentials(settings.remote or "")
    identity = f"git\n{remote}\n{settings.branch}\n{settings.path}"
    key = hashlib.sha256(identity.encode()).hexdigest()[:16]
    cache = ProjectLayout(settings.rootdir).cache_dir
    if remote != (settings.remote or ""):
        # an index written before credentials were stripped holds the URL: remove it
        legacy = f"git\n{settings.remote}\n{settings.branch}\n{settings.path}"
        old = cache / f"runs-{hashlib.sha256(legacy.encode()).hexdigest()[:16]}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{old}{suffix}").unlink(missing_ok=True)
    return cache / f"runs-{key}.sqlite3", identity


class GitRunSource:
    """A results branch, read through the git store and the run index.

    With ``git`` on PATH, history and batches of files are read through one git process each
    (:mod:`pytest_agentv.git_cli`); without it, or when git fails, through the store (pure Python).
    Both give the same rows; ``use_git_cli=False`` keeps to the store.
    """

    backend = "git"

    def __init__(
        self,
        store: GitStore,
        settings: Settings,
        index: RunIndex | None = None,
        *,
        use_git_cli: bool = True,
    ):
        self.store = store
        self.settings = settings
        if index is None:
            path, identity = index_path(settings)
            index = RunIndex(path, identity)
        self.index = index
        self._fresh = False
        self._pending: set[str] | None = None
        self._use_git_cli = use_git_cli
        self._git: GitCli | None = None

    def close(self) -> None:
        """Close the run index's database."""
        self.index.close()

    def describe(self) -> str:
        return self.store.describe()

    def has_remote(self) -> bool:
        return self.settings.remote is not None

    def fetch(self) -> None:
        self.store.fetch()
        self._fresh = False
        self._pending = None

    def git_cli(self) -> GitCli | None:
        """The git command line for this branch's repository, if it is used and on PATH."""
        if self._git is None and self._use_git_cli:
            executable = find_git()
            if executable is None:
                self._use_git_cli = False
            else:
                self._git = GitCli(self.store.target().repo_dir, executable)
        return self._git

    def _without_git_cli(self) -> None:
        # one failure is enough to know: the rest of the command reads through the store
        self._use_git_cli = False
        self._git = None

    def refresh_index(self) -> None:
        """Bring the index up to the branch tip (cheap when nothing changed)."""
        if self._fresh:
            return
        store = self.store
        tip = store.tip()
        if tip is not None and tip != self.index.last_indexed() and (git := self.git_cli()):
            try:
                self.index.update(
                    tip, lambda last: RowFeed(git.first_parent(tip, last)), store.is_ancestor
                )
                self._fresh = True
                return
            except GitCliError:
                self._without_git_cli()  # the index rolled back: walk again through the store
        # the store's commits go to the index as they are: no copy per commit on a 100k walk
        self.index.update(tip, store.walk, store.is_ancestor)
        self._fresh = True

    def query(self, query: RunQuery) -> list[RunRow]:
        self.refresh_index()
        pending = self.pending()
        rows = self.index.query(query)
        if not pending:
            return rows
        from dataclasses import replace

        return [replace(r, pending=True) if r.run_id in pending else r for r in rows]

    def matching(self, prefix: str, limit: int) -> list[str]:
        self.refresh_index()
        return self.index.resolve_prefix(prefix, limit)

    def nth_latest(self, n: int) -> str | None:
        self.refresh_index()
        row = self.index.nth_latest(n)
        return row.run_id if row else None

    def abbrev(self, run_ids: Sequence[str]) -> dict[str, str]:
        self.refresh_index()
        return {run_id: self.index.abbrev(run_id) for run_id in run_ids}

    def read(self, run_id: str, name: str) -> bytes:
        return self.store.read(run_id, name)

    def read_each(self, run_ids: Sequence[str], name: str) -> dict[str, bytes]:
        from pytest_agentv.store.paths import RUN_FILES, shard_path

        git = self.git_cli()
        tip = self.store.tip() if git is not None and name in RUN_FILES else None
        if git is None or tip is None:
            return read_one_by_one(self.read, run_ids, name)
        specs = [f"{tip}:{shard_path(run_id, self.store.prefix)}/{name}" for run_id in run_ids]
        try:
            blobs = git.read_files(specs)
        except GitCliError:
            self._without_git_cli()
            return read_one_by_one(self.read, run_ids, name)
        found = {r: blob for r, blob in zip(run_ids, blobs, strict=True) if blob is not None}
        # not at the tip: maybe spooled, not committed yet (the store knows where to look)
        missing = [run_id for run_id, blob in zip(run_ids, blobs, strict=True) if blob is None]
        return found | read_one_by_one(self.read, missing, name)

    def exists(self, run_id: str) -> bool:
        from pytest_agentv.store.base import RunNotFound
        from pytest_agentv.store.paths import SUMMARY_FILE

        # one path lookup at the tip; never a history walk
        try:
            self.store.read(run_id, SUMMARY_FILE)
        except RunNotFound:
            return False
        return True

    def row(self, run_id: str) -> RunRow | None:
        self.refresh_index()
        return self.index.find(run_id)

    def pending(self) -> set[str]:
        if self._pending is None:
            self._pending = set(self.store.pending_run_ids())
        return self._pending

    def run_ids(self) -> list[str]:
        self.refresh_index()
        return self.index.all_run_ids()

    def layout_problems(self, run_id: str | None) -> list[str]:
        # the git store writes whole run trees in one commit; reading each file is the check
        return []

    def sync(self) -> SyncOutcome:
        if self.settings.remote is None:
            return SyncOutcome(
                f"nothing to sync: no remote is configured for branch {self.settings.branch} "
                "(set --remote, AGENTV_REMOTE or artifacts.git.remote)"
            )
        report = self.store.sync()
        self._pending = None
        pushed, pending = tuple(report.pushed), tuple(report.pending)
        problems = tuple(report.problems)
        if problems:
            message = f"{len(pending)} run(s) still not on the remote"
        elif pushed:
            message = f"pushed {len(pushed)} run(s) to {mask_credentials(self.settings.remote)}"
        else:
            where = mask_credentials(self.settings.remote)
            message = f"nothing to sync: every run is already on {where}"
        return SyncOutcome(message, pushed, pending, problems)

"""Where ``agentv-results`` reads runs from: one small interface, one adapter per backend.

The CLI only talks to :class:`RunSource`. :class:`LocalRunSource` reads a local store directory;
:class:`GitRunSource` reads a results branch through the git store, with list rows and run-id
prefixes served by the SQLite index (:mod:`pytest_agentv.index`) so nothing walks history twice.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from pytest_agentv.credentials import mask_credentials, strip_credentials
from pytest_agentv.git_cli import GitCli, GitCliError, find_git
from pytest_agentv.index import (
    CommitLike,
    RowFeed,
    RunIndex,
    RunQuery,
    RunRow,
    matches,
    unique_prefix_length,
)
from pytest_agentv.layout import ProjectLayout
from pytest_agentv.run_ids import is_run_id, is_run_id_prefix

if TYPE_CHECKING:
    from pytest_agentv.settings import Settings
    from pytest_agentv.store.local import LocalArtifactStore

_LATEST = re.compile(r"latest(?:~(\d+))?")
_TOO_MANY = 10**18
_MAX_CANDIDATES = 10


class RefError(LookupError):
    """A run reference names no run, or more than one."""


class RefSyntaxError(ValueError):
    """A run reference is not a run id, a prefix of one, ``latest`` or ``latest~N``."""


@dataclass(frozen=True)
class SyncOutcome:
    """What ``sync`` did."""

    message: str
    pushed: tuple[str, ...] = ()
    pending: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()


class RunSource(Protocol):
    """What the CLI needs from a backend."""

    backend: str

    def describe(self) -> str:
        """Where runs are read from, in one phrase."""
        ...

    def has_remote(self) -> bool:
        """True if there is a remote to fetch from and push to."""
        ...

    def fetch(self) -> None:
        """Update from the remote (StoreError on failure)."""
        ...

    def query(self, query: RunQuery) -> list[RunRow]:
        """Rows matching ``query``, newest first."""
        ...

    def matching(self, prefix: str, limit: int) -> list[str]:
        """Run ids that start with ``prefix``."""
        ...

    def nth_latest(self, n: int) -> str | None:
        """The run id ``n`` places before the newest."""
        ...

    def abbrev(self, run_ids: Sequence[str]) -> dict[str, str]:
        """The shortest unique prefix of each run id."""
        ...

    def read(self, run_id: str, name: str) -> bytes:
        """The stored bytes of one file of one run (RunNotFound if absent)."""
        ...

    def read_each(self, run_ids: Sequence[str], name: str) -> dict[str, bytes]:
        """One file of each of ``run_ids`` (runs without it are left out): what a listing
        reads, in one go where the backend can."""
        ...

    def exists(self, run_id: str) -> bool:
        """True if a run with this exact id is stored."""
        ...

    def row(self, run_id: str) -> RunRow | None:
        """The list row of one run, if the source has one without reading blobs."""
        ...

    def pending(self) -> set[str]:
        """Runs committed locally but not on the remote."""
        ...

    def run_ids(self) -> list[str]:
        """Every stored run id, newest first."""
        ...

    def layout_problems(self, run_id: str | None) -> list[str]:
        """What is out of place in one run's directory (or, with None, in the store itself)."""
        ...

    def close(self) -> None:
        """Release what the source holds open (the run index's database)."""
        ...

    def sync(self) -> SyncOutcome:
        """Push what is pending."""
        ...


def resolve_ref(source: RunSource, ref: str) -> str:
    """A full run id from a run id, a unique prefix, ``latest`` or ``latest~N``."""
    text = ref.strip()
    if latest := _LATEST.fullmatch(text):
        digits = latest.group(1) or "0"
        n = int(digits) if len(digits) <= 18 else _TOO_MANY  # SQLite's OFFSET is 64-bit
        run_id = source.nth_latest(n) if n < _TOO_MANY else None
        if run_id is None and n >= _TOO_MANY:
            raise RefError(f"{ref!r}: there are fewer than {digits} runs in {source.describe()}")
        if run_id is None:
            raise RefError(f"{ref!r}: there are fewer than {n + 1} runs in {source.describe()}")
        return run_id
    lowered = text.lower()
    if not is_run_id_prefix(lowered):
        raise RefSyntaxError(
            f"{ref!r} is not a run reference; use a run id or a unique prefix of one "
            "(hex digits), 'latest' or 'latest~N'"
        )
    if is_run_id(lowered):
        if source.exists(lowered):
            return lowered
        raise RefError(f"no run {lowered} in {source.describe()}")
    candidates = source.matching(lowered, _MAX_CANDIDATES + 1)
    if not candidates:
        raise RefError(f"no run starting with {lowered!r} in {source.describe()}")
    if len(candidates) > 1:
        listed = ", ".join(candidates[:_MAX_CANDIDATES])
        more = " and more" if len(candidates) > _MAX_CANDIDATES else ""
        raise RefError(f"run prefix {lowered!r} is ambiguous: {listed}{more}; type more digits")
    return candidates[0]


# --- local directory ------------------------------------------------------------------------------


class LocalRunSource:
    """Runs as files under the local store's directory."""

    backend = "local"

    def __init__(self, store: LocalArtifactStore):
        self.store = store
        self._rows: list[RunRow] | None = None

    def describe(self) -> str:
        return f"local directory {self.store.directory}"

    def has_remote(self) -> bool:
        return False

    def fetch(self) -> None:
        return None

    def _all_rows(self) -> list[RunRow]:
        if self._rows is None:
            self._rows = [
                RunRow(
                    run_id=s.run_id,
                    timestamp=s.timestamp,
                    model=s.model,
                    eval_file=s.eval_file,
                    total=s.counts.total,
                    passed=s.counts.passed,
                    failed=s.counts.failed,
                    skipped=s.counts.skipped,
                    errors=s.counts.errors,
                    scores={name: agg.mean for name, agg in s.scores.items()},
                    source_commit=s.source_commit,
                )
                for s in (stored.summary for stored in self.store.list())
            ]
        return self._rows

    def query(self, query: RunQuery) -> list[RunRow]:
        rows = [row for row in self._all_rows() if matches(row, query)]
        return rows[: query.limit] if query.limit is not None else rows

    def _run_dirs(self, prefix: str = "") -> Iterator[str]:
        pattern = (
            f"{prefix[:2]}/{prefix[2:]}*"
            if len(prefix) >= 2
            else f"{prefix}{'?' * (2 - len(prefix))}/*"
        )
        for path in self.store.directory.glob(pattern):
            run_id = path.parent.name + path.name
            if path.is_dir() and is_run_id(run_id):
                yield run_id

    def matching(self, prefix: str, limit: int) -> list[str]:
        return sorted(self._run_dirs(prefix))[:limit]

    def nth_latest(self, n: int) -> str | None:
        rows = self._all_rows()
        return rows[n].run_id if n < len(rows) else None

    def abbrev(self, run_ids: Sequence[str]) -> dict[str, str]:
        every = sorted(self._run_dirs())
        where = {run_id: i for i, run_id in enumerate(every)}
        short = {}
        for run_id in run_ids:
            i = where.get(run_id)
            neighbours = every[max(0, i - 1) : i + 2] if i is not None else []
            short[run_id] = run_id[: unique_prefix_length(run_id, neighbours)]
        return short

    def read(self, run_id: str, name: str) -> bytes:
        return self.store.read(run_id, name)

    def read_each(self, run_ids: Sequence[str], name: str) -> dict[str, bytes]:
        return _read_each(self.read, run_ids, name)

    def exists(self, run_id: str) -> bool:
        return self.store.run_dir(run_id).is_dir()

    def row(self, run_id: str) -> RunRow | None:
        return None

    def pending(self) -> set[str]:
        return set()

    def run_ids(self) -> list[str]:
        listed = [row.run_id for row in self._all_rows()]
        # runs without a readable summary are not listed, but verify must still see them
        unlisted = sorted(set(self._run_dirs()) - set(listed))
        return listed + unlisted

    def layout_problems(self, run_id: str | None) -> list[str]:
        from pytest_agentv.store.paths import RUN_FILES

        root = self.store.directory
        if run_id is None:
            if not root.is_dir():
                return []
            problems = []
            for entry in sorted(root.iterdir()):
                if not (entry.is_dir() and re.fullmatch(r"[0-9a-f]{2}", entry.name)):
                    problems.append(f"unexpected entry {entry.name!r} in the store directory")
                    continue
                for sub in sorted(entry.iterdir()):
                    if not (sub.is_dir() and is_run_id(entry.name + sub.name)):
                        problems.append(
                            f"unexpected entry {entry.name}/{sub.name!r} "
                            "(not a run directory; an interrupted write leaves "
                            ".tmp-* directories)"
                        )
            return problems
        run_dir = self.store.run_dir(run_id)
        present = {p.name for p in run_dir.iterdir()} if run_dir.is_dir() else set()
        problems = [f"{name}: missing" for name in RUN_FILES if name not in present]
        problems += [
            f"{name}: unexpected file in the run directory"
            for name in sorted(present - set(RUN_FILES))
        ]
        return problems

    def close(self) -> None:
        """Nothing to release."""

    def sync(self) -> SyncOutcome:
        report = self.store.sync()
        if report.problems:
            message = f"{len(report.pending)} run(s) still waiting in the spool"
        elif report.delivered:
            message = f"moved {len(report.delivered)} spooled run(s) into {self.store.directory}"
        else:
            message = (
                f"nothing to sync: the local backend keeps runs in {self.store.directory} "
                "and has no remote (use --backend git to push runs to a branch)"
            )
        return SyncOutcome(message, report.delivered, report.pending, report.problems)


# --- git results branch ---------------------------------------------------------------------------


def _read_each(
    read: Callable[[str, str], bytes], run_ids: Sequence[str], name: str
) -> dict[str, bytes]:
    from pytest_agentv.store.base import RunNotFound

    found = {}
    for run_id in run_ids:
        try:
            found[run_id] = read(run_id, name)
        except RunNotFound:
            continue
    return found


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
            return _read_each(self.read, run_ids, name)
        specs = [f"{tip}:{shard_path(run_id, self.store.prefix)}/{name}" for run_id in run_ids]
        try:
            blobs = git.read_files(specs)
        except GitCliError:
            self._without_git_cli()
            return _read_each(self.read, run_ids, name)
        found = {r: blob for r, blob in zip(run_ids, blobs, strict=True) if blob is not None}
        # not at the tip: maybe spooled, not committed yet (the store knows where to look)
        missing = [run_id for run_id, blob in zip(run_ids, blobs, strict=True) if blob is None]
        return found | _read_each(self.read, missing, name)

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


def open_source(settings: Settings) -> RunSource:
    """The run source the settings name (the git store, and the git library, only when used)."""
    if settings.backend == "git":
        from pytest_agentv.store.git import GitArtifactStore

        return GitRunSource(GitArtifactStore(settings), settings)
    from pytest_agentv.store.local import LocalArtifactStore
    from pytest_agentv.store.spool import Destination, project_spool

    spool = project_spool(settings.rootdir, Destination.local(settings.local_dir))
    return LocalRunSource(LocalArtifactStore(settings.local_dir, spool))

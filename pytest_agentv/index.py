"""A local SQLite index of the runs on a results branch, so listing 100k runs stays fast.

This module is the storage and query half; :mod:`pytest_agentv.index_rows` builds the rows from
commit trailers alone (no blob reads). The index remembers the tip it last saw and catches up
by walking only newer commits; if that tip is no longer an ancestor of the branch (a history
rewrite), or the file is missing, corrupt or from another schema, it is rebuilt.
Stdlib only: this module is on the warm path of ``agentv-results list``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pytest_agentv.index_rows import COLUMNS as _COLUMNS
from pytest_agentv.index_rows import CommitLike, IndexedCommit, RowFeed, values
from pytest_agentv.trailers import parse_scores

__all__ = [
    "CommitLike",
    "IndexedCommit",
    "RowFeed",
    "RunIndex",
    "RunQuery",
    "RunRow",
    "UpdateStats",
    "matches",
    "row_from_trailers",
    "unique_prefix_length",
]

#: 3: no unique index on the commit column (nothing queries it; a first index sorted it), and
#: ``seq`` counts down to newer rows (a first index lets SQLite number them as they stream in)
INDEX_SCHEMA = 3
MIN_ABBREV = 8
_HEX_END = "g"  # sorts after every lowercase hex digit: prefix range upper bound


@dataclass(frozen=True)
class RunRow:
    """What a list view shows of one run."""

    run_id: str
    timestamp: str
    model: str | None = None
    eval_file: str | None = None
    total: int = 0
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    errors: int = 0
    scores: Mapping[str, float] = field(default_factory=dict)  # metric -> mean
    source_commit: str | None = None
    commit: str | None = None  # the results-branch commit (git backend)
    pending: bool = False  # committed locally, not yet on the remote


@dataclass(frozen=True)
class RunQuery:
    """Filters of ``list``; ``model``/``eval_file`` match exactly, or as globs with ``*?[``."""

    model: str | None = None
    eval_file: str | None = None
    since: str | None = None  # ISO timestamps as runs store them (``...Z``)
    until: str | None = None
    limit: int | None = None


def row_from_trailers(entry: CommitLike) -> RunRow | None:
    """A list row from a run commit's trailers; None for commits that carry no run."""
    row = values(entry)
    return _row(row) if row is not None else None


def matches(row: RunRow, query: RunQuery) -> bool:
    """The in-memory equivalent of :meth:`RunIndex.query`'s filters (for the local backend)."""
    from fnmatch import fnmatchcase

    def like(value: str | None, pattern: str | None) -> bool:
        if pattern is None:
            return True
        if value is None:
            return False
        return fnmatchcase(value, pattern) if _is_glob(pattern) else value == pattern

    return (
        like(row.model, query.model)
        and like(row.eval_file, query.eval_file)
        and (query.since is None or row.timestamp >= query.since)
        and (query.until is None or row.timestamp <= query.until)
    )


def _is_glob(pattern: str) -> bool:
    return any(char in pattern for char in "*?[")


def unique_prefix_length(run_id: str, neighbours: Iterable[str], minimum: int = MIN_ABBREV) -> int:
    """The shortest prefix of ``run_id`` that none of its sorted neighbours share."""
    longest = 0
    for other in neighbours:
        if other == run_id:
            continue
        common = 0
        for a, b in zip(run_id, other, strict=False):
            if a != b:
                break
            common += 1
        longest = max(longest, common)
    return min(len(run_id), max(minimum, longest + 1))


@dataclass(frozen=True)
class UpdateStats:
    """What an index update did."""

    added: int
    rebuilt: bool
    reason: str = ""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    seq INTEGER PRIMARY KEY,          -- smaller is newer on the branch
    commit_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    model TEXT,
    eval_file TEXT,
    total INTEGER NOT NULL,
    passed INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    skipped INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    scores TEXT NOT NULL,             -- the AgentV-Scores trailer as written
    source_commit TEXT
);
"""
# built after the bulk insert of a first index: sorting once beats updating per random id
_RUN_ID_INDEX = "CREATE INDEX IF NOT EXISTS runs_run_id ON runs (run_id)"
_INSERT = f"INSERT INTO runs ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_INSERT_AT = f"INSERT INTO runs (seq, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#: a first index holds every row in SQLite's page cache until it commits (KiB; about 50 MB
#: for 100k runs), instead of spilling pages to the WAL mid-transaction
_BULK_CACHE_KIB = 131072
_DEFAULT_CACHE = -2000  # SQLite's default


_R = TypeVar("_R")


def _recovering(method: Callable[..., _R]) -> Callable[..., _R]:
    """A read that fails on the file (``database disk image is malformed``, I/O errors) is
    answered again from a rebuilt index: the index is a cache, never the reason a command
    fails."""

    @functools.wraps(method)
    def read(self: RunIndex, *args: Any, **kwargs: Any) -> _R:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error:
            self._recover()
            return method(self, *args, **kwargs)

    return read


class RunIndex:
    """The index file of one results branch (one identity: repository, branch, path)."""

    def __init__(self, path: Path, identity: str):
        self.path = path
        self.identity = identity
        self.in_memory = False  # True once the file could not be used: read without it
        self._last_update: tuple[Any, ...] | None = None
        self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        from pytest_agentv.fs import make_ignored_dir

        try:
            make_ignored_dir(self.path.parent)  # never shows up in the user's `git status`
            try:
                return self._connect(str(self.path))
            except sqlite3.DatabaseError:
                # a cache is disposable: a corrupt file is replaced, never reported
                self._discard()
                return self._connect(str(self.path))
        except (OSError, sqlite3.Error):
            # unwritable or still unusable: an index in memory answers the same queries
            self.in_memory = True
            return self._connect(":memory:")

    def _connect(self, target: str) -> sqlite3.Connection:
        db = sqlite3.connect(target, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            # a disposable cache: losing the last transaction to a power cut only costs a re-walk
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            db.execute(_RUN_ID_INDEX)
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
            stale = meta.get("schema") != str(INDEX_SCHEMA)
            if stale or meta.get("identity", self.identity) != self.identity:
                db.execute("BEGIN IMMEDIATE")
                db.execute("DELETE FROM runs")
                db.execute("DELETE FROM meta")
                db.execute("DROP INDEX IF EXISTS runs_commit")  # schema 2 had it
                db.executemany(
                    "INSERT INTO meta VALUES (?, ?)",
                    [("schema", str(INDEX_SCHEMA)), ("identity", self.identity)],
                )
                db.execute("COMMIT")
        except BaseException:
            db.close()
            raise
        return db

    def _recover(self) -> None:
        """After an error reading or writing the file (a corrupt page, a full disk): start
        afresh (on disk if possible, else in memory) and catch up again with the last tip."""
        with contextlib.suppress(sqlite3.Error):
            self._db.close()
        if not self.in_memory:
            self._discard()
        self._db = self._open()
        if self._last_update is not None:
            self._update(*self._last_update)

    def _discard(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                os.unlink(f"{self.path}{suffix}")

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    @_recovering
    def last_indexed(self) -> str | None:
        """The branch tip the index is up to date with."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'tip'").fetchone()
        return str(row[0]) if row else None

    def update(
        self,
        tip: str | None,
        walk: Callable[[str | None], Iterable[CommitLike] | RowFeed],
        is_ancestor: Callable[[str, str], bool],
    ) -> UpdateStats:
        """Catch up with ``tip``: walk only newer commits, or rebuild if history was rewritten.

        ``walk(stop_at)`` gives the first-parent commits from ``tip`` before ``stop_at``, newest
        first: as commits, or as a :class:`RowFeed` of their rows. Errors other than SQLite's
        (a walk that fails) leave the index as it was.
        """
        self._last_update = (tip, walk, is_ancestor)
        try:
            return self._update(tip, walk, is_ancestor)
        except sqlite3.Error:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            if not self.in_memory:
                self._discard()
            self._db = self._open()
            return self._update(tip, walk, is_ancestor)

    def _update(
        self,
        tip: str | None,
        walk: Callable[[str | None], Iterable[CommitLike] | RowFeed],
        is_ancestor: Callable[[str, str], bool],
    ) -> UpdateStats:
        if tip == self.last_indexed():
            return UpdateStats(0, rebuilt=False)
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            # another process may have caught up while we waited for the lock
            last = self.last_indexed()
            if tip == last:
                db.execute("COMMIT")
                return UpdateStats(0, rebuilt=False)
            rebuilt, reason = False, ""
            if tip is None or (last is not None and not is_ancestor(last, tip)):
                rebuilt = True
                reason = "branch is gone" if tip is None else "history was rewritten"
                db.execute("DELETE FROM runs")
                last = None
            elif last is None:
                rebuilt, reason = True, "no index yet"
            added = 0
            if tip is not None:
                walked = walk(last)
                feed = walked if isinstance(walked, RowFeed) else RowFeed(walked)
                added = self._insert(feed, first=last is None)
                db.execute("INSERT OR REPLACE INTO meta VALUES ('tip', ?)", (tip,))
            else:
                db.execute("DELETE FROM meta WHERE key = 'tip'")
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise
        finally:
            db.execute(f"PRAGMA cache_size={_DEFAULT_CACHE}")
        return UpdateStats(added, rebuilt=rebuilt, reason=reason)

    def _insert(self, feed: RowFeed, *, first: bool) -> int:
        """Insert the feed's rows (newest first); return how many."""
        db = self._db
        if first:
            # the table is empty: insert while the walk is still running, in walk order (SQLite
            # numbers the rows 1, 2, ...: smaller is newer), then sort the run ids once
            db.execute(f"PRAGMA cache_size=-{_BULK_CACHE_KIB}")
            db.execute("DROP INDEX IF EXISTS runs_run_id")
            before = db.total_changes
            db.executemany(_INSERT, feed)
            added = db.total_changes - before
            db.execute(_RUN_ID_INDEX)
            return added
        rows = list(feed)  # the runs since the last update: a few
        if feed.pruned:
            db.executemany("DELETE FROM runs WHERE run_id = ?", ((r,) for r in feed.pruned))
        # newer than every row so far: numbered below the smallest
        low = db.execute("SELECT COALESCE(MIN(seq), 1) FROM runs").fetchone()[0]
        db.executemany(_INSERT_AT, ((low - len(rows) + i, *row) for i, row in enumerate(rows)))
        return len(rows)

    @_recovering
    def count(self) -> int:
        """How many runs are indexed."""
        return int(self._db.execute("SELECT COUNT(*) FROM runs").fetchone()[0])

    @_recovering
    def query(self, query: RunQuery) -> list[RunRow]:
        """Runs matching ``query``, newest first on the branch."""
        where: list[str] = []
        params: list[Any] = []
        for column, pattern in (("model", query.model), ("eval_file", query.eval_file)):
            if pattern is not None:
                where.append(f"{column} {'GLOB' if _is_glob(pattern) else '='} ?")
                params.append(pattern)
        if query.since is not None:
            where.append("timestamp >= ?")
            params.append(query.since)
        if query.until is not None:
            where.append("timestamp <= ?")
            params.append(query.until)
        sql = f"SELECT {_COLUMNS} FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY seq"
        if query.limit is not None:
            sql += " LIMIT ?"
            params.append(query.limit)
        return [_row(values) for values in self._db.execute(sql, params)]

    @_recovering
    def nth_latest(self, n: int) -> RunRow | None:
        """The run ``n`` places before the newest (0: the newest)."""
        values = self._db.execute(
            f"SELECT {_COLUMNS} FROM runs ORDER BY seq LIMIT 1 OFFSET ?", (n,)
        ).fetchone()
        return _row(values) if values else None

    @_recovering
    def find(self, run_id: str) -> RunRow | None:
        """The indexed row of one run id."""
        values = self._db.execute(
            f"SELECT {_COLUMNS} FROM runs WHERE run_id = ? ORDER BY seq LIMIT 1", (run_id,)
        ).fetchone()
        return _row(values) if values else None

    @_recovering
    def resolve_prefix(self, prefix: str, limit: int = 10) -> list[str]:
        """Run ids starting with ``prefix`` (at most ``limit``), via the run-id index."""
        rows = self._db.execute(
            "SELECT DISTINCT run_id FROM runs WHERE run_id >= ? AND run_id < ? "
            "ORDER BY run_id LIMIT ?",
            (prefix, prefix + _HEX_END, limit),
        )
        return [str(r[0]) for r in rows]

    @_recovering
    def abbrev(self, run_id: str) -> str:
        """The shortest unique prefix of ``run_id`` among indexed runs (at least 8 characters)."""
        below = self._db.execute(
            "SELECT run_id FROM runs WHERE run_id < ? ORDER BY run_id DESC LIMIT 1", (run_id,)
        ).fetchone()
        above = self._db.execute(
            "SELECT run_id FROM runs WHERE run_id > ? ORDER BY run_id LIMIT 1", (run_id,)
        ).fetchone()
        neighbours = [str(r[0]) for r in (below, above) if r]
        return run_id[: unique_prefix_length(run_id, neighbours)]

    @_recovering
    def all_run_ids(self) -> list[str]:
        """Every indexed run id, newest first."""
        return [str(r[0]) for r in self._db.execute("SELECT run_id FROM runs ORDER BY seq")]


def _row(values: tuple[Any, ...]) -> RunRow:
    (
        run_id,
        timestamp,
        model,
        eval_file,
        total,
        passed,
        failed,
        skipped,
        errors,
        scores,
        source_commit,
        commit,
    ) = values
    return RunRow(
        run_id=run_id,
        timestamp=timestamp,
        model=model,
        eval_file=eval_file,
        total=total,
        passed=passed,
        failed=failed,
        skipped=skipped,
        errors=errors,
        scores=parse_scores(scores),
        source_commit=source_commit,
        commit=commit,
    )

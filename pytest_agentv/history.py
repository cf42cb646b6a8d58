"""Per-test history of the last N runs, for ``trend`` and ``flaky``, cached once per run.

A stored run never changes, so its :class:`~pytest_agentv.trends.RunPoints` are computed once,
from its metadata, and kept in a small SQLite table keyed by run id next to the run index. Later
calls read only the runs they have not seen (the cache extends, never rebuilds); over 1 000 runs
a warm call reads 1 000 rows and no run file.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

from pytest_agentv.index import RunQuery
from pytest_agentv.sources import RunSource
from pytest_agentv.trends import RunPoints, merge_groups, run_points

CACHE_SCHEMA = 2  # 2: points carry the run group


class PointsCache:
    """Run id -> its points, in one SQLite file (or in memory when there is none)."""

    def __init__(self, path: Path | None):
        self.path = path
        self._db: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            target = ":memory:"
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                target = str(self.path)
            try:
                db = sqlite3.connect(target)
                db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
                row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
                if row is not None and row[0] != str(CACHE_SCHEMA):
                    db.execute("DROP TABLE IF EXISTS points")
                db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(CACHE_SCHEMA),))
                db.execute("CREATE TABLE IF NOT EXISTS points (run_id TEXT PRIMARY KEY, data TEXT)")
                db.commit()
            except sqlite3.DatabaseError:
                # a corrupt cache is only a cache: start again in memory, the runs are the truth
                db = sqlite3.connect(":memory:")
                db.execute("CREATE TABLE points (run_id TEXT PRIMARY KEY, data TEXT)")
            self._db = db
        return self._db

    def get(self, run_ids: Sequence[str]) -> dict[str, RunPoints]:
        """The cached points of those runs that have them."""
        db = self._connect()
        found: dict[str, RunPoints] = {}
        for start in range(0, len(run_ids), 500):
            chunk = list(run_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for run_id, data in db.execute(
                f"SELECT run_id, data FROM points WHERE run_id IN ({marks})", chunk
            ):
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    found[run_id] = RunPoints.from_json(json.loads(data))
        return found

    def put(self, points: Sequence[RunPoints]) -> None:
        """Remember these runs' points."""
        if not points:
            return
        db = self._connect()
        db.executemany(
            "INSERT OR REPLACE INTO points VALUES (?, ?)",
            [(p.run_id, json.dumps(p.to_json(), sort_keys=True)) for p in points],
        )
        db.commit()

    def close(self) -> None:
        """Close the file."""
        if self._db is not None:
            self._db.close()
            self._db = None


def load_history(
    source: RunSource,
    last: int,
    cache: PointsCache,
    model: str | None = None,
    read: Callable[[str], RunPoints] | None = None,
) -> list[RunPoints]:
    """The points of the ``last`` newest runs (of ``model``, if given), oldest first; the parts
    of a run group among them count as one run."""
    from pytest_agentv.gate_run import read_metadata

    rows = source.query(RunQuery(model=model, limit=last or None))
    run_ids = [row.run_id for row in rows]
    known = cache.get(run_ids)
    missing = [run_id for run_id in run_ids if run_id not in known]
    load = read or (lambda run_id: run_points(read_metadata(source, run_id)))
    fresh = [load(run_id) for run_id in missing]
    cache.put(fresh)
    known.update({p.run_id: p for p in fresh})
    return merge_groups([known[run_id] for run_id in reversed(run_ids)])

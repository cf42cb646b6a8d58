"""The local backend's :class:`~pytest_agentv.sources_base.RunSource`: a store directory."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from pytest_agentv.index import RunQuery, RunRow, matches, unique_prefix_length
from pytest_agentv.run_ids import is_run_id
from pytest_agentv.sources_base import SyncOutcome, read_one_by_one

if TYPE_CHECKING:
    from pytest_agentv.store.local import LocalArtifactStore


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
        return read_one_by_one(self.read, run_ids, name)

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

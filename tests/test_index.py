"""The SQLite run index: incremental updates, rebuilds, queries and prefixes (no git involved)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from pytest_agentv.index import (
    IndexedCommit,
    RunIndex,
    RunQuery,
    row_from_trailers,
    unique_prefix_length,
)
from pytest_agentv.index_rows import values as _values
from pytest_agentv.trailers import parse_pairs


def commit(n: int, run_id: str | None = None, model: str = "gpt-4o") -> IndexedCommit:
    run = run_id or f"{n:016x}"
    return IndexedCommit(
        commit=f"{n:040x}",
        run_id=None,
        commit_time=n,
        trailers={
            "AgentV-Run": run,
            "AgentV-Model": model,
            "AgentV-Eval": "evals/test_qa.py",
            "AgentV-Timestamp": f"2024-05-{1 + n % 28:02d}T12:00:00.000000Z",
            "AgentV-Tests": "total=4 passed=3 failed=1 skipped=0 errors=0",
            "AgentV-Scores": "accuracy=0.75 tone=0.5",
            "Source-Commit": "1a2b3c4d" * 5,
        },
    )


class FakeBranch:
    """A first-parent history, newest last in ``commits``, counting how much gets walked."""

    def __init__(self, commits: Iterable[IndexedCommit]):
        self.commits = list(commits)
        self.walked = 0
        self.rewritten = False

    @property
    def tip(self) -> str | None:
        return self.commits[-1].commit if self.commits else None

    def walk(self, stop_at: str | None) -> Iterator[IndexedCommit]:
        for entry in reversed(self.commits):
            if entry.commit == stop_at:
                return
            self.walked += 1
            yield entry

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return any(c.commit == ancestor for c in self.commits)

    def update(self, index: RunIndex) -> None:
        index.update(self.tip, self.walk, self.is_ancestor)


def test_trailers_become_rows() -> None:
    row = row_from_trailers(commit(7))
    assert row is not None
    assert (row.run_id, row.total, row.passed, row.failed) == (f"{7:016x}", 4, 3, 1)
    assert row.scores == {"accuracy": 0.75, "tone": 0.5}
    assert row.commit == f"{7:040x}"
    lower = IndexedCommit("c" * 40, None, {"agentv-run": "ab" * 8, "agentv-tests": "total=x"})
    assert row_from_trailers(lower) is not None
    assert row_from_trailers(IndexedCommit("d" * 40, None, {"Other": "x"})) is None
    assert parse_pairs("a=1 junk b=x=2 =3") == {"a": "1", "b=x": "2"}


def test_incremental_update_walks_only_new_commits(tmp_path: Path) -> None:
    branch = FakeBranch(commit(n) for n in range(1, 101))
    index = RunIndex(tmp_path / "i.sqlite3", "id")
    branch.update(index)
    assert index.count() == 100 and branch.walked == 100
    branch.walked = 0
    branch.update(index)
    assert branch.walked == 0
    branch.commits += [commit(n) for n in range(101, 104)]
    branch.update(index)
    assert branch.walked == 3
    assert [r.run_id for r in index.query(RunQuery(limit=4))] == [
        f"{n:016x}" for n in (103, 102, 101, 100)
    ]
    newest = index.nth_latest(0)
    assert newest is not None and newest.run_id == f"{103:016x}"
    index.close()
    reopened = RunIndex(tmp_path / "i.sqlite3", "id")
    assert reopened.last_indexed() == branch.tip


def test_history_rewrite_rebuilds(tmp_path: Path) -> None:
    branch = FakeBranch(commit(n) for n in range(1, 11))
    index = RunIndex(tmp_path / "i.sqlite3", "id")
    branch.update(index)
    branch.commits = [commit(n) for n in range(1, 6)] + [commit(n) for n in range(50, 53)]
    # the old tip (run 10) is no longer on the branch, so it is no ancestor of the new tip
    stats = index.update(branch.tip, branch.walk, branch.is_ancestor)
    assert stats.rebuilt and stats.reason == "history was rewritten"
    assert index.count() == 8
    assert index.find(f"{10:016x}") is None
    gone = index.update(None, branch.walk, branch.is_ancestor)
    assert gone.rebuilt and index.count() == 0 and index.last_indexed() is None


def test_queries_prefixes_and_abbreviations(tmp_path: Path) -> None:
    branch = FakeBranch(
        [
            commit(1, "3f9a2c1b7d4e5f60"),
            commit(2, "3f9a2c1b00000000", model="claude-3"),
            commit(3, "a0b1c2d3e4f50617"),
            IndexedCommit("e" * 40, None, {}),  # not a run commit
        ]
    )
    index = RunIndex(tmp_path / "i.sqlite3", "id")
    branch.update(index)
    assert index.count() == 3
    assert [r.run_id for r in index.query(RunQuery(model="claude-3"))] == ["3f9a2c1b00000000"]
    assert len(index.query(RunQuery(model="gpt-*"))) == 2
    assert len(index.query(RunQuery(since="2024-05-03T00:00:00.000000Z"))) == 2
    assert len(index.query(RunQuery(until="2024-05-02T23:59:59.999999Z"))) == 1
    assert index.resolve_prefix("3f9a") == ["3f9a2c1b00000000", "3f9a2c1b7d4e5f60"]
    assert index.resolve_prefix("a0") == ["a0b1c2d3e4f50617"]
    assert index.resolve_prefix("ff") == []
    assert index.abbrev("3f9a2c1b7d4e5f60") == "3f9a2c1b7"
    assert index.abbrev("a0b1c2d3e4f50617") == "a0b1c2d3"
    assert unique_prefix_length("abc", ["abd"], minimum=1) == 3


def test_corrupt_or_foreign_index_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "i.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    branch = FakeBranch(commit(n) for n in range(1, 4))
    index = RunIndex(path, "id")
    branch.update(index)
    assert index.count() == 3
    index.close()
    other = RunIndex(path, "another branch")
    assert other.count() == 0 and other.last_indexed() is None


def test_the_fast_path_reads_store_commits_as_the_trailer_parser_does(source_repo: Path) -> None:
    """A first index reads the store's own trailer block with one regex; it must agree with the
    general trailer parser on every column, including missing ('unknown') values."""
    from pytest_agentv.index_rows import _fast_values
    from tests.helpers import git_store
    from tests.runs import make_run

    store = git_store(source_repo)
    store.write(make_run(model="gpt-4o"))
    store.write(make_run(model=None))
    commits = [c for c in store.walk() if c.run_id is not None]
    assert len(commits) == 2
    for entry in commits:
        general = _values(IndexedCommit(entry.commit, entry.run_id, entry.trailers))
        assert _fast_values(entry.raw_message, entry.commit) == general
        assert _values(entry) == general
    assert {values[2] for values in map(_values, commits)} == {"gpt-4o", None}

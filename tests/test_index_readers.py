"""The two readers of a results branch — one ``git log`` process and the store's own walk —
build the same index rows on the same branch: store-written runs, hand-written commits with odd
trailers, non-run commits, a merge, pruned runs, catch-ups and a rewritten history."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from pytest_agentv.git_cli import GitCli, GitCliError, find_git
from pytest_agentv.index import RunIndex, RunQuery
from pytest_agentv.run_ids import new_run_id
from pytest_agentv.settings import Settings
from pytest_agentv.sources import GitRunSource
from pytest_agentv.store.git import GitArtifactStore
from pytest_agentv.store.paths import SUMMARY_FILE, shard_path
from tests.git_fixtures import git
from tests.runs import make_run

BRANCH = "agentv/checkpoints/v1"
GIT = find_git()
assert GIT is not None  # the suite runs with git on PATH (it cross-checks with it everywhere)


def raw_commit(repo: Path, message: bytes, parents: list[str], tree: str | None = None) -> str:
    """Write a commit object with exactly ``message`` (no clean-up of any kind); its sha."""
    tree = tree or git("rev-parse", f"{parents[0]}^{{tree}}", cwd=repo)
    header = f"tree {tree}\n" + "".join(f"parent {p}\n" for p in parents)
    header += "author A <a@example.com> 1700000000 +0000\n"
    header += "committer A <a@example.com> 1700000000 +0000\n\n"
    done = subprocess.run(
        ["git", "hash-object", "-t", "commit", "-w", "--stdin"],
        cwd=repo,
        input=header.encode() + message,
        capture_output=True,
        check=True,
    )
    return done.stdout.decode().strip()


def append(repo: Path, message: bytes) -> str:
    tip = git("rev-parse", BRANCH, cwd=repo)
    sha = raw_commit(repo, message, [tip])
    git("update-ref", f"refs/heads/{BRANCH}", sha, tip, cwd=repo)
    return sha


def run_block(run_id: str, **overrides: str) -> bytes:
    """A run commit's trailers as the store writes them, with some values replaced."""
    trailers = {
        "AgentV-Run": run_id,
        "AgentV-Eval": "evals/test_x.py",
        "AgentV-Model": "gpt-x",
        "Source-Commit": "b" * 40,
        "AgentV-Timestamp": "2025-06-01T00:00:00.000000Z",
        "AgentV-Tests": "total=3 passed=2 failed=1 skipped=0 errors=0",
        "AgentV-Scores": "accuracy=0.5",
        **overrides,
    }
    return "\n".join(f"{k}: {v}" for k, v in trailers.items()).encode()


def odd_messages() -> list[bytes]:
    """Commits a results branch may carry besides the store's own: every shape the trailer
    parser has a rule for, and a few it must refuse."""
    rid = new_run_id
    return [
        b"Run: " + rid().encode() + b"\n\n" + run_block(rid()) + b"\n",  # the canonical shape
        b"Run: x\n\n" + run_block(rid(), **{"AgentV-Model": "  spaced  "}) + b"\n",
        b"Run: x\n\n" + run_block(rid(), **{"AgentV-Model": "café"}) + b"\n",
        b"Run: x\n\n" + run_block(rid()).replace(b"gpt-x", b"bad \xff\xfe bytes") + b"\n",
        b"Run: x\n\n" + run_block(rid(), **{"AgentV-Model": "unknown", "AgentV-Eval": "unknown"}),
        b"Run: x\n\n" + run_block(rid()).replace(b"\n", b"\r\n") + b"\r\n",  # CRLF
        b"Run: x\n\n" + run_block(rid()).lower() + b"\n",  # lower-cased keys (run id still hex)
        b"Run: x\n\n" + b"\n".join(reversed(run_block(rid()).split(b"\n"))) + b"\n",  # reordered
        b"Run: x\n\n" + run_block(rid(), **{"AgentV-Tests": "total=x passed=2"}) + b"\n",
        b"Run: x\n\n" + run_block(rid()) + b"\n folded continuation\n",
        b"Run: x\n\nbody paragraph\n\n" + run_block(rid()) + b"\nAgentV-Release: a@1\n",
        b"Run: x\n\n" + run_block(rid()) + b"\n\ntrailing paragraph, so no trailers\n",
        b"Run: x\n\n" + run_block("NOT-A-RUN-ID") + b"\n",
        b"Run: x\n\n" + run_block(rid()),  # no final newline
        b"",  # an empty message
        b"just a subject",
        b"Maintenance: nothing to index\n\nSigned-off-by: A <a@example.com>\n",
    ]


def table(index: RunIndex) -> list[tuple[object, ...]]:
    """Every column of every row, newest first (``seq`` included)."""
    return index._db.execute("SELECT * FROM runs ORDER BY seq").fetchall()


class Pair:
    """The same branch read twice: through git and through the store, into two indexes."""

    def __init__(self, settings: Settings, tmp_path: Path) -> None:
        self.settings = settings
        self.store = GitArtifactStore(settings)
        self.git_index = RunIndex(tmp_path / "git.sqlite3", "pair")
        self.store_index = RunIndex(tmp_path / "store.sqlite3", "pair")

    def refresh(self) -> tuple[GitRunSource, GitRunSource]:
        store = GitArtifactStore(self.settings)  # a fresh store: a new tip is read
        by_git = GitRunSource(store, self.settings, self.git_index)
        by_store = GitRunSource(store, self.settings, self.store_index, use_git_cli=False)
        by_git.refresh_index()
        by_store.refresh_index()
        assert by_git.git_cli() is not None, "the git reader fell back to the store"
        return by_git, by_store

    def assert_same(self) -> list[tuple[object, ...]]:
        by_git, by_store = self.refresh()
        rows = table(self.git_index)
        assert rows == table(self.store_index)
        assert by_git.query(RunQuery()) == by_store.query(RunQuery())
        return rows


@pytest.fixture
def pair(source_repo: Path, tmp_path: Path) -> Pair:
    settings = Settings(rootdir=source_repo, backend="git")
    store = GitArtifactStore(settings)
    for _ in range(3):
        assert store.write(make_run()).delivered
    return Pair(settings, tmp_path / "indexes")


def test_both_readers_walk_the_same_commits(pair: Pair, source_repo: Path) -> None:
    for message in odd_messages():
        append(source_repo, message)
    tip = git("rev-parse", BRANCH, cwd=source_repo)
    cli = GitCli(pair.store.target().repo_dir, GIT)
    by_git = list(cli.first_parent(tip))
    by_store = [(c.commit, c.raw_message) for c in pair.store.walk()]
    assert by_git == by_store
    stop = by_store[5][0]
    assert list(cli.first_parent(tip, stop)) == by_store[:5]


def test_odd_trailers_and_non_run_commits_give_the_same_rows(pair: Pair, source_repo: Path) -> None:
    for message in odd_messages():
        append(source_repo, message)
    rows = pair.assert_same()
    models = {row[4] for row in rows}
    # the shapes were read, not skipped: the general parser's values are there
    assert {"spaced", "café", "gpt-test", None} <= models
    # the store's runs and the 12 odd commits whose trailers name a run id (not the trailing
    # paragraph, not the bad id, not the commits without trailers)
    assert len(rows) == 3 + 12


def test_a_merge_lists_first_parents_only(pair: Pair, source_repo: Path) -> None:
    base = git("rev-parse", BRANCH, cwd=source_repo)
    side = raw_commit(source_repo, b"Run: side\n\n" + run_block(new_run_id()) + b"\n", [base])
    append(source_repo, b"Run: main\n\n" + run_block(new_run_id()) + b"\n")
    tip = git("rev-parse", BRANCH, cwd=source_repo)
    merge = raw_commit(source_repo, b"Merge the side branch\n", [tip, side])
    git("update-ref", f"refs/heads/{BRANCH}", merge, tip, cwd=source_repo)
    rows = pair.assert_same()
    assert side not in {row[1] for row in rows} and len(rows) == 4


def test_pruned_runs_and_catch_ups_give_the_same_rows(pair: Pair, source_repo: Path) -> None:
    first = pair.assert_same()
    victims = [str(row[2]) for row in first[1:]]  # the two older runs
    store = GitArtifactStore(pair.settings)
    assert store.write(make_run()).delivered
    append(source_repo, b"Prune: 2 runs\n\nAgentV-Pruned: " + " ".join(victims).encode() + b"\n")
    for message in odd_messages()[:4]:
        append(source_repo, message)
    rows = pair.assert_same()  # caught up incrementally, deleting the pruned rows
    assert not set(victims) & {str(row[2]) for row in rows}
    # a first index of the same branch (nothing cached) agrees with both catch-ups
    fresh = Pair(pair.settings, pair.git_index.path.parent / "fresh")
    assert [r[1:] for r in fresh.assert_same()] == [r[1:] for r in rows]


def test_a_rewritten_history_is_rebuilt_the_same_way(pair: Pair, source_repo: Path) -> None:
    pair.assert_same()
    # the branch is replaced by another history (a force-pushed remote, a rewrite)
    root = git("rev-list", "--max-parents=0", BRANCH, cwd=source_repo)
    other = raw_commit(source_repo, b"Run: new\n\n" + run_block(new_run_id()) + b"\n", [root])
    git("update-ref", f"refs/heads/{BRANCH}", other, cwd=source_repo)
    rows = pair.assert_same()
    assert [row[1] for row in rows] == [other]


def test_list_reads_the_shown_summaries_in_one_go(pair: Pair, source_repo: Path) -> None:
    by_git, by_store = pair.refresh()
    run_ids = [row.run_id for row in by_git.query(RunQuery())]
    missing = "f" * 16
    read = by_git.read_each([*run_ids, missing], SUMMARY_FILE)
    assert read == by_store.read_each([*run_ids, missing], SUMMARY_FILE)
    assert sorted(read) == sorted(run_ids)
    shard = shard_path(run_ids[0])
    shown = git("show", f"{BRANCH}:{shard}/summary.json", cwd=source_repo)
    assert read[run_ids[0]].strip() == shown.encode()


def test_a_git_that_cannot_read_the_repository_falls_back(
    pair: Pair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a "git" that fails like a too-old or broken one: the store's reader answers instead
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "git").write_text("#!/bin/sh\necho 'fatal: unsupported' >&2\nexit 128\n")
    (fake / "git").chmod(0o755)
    cli = GitCli(pair.store.target().repo_dir, str(fake / "git"))
    with pytest.raises(GitCliError, match="unsupported"):
        list(cli.first_parent(git("rev-parse", BRANCH, cwd=pair.settings.rootdir)))
    monkeypatch.setenv("PATH", f"{fake}:{Path(GIT).parent}")
    source = GitRunSource(GitArtifactStore(pair.settings), pair.settings, pair.git_index)
    assert len(source.query(RunQuery())) == 3
    assert source.git_cli() is None  # given up on for the rest of the command
    assert table(pair.git_index)  # and the index was filled by the store's walk


def test_the_index_file_of_an_older_schema_is_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "i.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "INSERT INTO meta VALUES ('schema', '2'), ('identity', 'x'), ('tip', 'abc');"
        "CREATE TABLE runs (seq INTEGER PRIMARY KEY, commit_id TEXT NOT NULL, run_id TEXT NOT "
        "NULL, timestamp TEXT NOT NULL, model TEXT, eval_file TEXT, total INTEGER NOT NULL, "
        "passed INTEGER NOT NULL, failed INTEGER NOT NULL, skipped INTEGER NOT NULL, errors "
        "INTEGER NOT NULL, scores TEXT NOT NULL, source_commit TEXT);"
        "CREATE UNIQUE INDEX runs_commit ON runs (commit_id);"
    )
    old.commit()
    old.close()
    index = RunIndex(path, "x")
    assert index.last_indexed() is None and index.count() == 0
    names = {r[0] for r in index._db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "runs_commit" not in names and "runs_run_id" in names

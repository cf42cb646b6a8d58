"""``agentv-results`` against a git results branch: local only, and a remote behind ``git daemon``.

Runs are written by the real git store; everything is read back through the console script and
cross-checked with the git CLI.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_agentv.settings import resolve_settings
from pytest_agentv.store.base import RunArtifacts
from pytest_agentv.store.git import GitArtifactStore
from tests.cli_support import agentv, agentv_bytes
from tests.git_fixtures import GitDaemon, git
from tests.runs import cli_run as make_run
from tests.runs import record

BRANCH = "agentv/checkpoints/v1"
OLD, MID, NEW = "3f9a2c1b7d4e5f60", "3f9a2c1b00000000", "a0b1c2d3e4f50617"
MID_TESTS = [record("test_refund", accuracy=(0.6, 0.7)), record("test_greeting", "failed")]


def write(root: Path, *runs: RunArtifacts, **cli: Any) -> GitArtifactStore:
    store = GitArtifactStore(resolve_settings(root, cli={"backend": "git", **cli}))
    for run in runs:
        result = store.write(run)
        assert not result.problems or cli.get("remote"), result.problems
    return store


def listed_ids(result: Any) -> list[str]:
    assert result.returncode == 0, result.stderr
    return [line.split()[0] for line in result.stdout.splitlines()[1:]]


def index_files(root: Path) -> list[Path]:
    return sorted((root / ".agentv" / "cache").glob("runs-*.sqlite3"))


@pytest.fixture
def project(source_repo: Path) -> Path:
    """The user's project with three runs on its local results branch (no remote)."""
    write(
        source_repo,
        make_run(OLD),
        make_run(MID, minutes=10, tests=MID_TESTS),
        make_run(NEW, minutes=20, model="claude-3"),
    )
    (source_repo / ".agentv" / "config.yaml").write_text("artifacts:\n  backend: git\n")
    return source_repo


def test_list_reads_the_branch_through_the_index(project: Path) -> None:
    result = agentv(project, "list")
    assert listed_ids(result) == ["a0b1c2d3", "3f9a2c1b0", "3f9a2c1b7"]
    newest = result.stdout.splitlines()[1]
    assert "claude-3" in newest and "2/4" in newest and "accuracy=0.70" in newest
    assert "unpushed" not in result.stdout
    assert len(index_files(project)) == 1
    # the worktree, index and HEAD of the user's checkout are untouched by reading, and the
    # index's cache directory ignores itself: only the user's own config file shows
    status = git("status", "--porcelain", "--untracked-files=all", cwd=project)
    assert status == "?? .agentv/config.yaml"
    assert git("symbolic-ref", "HEAD", cwd=project) == "refs/heads/main"

    as_json = json.loads(agentv(project, "list", "--json", "--limit", "1").stdout)
    shard = f"{NEW[:2]}/{NEW[2:]}"
    stored = json.loads(git("show", f"{BRANCH}:{shard}/summary.json", cwd=project))
    commit = git("rev-parse", BRANCH, cwd=project)
    assert as_json == [{"summary": stored, "pending": False, "commit": commit}]

    assert listed_ids(agentv(project, "list", "--model", "claude-*")) == ["a0b1c2d3"]
    assert listed_ids(agentv(project, "list", "--since", "2024-05-01T12:05Z", "--limit", "1")) == [
        "a0b1c2d3"
    ]


def test_index_catches_up_and_rebuilds_after_a_rewrite(project: Path) -> None:
    assert len(listed_ids(agentv(project, "list"))) == 3
    before_rewrite = git("rev-parse", BRANCH, cwd=project)
    write(project, make_run("c000000000000001", minutes=30))
    assert listed_ids(agentv(project, "list", "--limit", "1")) == ["c0000000"]
    (db_path,) = index_files(project)
    with sqlite3.connect(db_path) as db:
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 4
        tip = db.execute("SELECT value FROM meta WHERE key='tip'").fetchone()[0]
    assert tip == git("rev-parse", BRANCH, cwd=project)

    # rewrite history: drop the two newest runs and put a different one on top
    git(
        "update-ref",
        f"refs/heads/{BRANCH}",
        git("rev-parse", f"{before_rewrite}~1", cwd=project),
        cwd=project,
    )
    write(project, make_run("d000000000000001", minutes=40))
    assert listed_ids(agentv(project, "list")) == ["d0000000", "3f9a2c1b0", "3f9a2c1b7"]
    gone = agentv(project, "show", "c000")
    assert gone.returncode == 1
    assert "no run starting with 'c000'" in gone.stderr

    # a deleted or damaged index is rebuilt without a word
    db_path.write_bytes(b"garbage" * 1000)
    assert listed_ids(agentv(project, "list")) == ["d0000000", "3f9a2c1b0", "3f9a2c1b7"]


def test_show_reads_files_at_the_tip(project: Path) -> None:
    result = agentv(project, "show", "3f9a2c1b0")
    assert result.returncode == 0, result.stderr
    assert f"run     {MID}" in result.stdout
    assert "pushed  yes" in result.stdout
    assert "failed   tests/evals/test_qa.py::test_greeting" in result.stdout
    for name in ("metadata.json", "summary.json", "transcript.jsonl"):
        shown = agentv_bytes(project, "show", MID, "--file", name.split(".")[0])
        assert shown.returncode == 0
        blob = git("rev-parse", f"{BRANCH}:{MID[:2]}/{MID[2:]}/{name}", cwd=project)
        assert shown.stdout == _git_bytes(project, "cat-file", "blob", blob)
    transcript = agentv(project, "show", "latest", "--transcript")
    assert transcript.stdout.startswith("== tests/evals/test_qa.py::test_refund\n")


def _git_bytes(cwd: Path, *args: str) -> bytes:
    import subprocess

    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=True).stdout


@pytest.mark.parametrize(
    ("ref", "code", "message"),
    [
        ("3f9a2c1b", 1, f"run prefix '3f9a2c1b' is ambiguous: {MID}, {OLD}; type more digits"),
        ("eeee", 1, "no run starting with 'eeee' in git branch agentv/checkpoints/v1"),
        ("eeeeeeeeeeeeeeee", 1, "no run eeeeeeeeeeeeeeee in git branch"),
        ("latest~3", 1, "there are fewer than 4 runs"),
        ("HEAD", 2, "'HEAD' is not a run reference"),
    ],
)
def test_show_errors(project: Path, ref: str, code: int, message: str) -> None:
    result = agentv(project, "show", ref)
    assert result.returncode == code
    assert message in result.stderr and len(result.stderr.splitlines()) == 1


def test_diff_verify_export_sync_on_a_local_branch(project: Path) -> None:
    diff = agentv(project, "diff", OLD, MID, "--fail-on-regression", "--json")
    assert diff.returncode == 1
    assert json.loads(diff.stdout)["regressions"] == [
        "tests/evals/test_qa.py::test_refund",
        "tests/evals/test_qa.py::test_greeting",
    ]
    verify = agentv(project, "verify")
    assert verify.returncode == 0, verify.stdout
    assert "verified 3 run(s) in git branch agentv/checkpoints/v1" in verify.stdout
    export = agentv(project, "export", "latest", "--junit", "-")
    assert export.returncode == 0 and "<testsuite " in export.stdout
    sync = agentv(project, "sync")
    assert sync.returncode == 0
    assert sync.stdout.startswith("nothing to sync: no remote is configured")


def test_verify_finds_a_tampered_file_on_the_branch(project: Path) -> None:
    path = f"{MID[:2]}/{MID[2:]}/transcript.jsonl"
    blob = git("hash-object", "-w", "--stdin", cwd=project, input_text='{"forged": 1}\n')
    index = str(project / ".git" / "tamper-index")
    git("read-tree", BRANCH, cwd=project, GIT_INDEX_FILE=index)
    git("update-index", "--cacheinfo", f"100644,{blob},{path}", cwd=project, GIT_INDEX_FILE=index)
    tree = git("write-tree", cwd=project, GIT_INDEX_FILE=index)
    forged = git("commit-tree", tree, "-p", BRANCH, "-m", "edit by hand", cwd=project)
    git("update-ref", f"refs/heads/{BRANCH}", forged, cwd=project)

    result = agentv(project, "verify", "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    bad = {r["runId"]: r["problems"] for r in report["runs"] if r["problems"]}
    assert list(bad) == [MID]
    assert bad[MID][0].startswith("transcript.jsonl: SHA-256 is ")
    assert "but summary.json records" in bad[MID][0]


def test_path_prefix_and_missing_branch(source_repo: Path) -> None:
    empty = agentv(source_repo, "list", "--backend", "git")
    assert empty.returncode == 0 and empty.stdout == ""
    assert "no runs in git branch agentv/checkpoints/v1" in empty.stderr
    latest = agentv(source_repo, "show", "latest", "--backend", "git")
    assert latest.returncode == 1 and "fewer than 1 runs" in latest.stderr

    write(source_repo, make_run(OLD), branch="evals/nightly", path="runs/qa")
    flags = ["--backend", "git", "--branch", "evals/nightly", "--path", "runs/qa"]
    assert listed_ids(agentv(source_repo, "list", *flags)) == ["3f9a2c1b"]
    assert agentv(source_repo, "show", "3f9a", *flags).returncode == 0
    assert git("ls-tree", "--name-only", "evals/nightly", "runs/qa/3f/", cwd=source_repo) == (
        f"runs/qa/3f/{OLD[2:]}"
    )
    # another branch is another index, and does not see these runs
    assert agentv(source_repo, "list", "--backend", "git", "--branch", "other").stdout == ""
    # a branch that is checked out can be read (only committing to it is refused); main holds
    # no runs under the prefix
    checked_out = agentv(source_repo, "list", *flags, "--branch", "main")
    assert checked_out.returncode == 0 and checked_out.stdout == ""
    assert "no runs in git branch main under runs/qa/" in checked_out.stderr


# --- a remote behind git daemon ------------------------------------------------------------------


def _daemon_pids(base: Path) -> list[int]:
    wanted = f"--base-path={base}".encode()
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if wanted in (proc / "cmdline").read_bytes().split(b"\0"):
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


@pytest.fixture
def remote(git_daemon: GitDaemon) -> Iterator[str]:
    """A bare repository served by ``git daemon``."""
    yield git_daemon.new_remote()
    # GitDaemon.stop() ends the `git` wrapper, not the git-daemon it spawned: end ours by pid
    for pid in _daemon_pids(git_daemon.base):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)


@contextlib.contextmanager
def unreachable(daemon: GitDaemon) -> Iterator[None]:
    """The remote is gone for a while (the daemon answers, the repository does not)."""
    path = daemon.path()
    hidden = path.with_name("hidden.git")
    path.rename(hidden)
    try:
        yield
    finally:
        hidden.rename(path)


def test_reading_a_remote_fetches_first(source_repo: Path, tmp_path: Path, remote: str) -> None:
    writer = source_repo
    write(writer, make_run(OLD), make_run(MID, minutes=10, tests=MID_TESTS), remote=remote)
    reader = tmp_path / "reader"
    (reader / ".agentv").mkdir(parents=True)
    (reader / ".agentv" / "config.yaml").write_text(
        f"artifacts:\n  backend: git\n  git:\n    remote: {remote}\n"
    )

    assert agentv(reader, "list", "--no-fetch").stdout == ""  # nothing local yet
    assert listed_ids(agentv(reader, "list")) == ["3f9a2c1b0", "3f9a2c1b7"]

    write(writer, make_run(NEW, minutes=20), remote=remote)
    assert listed_ids(agentv(reader, "list", "--no-fetch")) == ["3f9a2c1b0", "3f9a2c1b7"]
    assert listed_ids(agentv(reader, "list")) == ["a0b1c2d3", "3f9a2c1b0", "3f9a2c1b7"]

    shown = agentv_bytes(reader, "show", "a0b1", "--file", "summary")
    assert shown.returncode == 0
    assert json.loads(shown.stdout)["runId"] == NEW
    diff = agentv(reader, "diff", "latest~2", "latest~1", "--markdown")
    assert diff.returncode == 0 and "**2 regressed**" in diff.stdout
    assert agentv(reader, "verify", "-q").returncode == 0
    assert not (reader / ".git").exists()  # no checkout was needed to read


def test_unpushed_runs_and_sync(source_repo: Path, remote: str, git_daemon: GitDaemon) -> None:
    write(source_repo, make_run(OLD), remote=remote)
    config = f"artifacts:\n  backend: git\n  git:\n    remote: {remote}\n"
    (source_repo / ".agentv" / "config.yaml").write_text(config)

    with unreachable(git_daemon):
        store = write(source_repo, make_run(NEW, minutes=5), remote=remote)
        assert NEW in store.pending_run_ids()
        offline_checks(source_repo)

    synced = agentv(source_repo, "sync")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert synced.stdout.splitlines() == [f"pushed 1 run(s) to {remote}", f"  pushed   {NEW}"]
    on_remote = git("log", "--format=%s", BRANCH, cwd=git_daemon.path())
    assert f"Run: {NEW}" in on_remote.splitlines()
    assert "unpushed" not in agentv(source_repo, "list").stdout
    again = agentv(source_repo, "sync")
    assert again.returncode == 0 and again.stdout.startswith("nothing to sync: every run is")


def offline_checks(source_repo: Path) -> None:
    offline = agentv(source_repo, "list")  # the implicit fetch fails: warn, show local runs
    assert offline.returncode == 0
    assert offline.stderr.startswith("agentv-results: warning: ")
    assert "--no-fetch skips fetching" in offline.stderr
    rows = offline.stdout.splitlines()
    assert rows[1].startswith("a0b1c2d3") and rows[1].endswith("unpushed")
    assert not rows[2].endswith("unpushed")
    shown = agentv(source_repo, "show", NEW, "--no-fetch")
    assert "pushed  no (run 'agentv-results sync')" in shown.stdout
    assert json.loads(agentv(source_repo, "show", NEW, "--json", "--no-fetch").stdout)["pending"]

    explicit = agentv(source_repo, "list", "--fetch")
    assert explicit.returncode == 2
    assert len(explicit.stderr.splitlines()) == 1

    failed = agentv(source_repo, "sync", "--json")
    assert failed.returncode == 1
    report = json.loads(failed.stdout)
    assert report["pending"] == [NEW] and report["problems"]

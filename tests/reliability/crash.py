"""SIGKILL trials of the git writer, shared by tests/reliability and bench/stress.py.

A trial starts a writer process (``WRITER``: a few runs, one after another, each announced
before and after its write), kills it with SIGKILL after a random delay, then checks what
must hold whatever instant the kill hit: the branch ref points at a valid commit, ``git fsck
--strict`` is clean, no partial run is visible, every run whose write completed is there
exactly once, no lock is left, and the next write and ``sync`` succeed and deliver what the
killed writer left behind.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from pytest_agentv.fs_locks import LOCK_STALE_AFTER

BRANCH = "agentv/checkpoints/v1"
RUN_FILES = {"metadata.json", "summary.json", "transcript.jsonl"}
REPO_ROOT = Path(__file__).resolve().parents[2]

WRITER = """
import json, sys, time
from pathlib import Path
from pytest_agentv.settings import Settings
from pytest_agentv.store import open_store
from tests.runs import make_run

rootdir, remote, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
store = open_store(Settings(rootdir=rootdir, backend="git", remote=remote))
print(json.dumps({"ready": True}), flush=True)
for _ in range(count):
    run = make_run()
    print(json.dumps({"begin": run.run_id}), flush=True)
    started = time.monotonic()
    result = store.write(run)
    print(json.dumps({"done": run.run_id, "delivered": result.delivered,
                      "seconds": time.monotonic() - started,
                      "problems": list(result.problems)}), flush=True)
"""


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} in {cwd}: {done.stderr.strip()}")
    return done.stdout.strip()


@dataclass
class Trial:
    """What one killed writer announced, and when it was killed."""

    delay: float
    begun: list[str] = field(default_factory=list)
    done: dict[str, bool] = field(default_factory=dict)  # run id -> delivered
    seconds: list[float] = field(default_factory=list)

    @property
    def phase(self) -> str:
        """Where the kill fell: before any write, inside a write, or between writes."""
        if not self.begun:
            return "before the first write"
        return "inside a write" if len(self.begun) > len(self.done) else "between writes"


def run_writer(project: Path, remote: str, count: int, kill_after: float | None) -> Trial:
    """Run ``WRITER``; with ``kill_after``, SIGKILL it that many seconds after it is ready."""
    trial = Trial(delay=kill_after or 0.0)
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(project), remote, str(count)],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
        assert process.stdout is not None
        lines: list[str] = []
        try:
            ready = process.stdout.readline()
            if not ready.strip():
                process.wait(timeout=60)
                errors.seek(0)
                raise AssertionError(f"the writer did not start: {errors.read()}")
            if kill_after is not None:
                time.sleep(kill_after)
                process.send_signal(signal.SIGKILL)
            lines = process.stdout.readlines()  # the rest, through the same buffer
            process.wait(timeout=300)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            process.stdout.close()
    out = "".join(lines)
    for line in out.splitlines():
        event = json.loads(line)
        if "begin" in event:
            trial.begun.append(event["begin"])
        elif "done" in event:
            trial.done[event["done"]] = event["delivered"]
            trial.seconds.append(event["seconds"])
    return trial


def runs_on_branch(repo: Path) -> list[str]:
    """Run ids on the branch, from the AgentV-Run trailers (oldest first)."""
    log = git("log", "--reverse", "--format=%(trailers:key=AgentV-Run,valueonly)", BRANCH, cwd=repo)
    return [line for line in log.splitlines() if line]


def check_branch(repo: Path) -> list[str]:
    """The invariants of a branch after any crash; returns its run ids."""
    tip = git("rev-parse", "--verify", f"{BRANCH}^{{commit}}", cwd=repo)
    assert len(tip) == 40
    git("fsck", "--strict", "--no-progress", cwd=repo)
    assert git("rev-list", "--merges", BRANCH, cwd=repo) == ""
    files: dict[str, set[str]] = {}
    for path in git("ls-tree", "-r", "--name-only", BRANCH, cwd=repo).splitlines():
        parts = path.split("/")
        if len(parts) == 3:  # <id[:2]>/<id[2:]>/<file>
            files.setdefault(parts[0] + parts[1], set()).add(parts[2])
    partial = {run: names for run, names in files.items() if names != RUN_FILES}
    assert partial == {}, f"partial runs on the branch: {partial}"
    run_ids = runs_on_branch(repo)
    assert sorted(run_ids) == sorted(files), "trailers and run directories disagree"
    assert len(run_ids) == len(set(run_ids)), "a run is on the branch twice"
    return run_ids


#: flock-based locks (held only while their process lives; the file itself stays by design)
FILE_LOCKS = {"agentv.lock", "agentv-consolidate.lock"}


def leftover_locks(*repos: Path) -> list[Path]:
    """Git lock files left inside repositories (the writer's own file lock, a flock held only
    while the process lives, sits beside the cache repository and is not one)."""
    return [lock for repo in repos for lock in repo.rglob("*.lock") if lock.name not in FILE_LOCKS]


def recover_and_check(project: Path, remote: str, remote_dir: Path, trials: list[Trial]) -> int:
    """After killed writers: one more write and a sync must succeed and deliver every run whose
    write completed, plus whatever else the killed writers left in the spool; nothing twice.
    Returns how many runs the recovery delivered beyond the completed ones."""
    after = run_writer(project, remote, 1, kill_after=None)
    assert all(after.done.values()), f"the next write after the kills failed: {after}"
    sync = subprocess.run(
        ["agentv-results", "sync", "--backend", "git", "--remote", remote, "--json"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
    )
    assert sync.returncode == 0, sync.stdout + sync.stderr
    assert json.loads(sync.stdout)["pending"] == []
    caches = list((project / ".agentv" / "cache").glob("*.git"))
    if leftover_locks(*caches):
        # a kill inside a loose-object write left its lock; nothing needed that object again.
        # It is removed once stale (10 s unchanged, open by no process): sync again after that
        time.sleep(LOCK_STALE_AFTER + 1)
        again = subprocess.run(sync.args, cwd=project, capture_output=True, text=True, check=False)
        assert again.returncode == 0, again.stdout + again.stderr
    delivered = check_branch(remote_dir)
    completed = [run for trial in trials for run in trial.done] + list(after.done)
    missing = sorted(set(completed) - set(delivered))
    assert missing == [], f"completed runs not delivered: {missing}"
    begun = {run for trial in trials for run in trial.begun} | set(after.begun)
    unknown = sorted(set(delivered) - begun)
    assert unknown == [], f"runs nobody wrote: {unknown}"
    locks = leftover_locks(remote_dir, *caches)
    assert locks == [], f"locks left behind: {locks}"
    return len(delivered) - len(set(completed))


def kill_trials(
    project: Path, remote: str, remote_dir: Path, trials: int, seed: int, runs_each: int = 3
) -> tuple[list[Trial], int]:
    """``trials`` killed writers on one project and remote, then the recovery check."""
    rng = random.Random(seed)
    done: list[Trial] = []
    for _ in range(trials):
        # a write takes roughly 0.05-0.5 s here: spread the kills over the writer's whole life
        done.append(run_writer(project, remote, runs_each, kill_after=rng.uniform(0.0, 1.2)))
    return done, recover_and_check(project, remote, remote_dir, done)

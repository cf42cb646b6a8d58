"""Benchmark the git store: a write must not cost more on a big branch; walk() against git log.

Run on demand (not part of the test suite)::

    python bench/bench_git_write.py [--small 10] [--big 10000] [--repeat 7] [--walk 100000]

Builds two runs branches with ``git fast-import`` (``--small`` and ``--big`` runs, sharded as the
store writes them), then times ``GitArtifactStore.write`` of one more run on each, medians of
``--repeat``: without a remote (commit only), to a bare remote by path (fetch, commit, push; the
receiving side is dulwich too) and to the same remote served by ``git daemon``.
The number that matters is the ratio big/small measured in the same process (target: ~1).
With ``--walk N`` it also builds an N-commit branch, packs it with ``git gc``, and compares a full
``walk()`` with ``git log --first-parent --format=%H%x00%B`` (target: within 3x).
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pytest_agentv.settings import Settings  # noqa: E402
from pytest_agentv.store.git import GitArtifactStore  # noqa: E402
from tests.git_fixtures import GitDaemon  # noqa: E402
from tests.runs import make_run  # noqa: E402

BRANCH = "agentv/checkpoints/v1"


def build_branch(repo: Path, runs: int) -> None:
    """``runs`` commits on BRANCH of a bare repo, each adding one run's files."""
    subprocess.run(["git", "init", "--quiet", "--bare", str(repo)], check=True)
    chunks = []
    for number in range(runs):
        run_id = hashlib.sha1(str(number).encode()).hexdigest()[:16]
        message = (
            f"Run: {run_id}\n\nAgentV-Run: {run_id}\nAgentV-Model: bench\n"
            "AgentV-Tests: total=1 passed=1 failed=0 skipped=0 errors=0\n"
        ).encode()
        chunks.append(
            f"commit refs/heads/{BRANCH}\n"
            f"committer Bench <bench@localhost> {1700000000 + number} +0000\n"
            f"data {len(message)}\n".encode()
            + message
        )
        for name in ("metadata.json", "transcript.jsonl", "summary.json"):
            body = f'{{"runId": "{run_id}", "file": "{name}"}}\n'.encode()
            chunks.append(
                f"M 100644 inline {run_id[:2]}/{run_id[2:]}/{name}\ndata {len(body)}\n".encode()
                + body
            )
        chunks.append(b"\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=b"".join(chunks), check=True)
    subprocess.run(["git", "gc", "--quiet"], cwd=repo, check=True)


def time_writes(rootdir: Path, remote: str | None, repeat: int) -> float:
    """Median seconds of one write (after one untimed write that warms caches and fetches)."""
    store = GitArtifactStore(Settings(rootdir=rootdir, backend="git", remote=remote))
    store.write(make_run())
    samples = []
    for _ in range(repeat):
        run = make_run()
        started = time.perf_counter()
        result = store.write(run)
        samples.append(time.perf_counter() - started)
        assert result.delivered, result.problems
    return statistics.median(samples)


def bench_writes(work: Path, small: int, big: int, repeat: int) -> None:
    base = work / "served"
    base.mkdir()
    daemon = GitDaemon(base)
    daemon.start()
    modes = ("commit only", "push to a path", "push via git daemon")
    timings: dict[tuple[str, int], float] = {}
    try:
        for size in (small, big):
            remote = base / f"remote-{size}.git"
            build_branch(remote, size)
            # without a remote: the branch lives in the project's local cache repository
            local_root = work / f"local-{size}"
            (local_root / ".agentv" / "cache").mkdir(parents=True)
            subprocess.run(
                [
                    "git",
                    "clone",
                    "--quiet",
                    "--bare",
                    str(remote),
                    str(local_root / ".agentv" / "cache" / "local.git"),
                ],
                check=True,
            )
            timings[modes[0], size] = time_writes(local_root, None, repeat)
            for mode, location in (
                (modes[1], str(remote)),
                (modes[2], daemon.url(f"remote-{size}")),
            ):
                root = work / f"{mode.replace(' ', '-')}-{size}"
                root.mkdir()
                timings[mode, size] = time_writes(root, location, repeat)
    finally:
        daemon.stop()
    print(f"{'mode':<20} {small:>8} runs {big:>8} runs   ratio (target ~1)")
    for mode in modes:
        low, high = timings[mode, small], timings[mode, big]
        print(f"{mode:<20} {low * 1000:>8.1f} ms {high * 1000:>8.1f} ms   {high / low:.2f}")


def bench_walk(work: Path, size: int, repeat: int) -> None:
    root = work / "walk"
    cache = root / ".agentv" / "cache"
    cache.mkdir(parents=True)
    build_branch(cache / "local.git", size)
    store = GitArtifactStore(Settings(rootdir=root, backend="git"))
    git_samples, walk_samples = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(
            ["git", "log", "--first-parent", "--format=%H%x00%B", BRANCH],
            cwd=cache / "local.git",
            stdout=subprocess.DEVNULL,
            check=True,
        )
        git_samples.append(time.perf_counter() - started)
        started = time.perf_counter()
        count = sum(1 for _ in store.walk())
        walk_samples.append(time.perf_counter() - started)
    assert count == size
    git_time, walk_time = statistics.median(git_samples), statistics.median(walk_samples)
    print(
        f"walk of {size} commits: git log {git_time:.3f} s, walk() {walk_time:.3f} s, "
        f"ratio {walk_time / git_time:.2f} (target <= 3)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--big", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--walk", type=int, default=0, help="also benchmark walk() on N commits")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="agentv-bench-") as tmp:
        bench_writes(Path(tmp), args.small, args.big, args.repeat)
        if args.walk:
            bench_walk(Path(tmp), args.walk, max(3, args.repeat // 2))


if __name__ == "__main__":
    main()

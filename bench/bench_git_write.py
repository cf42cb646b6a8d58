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

:func:`measure` gives the suite's P2 rows (``python -m bench --rows P2``): per-write cost at
each branch size, commit only and commit + push to a path remote, interleaved with ``git push``
of a same-shaped commit to a copy of the same remote, and a push over ``git daemon`` whose
receiving side is a separate git process (our CPU time is reported apart from the wall time).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import Row, interleaved, median, size_label  # noqa: E402
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


def _one_more_commit(repo: Path, number: int) -> None:
    """Add one run-shaped commit on BRANCH of ``repo`` (untimed setup for the git push anchor)."""
    run_id = hashlib.sha1(b"anchor %d" % number).hexdigest()[:16]
    message = f"Run: {run_id}\n\nAgentV-Run: {run_id}\n".encode()
    chunks = [
        f"commit refs/heads/{BRANCH}\ncommitter Bench <bench@localhost> {1800000000 + number} "
        f"+0000\ndata {len(message)}\n".encode()
        + message
        + f"from refs/heads/{BRANCH}^0\n".encode()
    ]
    for name in ("metadata.json", "transcript.jsonl", "summary.json"):
        body = f'{{"runId": "{run_id}", "file": "{name}", "n": {number}}}\n'.encode()
        chunks.append(
            f"M 100644 inline {run_id[:2]}/{run_id[2:]}/{name}\ndata {len(body)}\n".encode() + body
        )
    chunks.append(b"\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=b"".join(chunks), check=True)


def _prepare_size(
    work: Path, base: Path, daemon: GitDaemon, size: int, cpu: list[float]
) -> dict[str, Callable[[], float]]:
    """Every P2 mode on a branch of ``size`` runs, ready to be timed (one write per call);
    the daemon mode's CPU time goes to ``cpu``."""
    remote = base / f"remote-{size}.git"
    build_branch(remote, size)
    anchor_target = shutil.copytree(remote, work / f"anchor-target-{size}.git")
    anchor_source = work / f"anchor-source-{size}.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(remote), str(anchor_source)], check=True)
    shutil.copytree(remote, base / f"daemon-{size}.git")
    local_root = work / f"local-{size}"
    (local_root / ".agentv" / "cache").mkdir(parents=True)
    subprocess.run(
        [
            "git",
            "clone",
            "-q",
            "--bare",
            str(remote),
            str(local_root / ".agentv" / "cache" / "local.git"),
        ],
        check=True,
    )
    stores = {
        "commit": GitArtifactStore(Settings(rootdir=local_root, backend="git")),
        "push-path": GitArtifactStore(
            Settings(rootdir=work / f"path-{size}", backend="git", remote=str(remote))
        ),
        "push-daemon": GitArtifactStore(
            Settings(
                rootdir=work / f"daemon-{size}",
                backend="git",
                remote=daemon.url(f"daemon-{size}"),
            )
        ),
    }
    (work / f"path-{size}").mkdir()
    (work / f"daemon-{size}").mkdir()
    for store in stores.values():  # warm: first fetch, cache repository created
        assert store.write(make_run()).delivered
    pushes = iter(range(10**9))

    def write(store: GitArtifactStore, cpu_out: list[float] | None = None) -> float:
        run = make_run()
        wall, clock = time.perf_counter(), time.process_time()
        result = store.write(run)
        wall, clock = time.perf_counter() - wall, time.process_time() - clock
        assert result.delivered, result.problems
        if cpu_out is not None:
            cpu_out.append(clock)
        return wall

    def git_push() -> float:
        _one_more_commit(anchor_source, next(pushes))
        started = time.perf_counter()
        subprocess.run(
            ["git", "push", "-q", str(anchor_target), f"refs/heads/{BRANCH}"],
            cwd=anchor_source,
            check=True,
            capture_output=True,
        )
        return time.perf_counter() - started

    return {
        "commit": lambda: write(stores["commit"]),
        "push-path": lambda: write(stores["push-path"]),
        "git-push": git_push,
        "push-daemon": lambda: write(stores["push-daemon"], cpu),
    }


def measure(sizes: tuple[int, ...] = (1000, 10_000, 100_000), repeat: int = 7) -> list[Row]:
    """The P2 rows: one write's cost at each branch size, against the smallest size."""
    work = Path(tempfile.mkdtemp(prefix="agentv-bench-p2-"))
    base = work / "served"
    base.mkdir()
    daemon = GitDaemon(base)
    daemon.start()
    samples: dict[int, dict[str, list[float]]] = {}
    try:
        # every size is built first, then all modes of all sizes alternate in each round, so a
        # burst of load from elsewhere hits the small and the big branch alike
        cpu: dict[int, list[float]] = {size: [] for size in sizes}
        measures: dict[str, Callable[[], float]] = {}
        for size in sizes:
            for mode, measure_one in _prepare_size(work, base, daemon, size, cpu[size]).items():
                measures[f"{mode}@{size}"] = measure_one
            print(f"  P2 {size} runs: ready", file=sys.stderr, flush=True)
        found = interleaved(measures, repeat)
        for size in sizes:
            samples[size] = {
                key.split("@")[0]: values
                for key, values in found.items()
                if key.endswith(f"@{size}")
            }
            samples[size]["push-daemon-cpu"] = cpu[size]
    finally:
        daemon.stop()
        shutil.rmtree(work, ignore_errors=True)
    small = sizes[0]
    m = {size: {k: median(v) for k, v in s.items()} for size, s in samples.items()}
    rows = []
    for size in sizes[1:]:
        grow = {k: m[size][k] / m[small][k] for k in m[size]}
        label = f"{size_label(small)} → {size_label(size)} runs"
        rows.append(
            Row(
                "P2",
                f"commit only, {label}",
                value=m[size]["commit"] * 1000,
                unit="ms",
                anchor=f"ours at {small} runs",
                anchor_value=m[small]["commit"] * 1000,
                ratio=grow["commit"],
                target="≤ 1.2x (flat)",
                met=grow["commit"] <= 1.2,
                samples={k: v for k, v in samples[size].items() if k == "commit"},
            )
        )
        rows.append(
            Row(
                "P2",
                f"commit + push to a path remote, {label}",
                value=m[size]["push-path"] * 1000,
                unit="ms",
                anchor=f"ours at {small} runs; git push {m[small]['git-push'] * 1000:.0f} → "
                f"{m[size]['git-push'] * 1000:.0f} ms",
                anchor_value=m[small]["push-path"] * 1000,
                ratio=grow["push-path"],
                target="≤ 1.2x (flat)",
                met=grow["push-path"] <= 1.2,
                notes=f"git push growth {grow['git-push']:.2f}x; "
                f"ours / git push at {size}: {m[size]['push-path'] / m[size]['git-push']:.2f}x",
                samples={k: v for k, v in samples[size].items() if k in ("push-path", "git-push")},
            )
        )
        rows.append(
            Row(
                "P2",
                f"commit + push via git daemon, {label}",
                value=m[size]["push-daemon"] * 1000,
                unit="ms",
                anchor=f"ours at {small} runs",
                anchor_value=m[small]["push-daemon"] * 1000,
                ratio=grow["push-daemon"],
                target="≤ 1.2x on our side",
                met=grow["push-daemon-cpu"] <= 1.2,
                notes=f"our CPU {m[small]['push-daemon-cpu'] * 1000:.1f} → "
                f"{m[size]['push-daemon-cpu'] * 1000:.1f} ms ({grow['push-daemon-cpu']:.2f}x); "
                "the rest of the wall time is the receiving git",
                samples={k: v for k, v in samples[size].items() if k.startswith("push-daemon")},
            )
        )
    return rows


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

"""P8: many writer processes pushing runs to one ``git daemon`` remote at once.

Run on demand (not part of the test suite)::

    python bench/bench_contention.py [--writers 32] [--runs 10] [--repeat 1]

Each writer is a separate process with its own project (as separate CI jobs are), building its
runs first, then waiting for a common start signal, then writing them one after another with
``GitArtifactStore.write`` to the same ``git://`` remote. Reported: every write's latency (p50,
p95, max), pushes per run (retries after lost races), writes not delivered by the write that
made them, and the runs on the remote at the end. Also the fair share, wall / runs per writer:
the mean latency if the writers took perfect turns (one ref takes one update at a time, so no
p95 can be much below it while every writer keeps writing). The anchor, alternating with it:
one writer writing as many runs to a fresh remote. Target: p95 ≤ 2 s, every run delivered by
its own write.
``AGENTV_BENCH_BACKOFF_CAP=0.5`` sets the writers' backoff cap (seconds) to explore its shape;
``AGENTV_BENCH_WRITER=push_first=0,backoff_base=0.1`` sets other ``BranchWriter`` attributes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import BRANCH, Row, clean_env, git_out, median, p95


def worker(url: str, root: Path, runs: int, go: Path, out: Path) -> None:
    """One writer process: build ``runs`` runs, wait for ``go``, write them, report as JSON."""
    from pytest_agentv.branch.writer import BranchWriter
    from pytest_agentv.git.repository import GitRepository

    if os.environ.get("AGENTV_BENCH_BACKOFF_CAP"):  # to explore the backoff shape
        BranchWriter.backoff_cap = float(os.environ["AGENTV_BENCH_BACKOFF_CAP"])
    for setting in filter(None, os.environ.get("AGENTV_BENCH_WRITER", "").split(",")):
        name, value = setting.split("=")  # e.g. push_first=0,backoff_base=0.1
        setattr(BranchWriter, name, type(getattr(BranchWriter, name))(float(value)))
    from pytest_agentv.settings import Settings
    from pytest_agentv.store.git import GitArtifactStore
    from tests.runs import make_run

    pushes = [0]
    original = GitRepository.push_branch

    def counting_push(self: GitRepository, *args: Any, **kwargs: Any) -> str | None:
        pushes[0] += 1
        return original(self, *args, **kwargs)

    GitRepository.push_branch = counting_push  # type: ignore[method-assign]
    batch = [make_run() for _ in range(runs)]
    root.mkdir(parents=True, exist_ok=True)
    store = GitArtifactStore(Settings(rootdir=root, backend="git", remote=url))
    (root / "ready").touch()
    while not go.exists():
        time.sleep(0.005)
    records = []
    for run in batch:
        before = pushes[0]
        started = time.perf_counter()
        result = store.write(run)
        records.append(
            {
                "seconds": time.perf_counter() - started,
                "delivered": result.delivered,
                "pushes": pushes[0] - before,
                "problems": list(result.problems),
            }
        )
    out.write_text(json.dumps(records))


def _round(work: Path, daemon: Any, name: str, writers: int, runs: int) -> dict[str, Any]:
    url = daemon.new_remote(name)
    go = work / f"{name}.go"
    procs, outs = [], []
    for n in range(writers):
        root = work / f"{name}-w{n}"
        out = work / f"{name}-w{n}.json"
        outs.append(out)
        command = [sys.executable, __file__, "--worker", url, str(root), str(runs), str(go)]
        env = clean_env()
        for variable in ("AGENTV_BENCH_BACKOFF_CAP", "AGENTV_BENCH_WRITER"):
            if variable in os.environ:
                env[variable] = os.environ[variable]
        procs.append(subprocess.Popen([*command, str(out)], env=env))
    roots = [work / f"{name}-w{n}" for n in range(writers)]
    deadline = time.monotonic() + 600
    while not all((root / "ready").exists() for root in roots):
        if time.monotonic() > deadline or any(p.poll() not in (None, 0) for p in procs):
            raise SystemExit("a writer did not start")
        time.sleep(0.02)
    started = time.perf_counter()
    go.touch()
    for proc in procs:
        if proc.wait() != 0:
            raise SystemExit("a writer failed")
    wall = time.perf_counter() - started
    records = [record for out in outs for record in json.loads(out.read_text())]
    on_remote = int(git_out("rev-list", "--count", BRANCH, cwd=daemon.path(name))) - 1
    return {"wall": wall, "records": records, "on_remote": on_remote}


def measure(writers: int = 32, runs: int = 10, repeat: int = 1) -> list[Row]:
    """The P8 row: contention rounds alternating with a single writer of as many runs."""
    from tests.git_fixtures import GitDaemon

    work = Path(tempfile.mkdtemp(prefix="agentv-bench-p8-"))
    base = work / "served"
    base.mkdir()
    daemon = GitDaemon(base)
    daemon.start()
    many: list[dict[str, Any]] = []
    single: list[dict[str, Any]] = []
    try:
        for n in range(repeat):
            order = [("many", writers, runs), ("single", 1, writers * runs)]
            for kind, w, r in order if n % 2 == 0 else order[::-1]:
                result = _round(work, daemon, f"{kind}{n}", w, r)
                (many if kind == "many" else single).append(result)
    finally:
        daemon.stop()
        shutil.rmtree(work, ignore_errors=True)

    def figures(rounds: list[dict[str, Any]]) -> dict[str, float]:
        latencies = [rec["seconds"] for r in rounds for rec in r["records"]]
        writes = [rec for r in rounds for rec in r["records"]]
        return {
            "wall": median([r["wall"] for r in rounds]),
            "p50": median(latencies),
            "p95": p95(latencies),
            "max": max(latencies),
            "pushes_per_run": sum(rec["pushes"] for rec in writes) / len(writes),
            "undelivered": sum(not rec["delivered"] for rec in writes) / len(rounds),
            "missing": sum(len(r["records"]) - r["on_remote"] for r in rounds) / len(rounds),
        }

    m, s = figures(many), figures(single)
    problems = sorted({p for r in many for rec in r["records"] for p in rec["problems"]})
    return [
        Row(
            "P8",
            f"{writers} writers x {runs} runs, git daemon: p95 latency",
            value=m["p95"],
            unit="s",
            anchor=f"one writer, {writers * runs} runs: p95 {s['p95']:.2f} s, "
            f"wall {s['wall']:.1f} s",
            anchor_value=s["p95"],
            ratio=m["wall"] / s["wall"],
            target="p95 ≤ 2 s; every run delivered by its own write",
            met=m["p95"] <= 2 and m["undelivered"] == 0 and m["missing"] == 0,
            notes=f"wall {m['wall']:.1f} s (ratio = wall / one writer's wall); p50 "
            f"{m['p50']:.2f} s; max {m['max']:.1f} s; fair share {m['wall'] / runs:.1f} s (the "
            f"mean latency if the writers took turns: wall / runs per writer); "
            f"{m['pushes_per_run']:.2f} pushes/run; "
            f"{m['undelivered']:.0f} writes not delivered, {m['missing']:.0f} runs missing on "
            f"the remote at the end (per round)"
            + (f"; problems: {problems[0][:200]}" if problems else ""),
            samples={
                "latencies": [rec["seconds"] for r in many for rec in r["records"]],
                "walls": [r["wall"] for r in many],
                "single_walls": [r["wall"] for r in single],
            },
        )
    ]


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        url, root, runs, go, out = sys.argv[2:7]
        worker(url, Path(root), int(runs), Path(go), Path(out))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=32)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    for row in measure(args.writers, args.runs, args.repeat):
        print(f"{row.figure}: {row.value:.2f} {row.unit} ({row.anchor}); {row.notes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

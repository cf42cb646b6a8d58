"""Benchmark ``agentv-results trend`` and ``flaky`` over many runs, cold and warm.

Run on demand (not part of the test suite)::

    python bench/bench_history.py [--runs 1000] [--tests 50] [--repeat 5]

Writes ``--runs`` runs of ``--tests`` scored tests into a throwaway local store, then times, each
as a whole process like a user runs it: ``agentv-results list --limit N`` (the baseline: it reads
every run's summary), ``flaky --last N`` cold (no points cache: every run's metadata is read
once) and warm (answered from ``.agentv/cache/points.sqlite3``), and ``trend --last N`` warm.
Prints medians and the ratio of each to the baseline.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pytest_agentv.store.local import LocalArtifactStore  # noqa: E402
from tests.gate_runs import scored, stored_run  # noqa: E402


def build(root: Path, runs: int, tests: int) -> None:
    store = LocalArtifactStore(root / ".agentv" / "runs")
    for n in range(runs):
        records = [
            scored(
                f"evals/test_m{i % 5}.py::test_case[c{i}]",
                "failed" if (i * 7 + n) % 13 == 0 else "passed",
                accuracy=((i * 31 + n * 17) % 100) / 100,
            )
            for i in range(tests)
        ]
        store.write(stored_run(f"{n:016x}", records, minute=n % 60))


def timed(root: Path, *args: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        ["agentv-results", *args],
        cwd=root,
        check=True,
        capture_output=True,
        env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1"},
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--tests", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / ".git").mkdir()
        build(root, args.runs, args.tests)
        last = str(args.runs)
        cache = root / ".agentv" / "cache" / "points.sqlite3"
        results: dict[str, list[float]] = {
            "list": [],
            "flaky cold": [],
            "flaky warm": [],
            "trend warm": [],
        }
        for _ in range(args.repeat):
            results["list"].append(timed(root, "list", "--limit", last))
            cache.unlink(missing_ok=True)
            results["flaky cold"].append(timed(root, "flaky", "--last", last))
            results["flaky warm"].append(timed(root, "flaky", "--last", last))
            results["trend warm"].append(timed(root, "trend", "--last", last))
        base = statistics.median(results["list"])
        print(f"{args.runs} runs x {args.tests} tests, median of {args.repeat}")
        for name, values in results.items():
            median = statistics.median(values)
            print(f"  {name:<12} {median:7.3f} s   x{median / base:5.2f} of list")


if __name__ == "__main__":
    main()

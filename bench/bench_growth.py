"""Repository growth: bytes per run after ``git gc``, against ``gzip -9`` of each file.

Run on demand (not part of the test suite)::

    python bench/bench_growth.py [--runs 1000] [--tests 20] [--messages 10]

``--runs`` typical runs (``--tests`` tests x ``--messages`` transcript messages of varied,
transcript-like text, scores and usage, built by the real payload builder) are written with
``GitArtifactStore.write`` to a local branch; the repository is then packed with ``git gc`` and
its pack size divided by the runs. The anchor is what the same files cost compressed one by
one with ``gzip -9`` (no sharing between runs). Below 1x means git's deltas between runs win.
"""

from __future__ import annotations

import argparse
import gzip
import random
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Row, size_label

_WORDS = (  # noqa: SIM905 - prose is easier to read as a sentence than as a list
    "the model answered the question correctly and cited the retrieved passage; the grader "
    "checked the final number against the reference and the tool call returned a table of "
    "results with three columns, the assistant then summarised the findings for the user"
).split()


def typical_run(rng: random.Random, tests: int, messages: int) -> Any:
    """A run like a real eval session's: ``tests`` tests, ``messages`` messages each."""
    from pytest_agentv.models import Score, TestRecord, Usage, Versions
    from pytest_agentv.payload import Provenance, RawEvent, RunInputs, build_run
    from pytest_agentv.redact import Redactor
    from pytest_agentv.run_ids import new_run_id

    started = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(10**6))
    records, events = [], []
    for t in range(tests):
        nodeid = f"evals/test_support.py::test_case[{t}]"
        records.append(
            TestRecord(
                nodeid=nodeid,
                outcome=rng.choice(["passed", "passed", "passed", "failed"]),
                duration=rng.uniform(0.5, 9),
                scores={
                    "accuracy": Score(value=rng.random()),
                    "faithful": Score(value=rng.random()),
                },
                usage=Usage(
                    input_tokens=rng.randint(100, 5000), output_tokens=rng.randint(10, 900)
                ),
            )
        )
        for m in range(messages):
            text = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(15, 120)))
            events.append(
                RawEvent(
                    test=nodeid,
                    role="user" if m % 2 == 0 else "assistant",
                    content=text,
                    timestamp=(started + timedelta(seconds=t * 10 + m)).isoformat(),
                )
            )
    inputs = RunInputs(
        run_id=new_run_id(),
        started_at=started,
        finished_at=started + timedelta(seconds=tests * 10),
        tests=records,
        transcript=events,
        versions=Versions(agentv="0.1.0", pytest="8.3", python="3.11", platform="linux"),
        provenance=Provenance(
            repo="org/evals", commit=f"{rng.getrandbits(160):040x}", branch="main"
        ),
        model="gpt-4o",
        eval_file="evals/test_support.py",
    )
    return build_run(inputs, Redactor())


def measure(runs: int = 1000, tests: int = 20, messages: int = 10, seed: int = 0) -> list[Row]:
    from pytest_agentv.settings import Settings
    from pytest_agentv.store.git import GitArtifactStore

    rng = random.Random(seed)
    work = Path(tempfile.mkdtemp(prefix="agentv-bench-growth-"))
    try:
        store = GitArtifactStore(Settings(rootdir=work, backend="git"))
        raw = gzipped = 0
        for _ in range(runs):
            run = typical_run(rng, tests, messages)
            for data in run.files.values():
                raw += len(data)
                gzipped += len(gzip.compress(data, compresslevel=9))
            assert store.write(run).delivered
        repo = work / ".agentv" / "cache" / "local.git"
        subprocess.run(["git", "gc", "--quiet"], cwd=repo, check=True)
        packed = sum(p.stat().st_size for p in (repo / "objects" / "pack").glob("*.pack"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    per_run, anchor = packed / runs, gzipped / runs
    return [
        Row(
            "growth",
            f"bytes per run after git gc, {size_label(runs)} runs of {tests} tests x "
            f"{messages} messages",
            value=per_run / 1000,
            unit="KB/run",
            anchor="per-file gzip -9",
            anchor_value=anchor / 1000,
            ratio=per_run / anchor,
            target="— (reported: below 1x, git's deltas between runs win)",
            notes=f"raw {raw / runs / 1000:.1f} KB/run",
        )
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--tests", type=int, default=20)
    parser.add_argument("--messages", type=int, default=10)
    args = parser.parse_args()
    for row in measure(args.runs, args.tests, args.messages):
        print(
            f"{row.figure}: {row.value:.2f} {row.unit}; {row.anchor} {row.anchor_value:.2f}; "
            f"{row.ratio:.2f}x; {row.notes}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

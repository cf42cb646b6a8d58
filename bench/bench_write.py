"""P1: the cost of writing runs into a local branch, against git itself writing the same commits.

Run on demand (not part of the test suite)::

    python bench/bench_write.py [--runs 1000] [--plumbing-runs 300] [--repeat 3]

``--runs`` consecutive runs (three small files each, built by the real payload builder) are
written with ``GitArtifactStore.write`` into the local branch of a throwaway project (no remote).
Anchors, measured in the same rounds on the same runs: ``git fast-import`` of the same trees and
commits (one process for all of them), and git CLI plumbing per run, as a shell-out writer would
do it (``hash-object -w``, ``mktree`` for the run, shard and root trees, ``commit-tree``,
``update-ref``). Reported per run; target ≤ 2x fast-import.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import BRANCH, Row, clean_env, interleaved, median, ratio

IDENTITY = {
    "GIT_AUTHOR_NAME": "AgentV",
    "GIT_AUTHOR_EMAIL": "agentv@localhost",
    "GIT_COMMITTER_NAME": "AgentV",
    "GIT_COMMITTER_EMAIL": "agentv@localhost",
}


def make_runs(count: int) -> list[Any]:
    """``count`` small complete runs (three files each), built before any timing starts."""
    from tests.runs import make_run

    return [make_run() for _ in range(count)]


def write_ours(root: Path, runs: list[Any]) -> float:
    """Seconds to write every run with the git store into a local branch of a fresh project."""
    import time

    from pytest_agentv.settings import Settings
    from pytest_agentv.store.git import GitArtifactStore

    root.mkdir(parents=True)
    store = GitArtifactStore(Settings(rootdir=root, backend="git", remote=None))
    started = time.perf_counter()
    for run in runs:
        result = store.write(run)
        if not result.delivered:
            raise SystemExit(f"write failed: {result.problems}")
    return time.perf_counter() - started


def fast_import_stream(runs: list[Any]) -> bytes:
    """The same commits as the store writes (message, trailers, files under the shard)."""
    from pytest_agentv.store.paths import RUN_FILES, shard_path
    from pytest_agentv.trailers import run_message

    chunks: list[bytes] = []
    for number, run in enumerate(runs):
        message = run_message(run.summary)
        chunks.append(
            f"commit refs/heads/{BRANCH}\n"
            f"committer AgentV <agentv@localhost> {1700000000 + number} +0000\n"
            f"data {len(message)}\n".encode()
            + message
            + b"\n"
        )
        shard = shard_path(run.run_id)
        for name in RUN_FILES:
            body = run.files[name]
            chunks.append(f"M 100644 inline {shard}/{name}\ndata {len(body)}\n".encode() + body)
            chunks.append(b"\n")
        chunks.append(b"\n")
    chunks.append(b"done\n")
    return b"".join(chunks)


def write_fast_import(repo: Path, stream: bytes) -> float:
    import time

    subprocess.run(["git", "init", "-q", "--bare", str(repo)], check=True)
    started = time.perf_counter()
    subprocess.run(["git", "fast-import", "--quiet", "--done"], cwd=repo, input=stream, check=True)
    return time.perf_counter() - started


def _git(repo: Path, env: dict[str, str], *args: str, data: bytes | None = None) -> str:
    done = subprocess.run(
        ["git", *args], cwd=repo, input=data, capture_output=True, env=env, check=True
    )
    return done.stdout.decode().strip()


def write_plumbing(repo: Path, runs: list[Any]) -> float:
    """Seconds to write every run with one git process per plumbing step (trees cached here,
    as a careful shell-out writer would, so no ``ls-tree`` is needed)."""
    import time

    from pytest_agentv.store.paths import RUN_FILES
    from pytest_agentv.trailers import run_message

    subprocess.run(["git", "init", "-q", "--bare", str(repo)], check=True)
    env = clean_env(**IDENTITY)
    scratch = repo / "scratch"
    scratch.mkdir()
    shards: dict[str, dict[str, str]] = {}  # shard -> run dir name -> tree sha
    root_entries: dict[str, str] = {}  # shard -> tree sha
    parent: str | None = None
    started = time.perf_counter()
    for run in runs:
        paths = []
        for name in RUN_FILES:
            path = scratch / name
            path.write_bytes(run.files[name])
            paths.append(str(path))
        blobs = _git(repo, env, "hash-object", "-w", *paths).split()
        run_tree = _git(
            repo,
            env,
            "mktree",
            data="".join(
                f"100644 blob {sha}\t{name}\n" for name, sha in zip(RUN_FILES, blobs, strict=True)
            ).encode(),
        )
        shard, rest = run.run_id[:2], run.run_id[2:]
        entries = shards.setdefault(shard, {})
        entries[rest] = run_tree
        shard_tree = _git(
            repo,
            env,
            "mktree",
            data="".join(f"040000 tree {sha}\t{name}\n" for name, sha in entries.items()).encode(),
        )
        root_entries[shard] = shard_tree
        root_tree = _git(
            repo,
            env,
            "mktree",
            data="".join(
                f"040000 tree {sha}\t{name}\n" for name, sha in root_entries.items()
            ).encode(),
        )
        parent_args = ["-p", parent] if parent else []
        commit = _git(
            repo, env, "commit-tree", root_tree, *parent_args, data=run_message(run.summary)
        )
        _git(repo, env, "update-ref", f"refs/heads/{BRANCH}", commit, parent or "")
        parent = commit
    return time.perf_counter() - started


def measure(runs: int = 1000, plumbing_runs: int = 300, repeat: int = 3) -> list[Row]:
    """The P1 rows: per-run seconds of ours, fast-import and plumbing, interleaved."""
    work = Path(tempfile.mkdtemp(prefix="agentv-bench-p1-"))
    try:
        batch = make_runs(runs)
        stream = fast_import_stream(batch)
        plumbing_batch = batch[:plumbing_runs]
        counter = iter(range(10**9))

        def fresh(name: str) -> Path:
            return work / f"{name}-{next(counter)}"

        samples = interleaved(
            {
                "ours": lambda: write_ours(fresh("ours"), batch) / runs,
                "fast-import": lambda: write_fast_import(fresh("fi"), stream) / runs,
                "plumbing": lambda: (
                    write_plumbing(fresh("plumbing"), plumbing_batch) / plumbing_runs
                ),
            },
            repeat,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ours, fast, plumb = (median(samples[k]) for k in ("ours", "fast-import", "plumbing"))
    common = {"value": ours * 1000, "unit": "ms/run", "samples": samples}
    return [
        Row(
            "P1",
            f"write, {runs} runs, local branch",
            anchor="git fast-import",
            anchor_value=fast * 1000,
            ratio=ratio(ours, fast),
            target="≤ 2x fast-import",
            met=ours <= 2 * fast,
            **common,  # type: ignore[arg-type]
        ),
        Row(
            "P1",
            f"write, {runs} runs, local branch",
            anchor=f"git plumbing per run ({plumbing_runs} runs)",
            anchor_value=plumb * 1000,
            ratio=ratio(ours, plumb),
            target="— (a shell-out writer)",
            **common,  # type: ignore[arg-type]
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--plumbing-runs", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = measure(args.runs, min(args.plumbing_runs, args.runs), args.repeat)
    for row in rows:
        print(
            f"{row.figure}: {row.value:.2f} {row.unit}; {row.anchor} {row.anchor_value:.2f}; "
            f"ratio {row.ratio:.2f} (target {row.target})"
        )
    print(json.dumps({"loadavg": os.getloadavg()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

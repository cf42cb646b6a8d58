"""Scale: a very big results branch (1M runs built with ``git fast-import``) against a 100k one.

Run on demand (not part of the test suite)::

    python bench/bench_scale.py [--base 100000] [--big 1000000] [--repeat 5]

Both branches are built the way ``bench_cli.py`` builds them (the store's own messages and
trailers, three files per run under its shard). On each, alternating between the two: one more
run written with ``GitArtifactStore.write`` (commit only, into the project's own repository),
``agentv-results show <id>`` and warm ``agentv-results list --limit 50``; then the size of the run
index. Everything is reported as big / base: sharding keeps every tree small and nothing may walk
all runs on a write, so the target is ≤ 1.2x (the index, which holds one row per run, grows
with the runs by design).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Row, interleaved, median, run_process, size_label


def _index_bytes(project: Path) -> int:
    cache = project / ".agentv" / "cache"
    return sum(
        path.stat().st_size
        for path in cache.rglob("*")
        if path.is_file() and not any(part.endswith(".git") for part in path.parts)
    )


def measure(base: int = 100_000, big: int = 1_000_000, repeat: int = 5) -> list[Row]:
    from bench.bench_cli import build_branch, run_id_of
    from pytest_agentv.settings import Settings
    from pytest_agentv.store.git import GitArtifactStore
    from tests.runs import make_run

    work = Path(tempfile.mkdtemp(prefix="agentv-bench-scale-"))
    cli = shutil.which("agentv-results") or "agentv-results"
    projects: dict[int, Path] = {}
    stores: dict[int, GitArtifactStore] = {}
    index_build: dict[int, float] = {}
    try:
        for size in (base, big):
            project = work / f"runs-{size}"
            project.mkdir()
            subprocess.run(["git", "init", "-q", str(project)], check=True)
            (project / ".agentv").mkdir()
            (project / ".agentv" / "config.yaml").write_text("artifacts:\n  backend: git\n")
            build_branch(project, size)
            print(f"  scale: built {size} runs", file=sys.stderr, flush=True)
            index_build[size] = run_process([cli, "list", "--limit", "1", "--no-fetch"], project)
            projects[size] = project
            stores[size] = GitArtifactStore(Settings(rootdir=project, backend="git"))
            assert stores[size].write(make_run()).delivered  # warm

        def write(size: int) -> float:
            run = make_run()
            started = time.perf_counter()
            result = stores[size].write(run)
            assert result.delivered, result.problems
            return time.perf_counter() - started

        measures = {}
        for size in (base, big):
            project = projects[size]
            show = [cli, "show", run_id_of(size // 2), "--no-fetch"]
            listing = [cli, "list", "--limit", "50", "--no-fetch"]
            measures[f"write-{size}"] = lambda size=size: write(size)
            measures[f"show-{size}"] = lambda show=show, p=project: run_process(show, p)
            measures[f"list-{size}"] = lambda listing=listing, p=project: run_process(listing, p)
        samples = interleaved(measures, repeat)
        index = {size: _index_bytes(projects[size]) for size in (base, big)}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    m = {k: median(v) for k, v in samples.items()}
    label = f"{size_label(big)} vs {size_label(base)} runs"
    rows = []
    for key, what, unit, scale in (
        ("write", "write one run (commit only)", "ms", 1000),
        ("show", "agentv-results show <id>", "s", 1),
        ("list", "warm agentv-results list --limit 50", "s", 1),
    ):
        grow = m[f"{key}-{big}"] / m[f"{key}-{base}"]
        rows.append(
            Row(
                "scale",
                f"{what}, {label}",
                value=m[f"{key}-{big}"] * scale,
                unit=unit,
                anchor=f"the same at {size_label(base)}",
                anchor_value=m[f"{key}-{base}"] * scale,
                ratio=grow,
                target="≤ 1.2x (flat)",
                met=grow <= 1.2,
                samples={k: v for k, v in samples.items() if k.startswith(key)},
            )
        )
    rows.append(
        Row(
            "scale",
            f"run index size, {label}",
            value=index[big] / 1e6,
            unit="MB",
            anchor=f"at {size_label(base)}",
            anchor_value=index[base] / 1e6,
            ratio=index[big] / index[base],
            target="— (one row per run)",
            notes=f"{index[big] / big:.0f} bytes/run; first index "
            f"{index_build[base]:.1f} s → {index_build[big]:.1f} s",
        )
    )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=int, default=100_000)
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    for row in measure(args.base, args.big, args.repeat):
        print(
            f"{row.figure}: {row.value:.3f} {row.unit} vs {row.anchor_value:.3f} "
            f"({row.ratio:.2f}x, target {row.target}) {row.notes}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark the static dashboard on a big results branch: build time, site size, rebuilds.

Run on demand (not part of the test suite)::

    python bench/bench_dashboard.py [--runs 10000] [--keep DIR]

Builds a results branch of ``--runs`` varied runs with ``git fast-import`` (one commit per run,
the git store's own message and trailers, the three run files per run as the payload builder
makes them: two models, two source branches, drifting scores, a flipping test), then measures,
in one process:

* the baseline: reading every run's three files through the same ``RunSource`` (the I/O any
  generator must do, and the index's first walk of the branch);
* a cold build into an empty directory (includes the first index, like the baseline);
* a rebuild with nothing new (every page kept; the manifest answers);
* a rebuild after one more run written by the git store;

and reports seconds, ratios to the baseline, files written, and the site's size (total, the
first page, the overview data a filter loads, a run page). Results go to stdout and to
``bench/results/dashboard-<time>.json``.
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pytest_agentv.dashboard import build_site  # noqa: E402
from pytest_agentv.index import RunQuery  # noqa: E402
from pytest_agentv.settings import resolve_settings  # noqa: E402
from pytest_agentv.sources import RunSource, open_source  # noqa: E402
from pytest_agentv.trailers import run_message  # noqa: E402
from tests.dashboard_support import build, make_project, plan, write_runs  # noqa: E402

BRANCH = "agentv/checkpoints/v1"


def fast_import(project: Path, count: int) -> float:
    """Fill the results branch with ``count`` run commits through ``git fast-import``."""
    started = time.perf_counter()
    importer = subprocess.Popen(
        ["git", "fast-import", "--quiet", "--done"], cwd=project, stdin=subprocess.PIPE
    )
    assert importer.stdin is not None
    out = importer.stdin

    def data(payload: bytes) -> None:
        out.write(b"data %d\n" % len(payload))
        out.write(payload)
        out.write(b"\n")

    for n, planned in enumerate(plan(count)):
        run = build(planned, n)
        seconds = 1_714_564_800 + n * 60
        out.write(f"commit refs/heads/{BRANCH}\n".encode())
        out.write(f"committer agentv <agentv@localhost> {seconds} +0000\n".encode())
        data(run_message(run.summary))
        if n == 0:
            out.write(b"deleteall\n")
        shard = f"{run.run_id[:2]}/{run.run_id[2:]}"
        for name, payload in run.files.items():
            out.write(f"M 100644 inline {shard}/{name}\n".encode())
            data(payload)
    out.write(b"done\n")
    out.close()
    if importer.wait() != 0:
        raise SystemExit("git fast-import failed")
    return time.perf_counter() - started


def source_of(project: Path) -> RunSource:
    return open_source(resolve_settings(project, cli={"backend": "git"}, env={}, ini={}))


def drop_index(project: Path) -> None:
    shutil.rmtree(project / ".agentv" / "cache", ignore_errors=True)


def read_everything(project: Path) -> float:
    """The baseline: index the branch and read every file of every run, as a build must."""
    drop_index(project)
    started = time.perf_counter()
    source = source_of(project)
    for row in source.query(RunQuery()):
        for name in ("summary.json", "metadata.json", "transcript.jsonl"):
            source.read(row.run_id, name)
    return time.perf_counter() - started


def size_of(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def bench(count: int, keep: Path | None) -> dict[str, Any]:
    base = keep or Path(tempfile.mkdtemp(prefix="agentv-bench-dashboard-"))
    project = make_project(base / "project")
    import_seconds = fast_import(project, count)
    baseline = read_everything(project)

    site = base / "site"
    drop_index(project)
    cold = build_site(source_of(project), site)
    warm = build_site(source_of(project), site)
    extra = plan(count + 1)[count:]
    write_runs(project, extra, start_minute=count)
    one_more = build_site(source_of(project), site)
    largest = max((p for p in site.rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
    run_page = next((site / "runs").rglob("*.html"))
    result = {
        "runs": count,
        "import_seconds": round(import_seconds, 2),
        "baseline_read_all_seconds": round(baseline, 3),
        "cold_seconds": round(cold.seconds, 3),
        "cold_ratio": round(cold.seconds / baseline, 2),
        "cold_files": len(cold.written),
        "rebuild_unchanged_seconds": round(warm.seconds, 3),
        "rebuild_unchanged_ratio": round(warm.seconds / baseline, 3),
        "rebuild_unchanged_written": len(warm.written),
        "one_more_seconds": round(one_more.seconds, 3),
        "one_more_ratio": round(one_more.seconds / baseline, 3),
        "one_more_read": one_more.read,
        "one_more_written": sorted(one_more.written),
        "one_more_written_bytes": sum((site / p).stat().st_size for p in one_more.written),
        "site_bytes": size_of(site),
        "site_files": sum(1 for p in site.rglob("*") if p.is_file()),
        "index_html_bytes": (site / "index.html").stat().st_size,
        "overview_data_bytes": size_of(site / "data"),
        "trends_html_bytes": (site / "trends.html").stat().st_size,
        "tests_html_bytes": (site / "tests.html").stat().st_size,
        "run_page_bytes": run_page.stat().st_size,
        "largest_file": [str(largest.relative_to(site)), largest.stat().st_size],
    }
    if keep is None:
        shutil.rmtree(base, ignore_errors=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000, help="runs on the branch")
    parser.add_argument("--keep", type=Path, help="build the branch and the site here, keep them")
    args = parser.parse_args()
    env_home = tempfile.mkdtemp(prefix="agentv-bench-home-")
    os.environ.update({"HOME": env_home, "GIT_CONFIG_NOSYSTEM": "1"})
    r = bench(args.runs, args.keep)
    mb = 1024 * 1024
    print(f"runs {r['runs']}: branch made in {r['import_seconds']}s")
    print(f"baseline (index + read every run's files) {r['baseline_read_all_seconds']:.2f}s")
    print(
        f"cold build       {r['cold_seconds']:7.2f}s  {r['cold_ratio']:5.2f}x baseline  "
        f"{r['cold_files']} files, {r['site_bytes'] / mb:.1f} MiB"
    )
    print(
        f"rebuild, nothing new {r['rebuild_unchanged_seconds']:7.3f}s  "
        f"{r['rebuild_unchanged_ratio']:5.3f}x  {r['rebuild_unchanged_written']} files written"
    )
    print(
        f"rebuild, one more run {r['one_more_seconds']:7.3f}s  {r['one_more_ratio']:5.3f}x  "
        f"read {r['one_more_read']} runs, wrote {len(r['one_more_written'])} files "
        f"({r['one_more_written_bytes'] / mb:.2f} MiB): {', '.join(r['one_more_written'])}"
    )
    print(
        f"index.html {r['index_html_bytes'] / 1024:.0f} KiB, data/ (loaded on the first "
        f"filter) {r['overview_data_bytes'] / mb:.2f} MiB, trends.html "
        f"{r['trends_html_bytes'] / 1024:.0f} KiB, tests.html {r['tests_html_bytes'] / 1024:.0f}"
        f" KiB, a run page {r['run_page_bytes'] / 1024:.1f} KiB"
    )
    out_dir = REPO / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    record = {"when": stamp, "python": sys.version.split()[0], "cpus": os.cpu_count(), "result": r}
    (out_dir / f"dashboard-{stamp}.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"details in bench/results/dashboard-{stamp}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())

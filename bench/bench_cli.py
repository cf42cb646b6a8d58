"""Benchmark ``agentv-results`` on big results branches, against ``git log`` on the same branch.

Run on demand (not part of the test suite)::

    python bench/bench_cli.py [--sizes 1000,10000,100000] [--repeat 5] [--keep DIR]

For each size it builds a results branch with ``git fast-import`` (one commit per run, trailers
as the git store writes them, the three run files in ``<id[:2]>/<id[2:]>/``), then times, each as
a whole process like a user runs it:

* ``git log --first-parent --format=%H%x00%B`` over the whole branch (the cold baseline) and
  ``git log -50`` (the warm baseline);
* ``agentv-results list --limit 50`` cold (no index: the first index of the whole branch) and warm;
  cold also without the git command line (the store's own reader, what a machine without git
  on PATH gets);
* ``agentv-results show <id>`` (one run read by path at the tip) and ``show <prefix>``;
* the interpreter floor (``python -c pass``) and the import of the package, to show what the
  process spends before doing any work; plus warm ``list`` with the package ``__init__`` skipped,
  which is what a lazy ``pytest_agentv/__init__.py`` would give.

Results go to stdout and to ``bench/results/cli-<time>.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import Row, interleaved, run_process, size_label  # noqa: E402
from pytest_agentv.serial import iso, sha256  # noqa: E402
from pytest_agentv.trailers import run_message  # noqa: E402
from tests.runs import BASE_TESTS  # noqa: E402
from tests.runs import cli_run as make_run  # noqa: E402

BRANCH = "agentv/checkpoints/v1"
T0 = datetime(2024, 1, 1, tzinfo=UTC)
TARGET_WARM_SECONDS = 0.3
TARGET_COLD_RATIO = 2.0

# the CLI as it runs where git is not on PATH: the store's own reader builds the index
_NO_GIT_CLI = (
    "import sys; import pytest_agentv.sources_git as g; g.find_git = lambda: None; "
    "from pytest_agentv.cli import main; sys.exit(main())"
)

# what a lazy package __init__ would cost: import the CLI without running pytest_agentv/__init__.py
_SKIP_INIT = (
    "import sys, types; pkg = types.ModuleType('pytest_agentv'); "
    f"pkg.__path__ = [{str(REPO / 'pytest_agentv')!r}]; sys.modules['pytest_agentv'] = pkg; "
    "from pytest_agentv.cli import main; sys.exit(main())"
)


def run_id_of(n: int) -> str:
    return hashlib.sha256(n.to_bytes(8, "big")).hexdigest()[:16]


def build_branch(project: Path, size: int) -> float:
    """Fill ``BRANCH`` of the repo at ``project`` with ``size`` run commits; return seconds."""
    template = make_run("0" * 16, tests=BASE_TESTS)
    metadata_t = template.files["metadata.json"]
    summary_t = template.files["summary.json"]
    transcript = template.files["transcript.jsonl"]
    stamp_t = template.summary.timestamp.encode()
    # the store's own message, so the benchmark parses exactly what real branches carry
    message_t = run_message(template.summary)
    started = time.perf_counter()
    importer = subprocess.Popen(
        ["git", "fast-import", "--quiet", "--done"],
        cwd=project,
        stdin=subprocess.PIPE,
    )
    assert importer.stdin is not None
    out = importer.stdin

    def data(payload: bytes) -> None:
        out.write(b"data %d\n" % len(payload))
        out.write(payload)
        out.write(b"\n")

    # every run shares one transcript blob; metadata and summary differ per run as in real life
    out.write(b"blob\nmark :1\n")
    data(transcript)
    for n in range(size):
        run_id = run_id_of(n)
        moment = T0 + timedelta(minutes=n)
        stamp = iso(moment).encode()
        metadata = metadata_t.replace(b"0" * 16, run_id.encode()).replace(stamp_t, stamp)
        summary = (
            summary_t.replace(b"0" * 16, run_id.encode())
            .replace(stamp_t, stamp)
            .replace(sha256(metadata_t).encode(), sha256(metadata).encode())
        )
        message = message_t.replace(b"0" * 16, run_id.encode()).replace(stamp_t, stamp)
        if n % 3 == 0:
            message = message.replace(b"AgentV-Model: gpt-4o", b"AgentV-Model: claude-3")
        seconds = int(moment.timestamp())
        out.write(f"commit refs/heads/{BRANCH}\n".encode())
        out.write(f"committer agentv <agentv@localhost> {seconds} +0000\n".encode())
        data(message)
        if n == 0:
            out.write(b"deleteall\n")
        shard = f"{run_id[:2]}/{run_id[2:]}"
        out.write(f"M 100644 inline {shard}/metadata.json\n".encode())
        data(metadata)
        out.write(f"M 100644 :1 {shard}/transcript.jsonl\n".encode())
        out.write(f"M 100644 inline {shard}/summary.json\n".encode())
        data(summary)
    out.write(b"done\n")
    out.close()
    if importer.wait() != 0:
        raise SystemExit("git fast-import failed")
    return time.perf_counter() - started


def bench_size(size: int, repeat: int, keep: Path | None) -> dict[str, Any]:
    base = keep or Path(tempfile.mkdtemp(prefix="agentv-bench-"))
    project = base / f"runs-{size}"
    if project.exists():
        shutil.rmtree(project)
    project.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    (project / ".agentv").mkdir()
    (project / ".agentv" / "config.yaml").write_text("artifacts:\n  backend: git\n")
    build_seconds = build_branch(project, size)
    cache = project / ".agentv" / "cache"

    def drop_index() -> None:
        shutil.rmtree(cache, ignore_errors=True)

    cli = shutil.which("agentv-results") or "agentv-results"
    list50 = [cli, "list", "--limit", "50", "--no-fetch"]
    cold_repeat = min(repeat, 3)
    result: dict[str, Any] = {"runs": size, "build_seconds": round(build_seconds, 2)}
    git_all = ["git", "log", "--first-parent", "--format=%H%x00%B", BRANCH]
    # each measure alternates with its anchor, round by round (bench/common.py: interleaved)
    cold = interleaved(
        {
            "git_log_all": lambda: run_process(git_all, project),
            "list_cold": lambda: (drop_index(), run_process(list50, project))[1],
            "list_cold_no_git": lambda: (
                drop_index(),
                run_process([sys.executable, "-c", _NO_GIT_CLI, *list50[1:]], project),
            )[1],
        },
        cold_repeat,
    )
    warm = interleaved(
        {
            "git_log_50": lambda: run_process(
                ["git", "log", "-50", "--format=%H%x00%B", BRANCH], project
            ),
            "list_warm": lambda: run_process(list50, project),
            "show_full_id": lambda: run_process(
                [cli, "show", run_id_of(size // 2), "--no-fetch"], project
            ),
            "show_prefix": lambda: run_process(
                [cli, "show", run_id_of(size // 2)[:10], "--no-fetch"], project
            ),
            "python_floor": lambda: run_process([sys.executable, "-c", "pass"], project),
            "import_package": lambda: run_process(
                [sys.executable, "-c", "import pytest_agentv"], project
            ),
            "list_warm_lazy_init": lambda: run_process(
                [sys.executable, "-c", _SKIP_INIT, *list50[1:]], project
            ),
        },
        repeat,
    )
    if cold_repeat < repeat:  # the baseline is cheap: give it as many samples as the rest
        cold["git_log_all"] += [run_process(git_all, project) for _ in range(repeat - cold_repeat)]
    measures = {name: (statistics.median(v), v) for name, v in {**cold, **warm}.items()}
    for name, (median, samples) in measures.items():
        result[name] = round(median, 4)
        result[f"{name}_samples"] = [round(s, 4) for s in samples]
    result["cold_ratio_vs_git_log"] = round(result["list_cold"] / result["git_log_all"], 2)
    result["cold_no_git_ratio"] = round(result["list_cold_no_git"] / result["git_log_all"], 2)
    result["warm_ratio_vs_git_log_50"] = round(result["list_warm"] / result["git_log_50"], 2)
    result["warm_target_met"] = result["list_warm"] < TARGET_WARM_SECONDS
    result["cold_target_met"] = result["cold_ratio_vs_git_log"] <= TARGET_COLD_RATIO
    if keep is None:
        shutil.rmtree(base, ignore_errors=True)
    return result


def measure(sizes: tuple[int, ...] = (1000, 10_000, 100_000), repeat: int = 5) -> list[Row]:
    """The suite's P3 (first index, cold) and P4 (warm ``list``) rows, one pair per size."""
    rows = []
    for size in sizes:
        r = bench_size(size, repeat, None)
        label = size_label(size)
        rows.append(
            Row(
                "P3",
                f"first index (cold list --limit 50), {label} runs",
                value=r["list_cold"],
                unit="s",
                anchor="git log --first-parent --format=%H%x00%B",
                anchor_value=r["git_log_all"],
                ratio=r["cold_ratio_vs_git_log"],
                target=f"≤ {TARGET_COLD_RATIO:g}x git log",
                met=r["cold_target_met"],
                notes=f"without git on PATH {r['list_cold_no_git']:.2f} s "
                f"({r['cold_no_git_ratio']:.1f}x); python -c pass {r['python_floor']:.3f} s",
                samples={
                    k: r[f"{k}_samples"] for k in ("list_cold", "list_cold_no_git", "git_log_all")
                },
            )
        )
        rows.append(
            Row(
                "P4",
                f"warm list --limit 50 (config file present), {label} runs",
                value=r["list_warm"],
                unit="s",
                anchor="git log -50",
                anchor_value=r["git_log_50"],
                ratio=r["warm_ratio_vs_git_log_50"],
                target=f"< {TARGET_WARM_SECONDS} s",
                met=r["warm_target_met"],
                notes=f"show <id> {r['show_full_id']:.3f} s, show <prefix> "
                f"{r['show_prefix']:.3f} s, import pytest_agentv {r['import_package']:.3f} s",
                samples={k: r[f"{k}_samples"] for k in ("list_warm", "git_log_50")},
            )
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="1000,10000,100000", help="comma-separated branch sizes (runs)"
    )
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement (median)")
    parser.add_argument("--keep", type=Path, help="build the branches here and keep them")
    args = parser.parse_args()
    results = []
    load_before = [round(x, 2) for x in os.getloadavg()]
    header = (
        f"{'runs':>7} {'build':>7} {'git log':>8} {'cold':>7} {'ratio':>6} {'no git':>7} "
        f"{'log -50':>8} {'warm':>6} {'lazy':>6} {'show':>6} {'prefix':>6} "
        f"{'floor':>6} {'import':>6}"
    )
    print(header)
    for size in (int(s) for s in args.sizes.split(",")):
        r = bench_size(size, args.repeat, args.keep)
        results.append(r)
        print(
            f"{size:>7} {r['build_seconds']:>6.1f}s {r['git_log_all']:>7.3f}s "
            f"{r['list_cold']:>6.2f}s {r['cold_ratio_vs_git_log']:>5.1f}x "
            f"{r['list_cold_no_git']:>6.2f}s "
            f"{r['git_log_50']:>7.3f}s {r['list_warm']:>5.3f}s {r['list_warm_lazy_init']:>5.3f}s "
            f"{r['show_full_id']:>5.3f}s {r['show_prefix']:>5.3f}s "
            f"{r['python_floor']:>5.3f}s {r['import_package']:>5.3f}s",
            flush=True,
        )
    out_dir = REPO / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    record = {
        "when": stamp,
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "git": subprocess.run(
            ["git", "--version"], capture_output=True, text=True, check=True
        ).stdout.strip(),
        "load_before": load_before,
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "results": results,
    }
    (out_dir / f"cli-{stamp}.json").write_text(json.dumps(record, indent=2) + "\n")
    print(
        f"\nload average {load_before[0]} -> {record['load_after'][0]}; "
        f"warm target < {TARGET_WARM_SECONDS}s, cold target <= {TARGET_COLD_RATIO}x git log; "
        f"details in bench/results/cli-{stamp}.json"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

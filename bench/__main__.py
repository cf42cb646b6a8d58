"""The benchmark suite: every figure of docs/performance.md, each beside its anchor.

    python -m bench                 # the full suite (about an hour on 2 cores; 1M-run scale row)
    python -m bench --quick         # small sizes, a few minutes: a smoke run of every row
    python -m bench --rows P1,P8    # only some rows (P1..P8, scale, growth, dashboard)
    python -m bench --quick --rows P2 --sizes 1000,100000

Each row is measured side by side with its anchor in the same run (alternating, medians of
repeats), printed as it finishes, then all together as a table; the whole record (rows, raw
samples, the machine, its load before and after) goes to ``bench/results/suite-<time>.json``.
Never part of the test suite. On a shared machine read the ratios, not the absolute times.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import REPO, Row, machine

ROW_NAMES = ("P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "scale", "growth", "dashboard")

# (quick, full) parameters of every row
PLAN: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "P1": (
        {"runs": 200, "plumbing_runs": 50, "repeat": 3},
        {"runs": 1000, "plumbing_runs": 300, "repeat": 3},
    ),
    "P2": ({"sizes": (1000, 10_000), "repeat": 5}, {"sizes": (1000, 10_000, 100_000), "repeat": 9}),
    "P3": ({"sizes": (1000, 10_000), "repeat": 3}, {"sizes": (1000, 10_000, 100_000), "repeat": 5}),
    "P5": (
        {"plain_tests": 500, "eval_tests": 500, "message_tests": 200, "repeat": 2},
        {"plain_tests": 2000, "eval_tests": 2000, "message_tests": 1000, "repeat": 3},
    ),
    "P6": ({"mb": 3.0, "repeat": 3}, {"mb": 12.0, "repeat": 3}),
    "P7": (
        {"mb": 20, "small_messages": 20_000, "repeat": 2},
        {"mb": 100, "small_messages": 100_000, "repeat": 3},
    ),
    "P8": ({"writers": 16, "runs": 5, "repeat": 1}, {"writers": 32, "runs": 10, "repeat": 3}),
    "scale": (
        {"base": 1000, "big": 10_000, "repeat": 3},
        {"base": 100_000, "big": 1_000_000, "repeat": 5},
    ),
    "growth": ({"runs": 100}, {"runs": 1000}),
}


def _runner(name: str) -> Callable[..., list[Row]]:
    """The function measuring a row (imported lazily: each module pulls in its own tools)."""
    if name == "P1":
        from bench.bench_write import measure
    elif name == "P2":
        from bench.bench_git_write import measure
    elif name in ("P3", "P4"):
        from bench.bench_cli import measure
    elif name == "P5":
        from bench.bench_plugin import measure
    elif name == "P6":
        from bench.adapters import redact_rows as measure
    elif name == "P7":
        from bench.bench_memory import measure
    elif name == "P8":
        from bench.bench_contention import measure
    elif name == "scale":
        from bench.bench_scale import measure
    elif name == "growth":
        from bench.bench_growth import measure
    else:
        raise KeyError(name)
    return measure


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    text = f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return f"{text} {unit}".strip()


def render(rows: list[Row]) -> str:
    """The table as Markdown (what docs/performance.md shows)."""
    lines = [
        "| row | figure | measured | anchor | anchor value | ratio | target | met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        met = {True: "yes", False: "**no**", None: "—"}[r.met]
        lines.append(
            f"| {r.row} | {r.figure} | {_fmt(r.value, r.unit)} | {r.anchor} | "
            f"{_fmt(r.anchor_value)} | {_fmt(r.ratio)}{'x' if r.ratio is not None else ''} | "
            f"{r.target} | {met} |"
        )
        if r.notes:
            lines.append(f"|  | ↳ {r.notes} | | | | | | |")
    return "\n".join(lines)


def _rows_arg(value: str) -> list[str]:
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in ROW_NAMES]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown row(s) {', '.join(unknown)}; choose from {', '.join(ROW_NAMES)}"
        )
    return names


def _sizes_arg(value: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(v) for v in value.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: give sizes like 1000,10000") from None
    if len(sizes) < 2 or any(s <= 0 for s in sizes):
        raise argparse.ArgumentTypeError(f"{value!r}: give at least two positive sizes")
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a few minutes")
    parser.add_argument("--rows", type=_rows_arg, default=list(ROW_NAMES), help="comma-separated")
    parser.add_argument("--repeat", type=int, help="override every row's number of repeats")
    parser.add_argument(
        "--sizes",
        type=_sizes_arg,
        help="branch sizes for P2 and P3/P4 (scale: the first and the last), e.g. 1000,100000",
    )
    parser.add_argument(
        "--out", type=Path, help="JSON file (default bench/results/suite-<time>.json)"
    )
    args = parser.parse_args(argv)

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    before = machine()
    print(
        f"pytest-agentv bench ({'quick' if args.quick else 'full'}), {before['cpus']} CPUs, "
        f"load {before['loadavg']}, {before['git']}, Python {before['python']}",
        flush=True,
    )
    rows: list[Row] = []
    params_used: dict[str, Any] = {}
    done: set[str] = set()
    for name in args.rows:
        key = "P3" if name == "P4" else name
        if key in done:
            continue
        done.add(key)
        started = time.perf_counter()
        if key == "dashboard":
            from bench.adapters import dashboard_rows

            found = dashboard_rows(quick=args.quick)
        else:
            params = dict(PLAN[key][0 if args.quick else 1])
            if args.repeat is not None and "repeat" in params:
                params["repeat"] = args.repeat
            if args.sizes is not None and "sizes" in params:
                params["sizes"] = args.sizes
            if args.sizes is not None and key == "scale":
                params["base"], params["big"] = args.sizes[0], args.sizes[-1]
            params_used[key] = params
            found = _runner(key)(**params)
        for row in found:
            print(
                f"{row.row:>6}  {row.figure}: {_fmt(row.value, row.unit)}; {row.anchor} "
                f"{_fmt(row.anchor_value)}; ratio {_fmt(row.ratio)}; target {row.target or '—'}"
                f"; met {row.met}" + (f"\n        {row.notes}" if row.notes else ""),
                flush=True,
            )
        print(f"        ({time.perf_counter() - started:.0f} s)", flush=True)
        rows.extend(found)
    after = machine()
    print("\n" + render(rows))
    print(f"\nload average before {before['loadavg']}, after {after['loadavg']}")
    out = args.out or REPO / "bench" / "results" / f"suite-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "when": stamp,
        "mode": "quick" if args.quick else "full",
        "machine": before,
        "loadavg_after": after["loadavg"],
        "params": {
            k: {p: list(v) if isinstance(v, tuple) else v for p, v in ps.items()}
            for k, ps in params_used.items()
        },
        "rows": [row.as_dict() for row in rows],
    }
    out.write_text(json.dumps(record, indent=1, default=str) + "\n")
    print(f"written {os.path.relpath(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The suite's rows for benchmarks whose modules keep their own shape (P6 and the dashboard).

``bench_redact.py`` and ``bench_dashboard.py`` belong with the redactor and the dashboard. The
suite calls their ``measure(...)`` when they offer one (returning :class:`~bench.common.Row` or
row dicts); otherwise it times the redactor with ``bench_redact``'s own generator and corpus
scorer, interleaved with its json round-trip baseline, and runs the dashboard benchmark's own
command line and reads the JSON it writes.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from typing import Any

from bench.common import REPO, Row, interleaved, median


def _as_rows(found: Any) -> list[Row]:
    return [item if isinstance(item, Row) else Row(**item) for item in found]


def redact_rows(mb: float = 12.0, repeat: int = 3) -> list[Row]:
    """P6: throughput of ``Redactor.json`` on parsed events and ``Redactor.text`` on lines."""
    bench_redact = importlib.import_module("bench.bench_redact")
    if hasattr(bench_redact, "measure"):
        return _as_rows(bench_redact.measure(mb=mb, repeat=repeat))
    lines = bench_redact.make_jsonl(int(mb * 1_000_000), 0)
    events = [json.loads(line) for line in lines]
    size = sum(len(line) + 1 for line in lines) / 1_000_000
    redactor = bench_redact.Redactor()
    samples = interleaved(
        {
            "round-trip": lambda: [json.dumps(json.loads(line)) for line in lines] and None,
            "text": lambda: [redactor.text(line) for line in lines] and None,
            "json": lambda: [redactor.json(event, "transcript") for event in events] and None,
        },
        repeat,
    )
    m = {k: median(v) for k, v in samples.items()}
    corpus = ""
    if bench_redact.DEFAULT_CORPUS.exists():
        score = bench_redact.score_corpus(redactor, bench_redact.DEFAULT_CORPUS)
        corpus = (
            f"corpus recall core {score['recall_core']:.1%}, overall {score['recall_all']:.1%}, "
            f"false positives {score['fp_rate']:.2%}"
        )
    rows = []
    for key, what in (
        ("json", "Redactor.json on parsed events"),
        ("text", "Redactor.text on lines"),
    ):
        rate = size / m[key]
        rows.append(
            Row(
                "P6",
                f"redaction, {what} ({size:.0f} MB JSONL)",
                value=rate,
                unit="MB/s",
                anchor="json loads+dumps round trip",
                anchor_value=size / m["round-trip"],
                ratio=m[key] / m["round-trip"],
                target="≥ 25 MB/s, recall and false positives unchanged",
                met=rate >= 25,
                notes=("ratio = time / round-trip time; " + corpus).strip("; "),
                samples={key: samples[key], "round-trip": samples["round-trip"]},
            )
        )
    return rows


def dashboard_rows(quick: bool) -> list[Row]:
    """The dashboard's rows: its ``measure(quick=...)`` if it has one, else its own command
    line (``bench_dashboard.py --runs N``, which writes ``bench/results/dashboard-*.json``)."""
    try:
        bench_dashboard = importlib.import_module("bench.bench_dashboard")
    except ImportError:
        return [
            Row(
                "dashboard",
                "static dashboard build",
                value=None,
                unit="",
                notes="not measured: bench/bench_dashboard.py is not on this branch",
            )
        ]
    if hasattr(bench_dashboard, "measure"):
        return _as_rows(bench_dashboard.measure(quick=quick))
    runs = 300 if quick else 10_000
    results = REPO / "bench" / "results"
    before = set(results.glob("dashboard-*.json"))
    subprocess.run(
        [sys.executable, str(REPO / "bench" / "bench_dashboard.py"), "--runs", str(runs)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    (written,) = set(results.glob("dashboard-*.json")) - before
    r = json.loads(written.read_text())["result"]
    anchor = "index + read every run's files (same RunSource)"
    return [
        Row(
            "dashboard",
            f"cold build_site, {runs} runs",
            value=r["cold_seconds"],
            unit="s",
            anchor=anchor,
            anchor_value=r["baseline_read_all_seconds"],
            ratio=r["cold_ratio"],
            target="— (the reads it must do)",
            notes=f"{r['cold_files']} files, {r['site_bytes'] / 2**20:.1f} MiB",
        ),
        Row(
            "dashboard",
            f"rebuild after one more run, {runs} runs",
            value=r["one_more_seconds"],
            unit="s",
            anchor=anchor,
            anchor_value=r["baseline_read_all_seconds"],
            ratio=r["one_more_ratio"],
            target="— (reads only the new run)",
            notes=f"wrote {len(r['one_more_written'])} files",
        ),
    ]

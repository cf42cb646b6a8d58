"""Small helpers shared by the plugin tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def only_run_dir(root: Path) -> Path:
    """The one run directory under a local store, failing loudly if there is not exactly one."""
    runs = sorted(p.parent for p in root.glob("??/*/summary.json"))
    assert len(runs) == 1, f"expected one run under {root}, found {runs}"
    return runs[0]


def load_run(run_dir: Path) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """metadata, transcript events and summary of a stored run."""
    metadata = json.loads((run_dir / "metadata.json").read_text("utf-8"))
    lines = (run_dir / "transcript.jsonl").read_text("utf-8").splitlines()
    summary = json.loads((run_dir / "summary.json").read_text("utf-8"))
    return metadata, [json.loads(line) for line in lines], summary


def records_by_name(metadata: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The per-test entries of a run's metadata, by the test function's name."""
    return {t["nodeid"].split("::")[-1]: t for t in metadata["tests"]}

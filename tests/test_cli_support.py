"""Helpers for the ``agentv-results`` tests: realistic runs; the console script run like a user.

No tests here; the CLI test modules import these.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pytest_agentv.models import Score, TestRecord, Usage, Versions
from pytest_agentv.payload import Provenance, RawEvent, RunInputs, build_run
from pytest_agentv.redact import Redactor
from pytest_agentv.serial import iso
from pytest_agentv.store.base import RunArtifacts
from pytest_agentv.store.local import LocalArtifactStore

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
VERSIONS = Versions(agentv="0.1.0", pytest="8.0.0", python="3.11.7", platform="linux")
EVAL = "tests/evals/test_qa.py"


def record(
    name: str, outcome: str = "passed", duration: float = 0.5, **scores: float | tuple[float, float]
) -> TestRecord:
    """A test record; a score given as ``(value, threshold)`` gets a threshold verdict."""
    made = {}
    for metric, given in scores.items():
        if isinstance(given, tuple):
            value, threshold = given
            made[metric] = Score(value=value, threshold=threshold, passed=value >= threshold)
        else:
            made[metric] = Score(value=given)
    return TestRecord(
        nodeid=f"{EVAL}::{name}",
        outcome=outcome,  # type: ignore[arg-type]
        duration=duration,
        scores=made,
        failure="AssertionError: answer was wrong\nassert 'no' == 'yes'"
        if outcome in ("failed", "error")
        else None,
        reason="not today" if outcome == "skipped" else None,
        usage=Usage(input_tokens=100, output_tokens=20, cost_usd=0.001),
    )


BASE_TESTS = (
    record("test_refund", accuracy=(0.9, 0.7), tone=0.8),
    record("test_greeting", accuracy=(0.8, 0.7)),
    record("test_escalation", "failed", accuracy=(0.4, 0.7)),
    record("test_later", "skipped"),
)


def make_run(
    run_id: str,
    *,
    minutes: int = 0,
    model: str = "gpt-4o",
    eval_file: str = EVAL,
    tests: Sequence[TestRecord] = BASE_TESTS,
    source_commit: str = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d",
) -> RunArtifacts:
    """A run built by the real payload builder, started ``minutes`` after 2024-05-01 12:00 UTC."""
    started = T0 + timedelta(minutes=minutes)
    transcript = [
        RawEvent(test=t.nodeid, role=role, content=text, timestamp=iso(started))
        for t in tests
        for role, text in (
            ("user", f"question for {t.nodeid.split('::')[-1]}"),
            ("assistant", "first line\nsecond line"),
        )
    ]
    return build_run(
        RunInputs(
            run_id=run_id,
            started_at=started,
            finished_at=started + timedelta(seconds=12.5),
            tests=list(tests),
            transcript=transcript,
            versions=VERSIONS,
            provenance=Provenance(
                repo="acme/agent", commit=source_commit, branch="main", dirty=False
            ),
            model=model,
            eval_file=eval_file,
            tags=["nightly"],
        ),
        Redactor(),
    )


def write_local(root: Path, runs: Iterable[RunArtifacts]) -> Path:
    """Write runs into the default local store under project ``root``; return the store dir."""
    store = LocalArtifactStore(root / ".agentv" / "runs")
    for run in runs:
        store.write(run)
    return store.directory


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment without AGENTV_* settings or user git configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTV_")}
    env.update(
        {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_TERMINAL_PROMPT": "0"}
    )
    env.update(extra or {})
    return env


def agentv(
    cwd: Path, *args: str, env: Mapping[str, str] | None = None, binary: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run the installed console script like a user would."""
    return subprocess.run(
        ["agentv-results", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=clean_env(env),
        timeout=120,
        check=False,
    )


def agentv_bytes(
    cwd: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Like :func:`agentv` but stdout as bytes (for byte-for-byte checks)."""
    return subprocess.run(
        ["agentv-results", *args],
        cwd=cwd,
        capture_output=True,
        env=clean_env(env),
        timeout=120,
        check=False,
    )

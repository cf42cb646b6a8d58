"""Runs for tests, built by the real payload builder: the one ``make_run`` and its presets.

``make_run`` makes a small but complete run (two tests, one message); ``cli_run`` a realistic
one for the CLI tests (four tests with thresholds, two messages each, a start time you choose);
``local_run`` a minimal one. All three build through :func:`build`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from pytest_agentv.models import Score, TestRecord, Usage, Versions
from pytest_agentv.payload import Provenance, RawEvent, RunInputs, build_run
from pytest_agentv.redact import Redactor
from pytest_agentv.run_ids import new_run_id
from pytest_agentv.serial import iso
from pytest_agentv.store.base import RunArtifacts

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
VERSIONS = Versions(agentv="0.1.0", pytest="8.0.0", python="3.11.7", platform="linux")
LOCAL_VERSIONS = Versions(agentv="0", pytest="0", python="3", platform="linux")
EVAL = "tests/evals/test_qa.py"
NO_PROVENANCE = Provenance()


def build(
    run_id: str | None,
    *,
    started: datetime,
    seconds: float,
    tests: Sequence[TestRecord],
    transcript: Sequence[RawEvent] = (),
    versions: Versions,
    provenance: Provenance = NO_PROVENANCE,
    model: str | None = None,
    eval_file: str | None = None,
    tags: Sequence[str] = (),
) -> RunArtifacts:
    """The one builder behind every preset."""
    return build_run(
        RunInputs(
            run_id=run_id or new_run_id(),
            started_at=started,
            finished_at=started + timedelta(seconds=seconds),
            tests=list(tests),
            transcript=list(transcript),
            versions=versions,
            provenance=provenance,
            model=model,
            eval_file=eval_file,
            tags=list(tags),
        ),
        Redactor(),
    )


def make_run(
    run_id: str | None = None,
    *,
    model: str | None = "gpt-test",
    eval_file: str | None = "evals/test_qa.py",
    source_commit: str | None = None,
    scores: dict[str, float] | None = None,
) -> RunArtifacts:
    """A small but complete run (three files): one passed test with scores, one failed."""
    test_scores = {
        name: Score(value=value)
        for name, value in ({"accuracy": 0.75} if scores is None else scores).items()
    }
    return build(
        run_id,
        started=datetime(2025, 5, 1, 12, 0, tzinfo=UTC),
        seconds=3,
        tests=[
            TestRecord(
                nodeid="evals/test_qa.py::test_a",
                outcome="passed",
                duration=1.0,
                scores=test_scores,
            ),
            TestRecord(nodeid="evals/test_qa.py::test_b", outcome="failed", duration=2.0),
        ],
        transcript=[
            RawEvent(
                test="evals/test_qa.py::test_a",
                role="user",
                content="hi",
                timestamp="2025-05-01T12:00:01Z",
            )
        ],
        versions=Versions(agentv="0.1.0", pytest="8", python="3.11", platform="linux"),
        provenance=Provenance(repo="org/project", commit=source_commit or "a" * 40, branch="main"),
        model=model,
        eval_file=eval_file,
    )


def local_run(run_id: str | None = None, minutes: int = 0) -> RunArtifacts:
    """A minimal run (one passed test, no messages) started ``minutes`` after 2026-01-01."""
    return build(
        run_id,
        started=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes),
        seconds=3,
        tests=[TestRecord(nodeid="t.py::test_a", outcome="passed", duration=1.0)],
        versions=LOCAL_VERSIONS,
    )


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


def cli_run(
    run_id: str,
    *,
    minutes: int = 0,
    model: str = "gpt-4o",
    eval_file: str = EVAL,
    tests: Sequence[TestRecord] = BASE_TESTS,
    source_commit: str = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d",
) -> RunArtifacts:
    """A realistic run, started ``minutes`` after 2024-05-01 12:00 UTC."""
    started = T0 + timedelta(minutes=minutes)
    transcript = [
        RawEvent(test=t.nodeid, role=role, content=text, timestamp=iso(started))
        for t in tests
        for role, text in (
            ("user", f"question for {t.nodeid.split('::')[-1]}"),
            ("assistant", "first line\nsecond line"),
        )
    ]
    return build(
        run_id,
        started=started,
        seconds=12.5,
        tests=tests,
        transcript=transcript,
        versions=VERSIONS,
        provenance=Provenance(repo="acme/agent", commit=source_commit, branch="main", dirty=False),
        model=model,
        eval_file=eval_file,
        tags=["nightly"],
    )

"""The run payload: deterministic bytes, checksums, aggregates, redaction of every string."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from pytest_agentv.models import RunMetadata, RunSummary, Score, TestRecord, TranscriptEvent, Usage
from pytest_agentv.payload import (
    Provenance,
    RawEvent,
    RunInputs,
    aggregate_scores,
    build_run,
    count_outcomes,
)
from pytest_agentv.redact import Redactor
from pytest_agentv.serial import sha256
from tests.runs import LOCAL_VERSIONS as VERSIONS

START = datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)


def inputs(**overrides: object) -> RunInputs:
    values: dict[str, object] = {
        "run_id": "0123456789abcdef",
        "started_at": START,
        "finished_at": START + timedelta(seconds=2.5),
        "tests": [
            TestRecord(
                nodeid="e.py::test_a",
                outcome="passed",
                duration=0.5,
                scores={"acc": Score(value=0.9, threshold=0.5, passed=True)},
                usage=Usage(input_tokens=3, output_tokens=4, cost_usd=0.25),
            ),
            TestRecord(
                nodeid="e.py::test_b",
                outcome="failed",
                duration=0.25,
                failure="boom",
                scores={
                    "acc": Score(value=0.2, threshold=0.5, passed=False),
                    "tone": Score(value=1.0),
                },
            ),
        ],
        "transcript": [
            RawEvent(test="e.py::test_a", role="user", content="ünïcode ✓", timestamp="t1"),
            RawEvent(
                test="e.py::test_a",
                role="assistant",
                content={"b": 1, "a": [1, 2]},
                timestamp="t2",
                fields={"tool_call_id": "c1"},
            ),
        ],
        "versions": VERSIONS,
        "provenance": Provenance(repo="org/repo", commit="a" * 40, branch="main", dirty=False),
        "model": "m",
        "eval_file": "e.py",
        "tags": ["x"],
        "metadata": {"k": "v"},
    }
    values.update(overrides)
    return RunInputs(**values)  # type: ignore[arg-type]


def test_same_run_same_bytes() -> None:
    first = build_run(inputs(), Redactor())
    second = build_run(inputs(), Redactor())
    assert first.files == second.files
    assert list(first.files) == ["metadata.json", "transcript.jsonl", "summary.json"]


def test_serialisation_is_sorted_utf8_with_newlines() -> None:
    run = build_run(inputs(), Redactor())
    metadata = run.files["metadata.json"].decode("utf-8")
    assert metadata.endswith("}\n") and "\r" not in metadata
    assert list(json.loads(metadata)) == sorted(json.loads(metadata))
    lines = run.files["transcript.jsonl"].decode("utf-8").split("\n")
    assert lines[-1] == "" and len(lines) == 3
    assert "ünïcode ✓" in lines[0]
    assert lines[1] == (
        '{"content":{"a":[1,2],"b":1},"role":"assistant","seq":1,"test":"e.py::test_a",'
        '"timestamp":"t2","tool_call_id":"c1"}'
    )


def test_summary_checksums_match_the_files() -> None:
    run = build_run(inputs(), Redactor())
    summary = RunSummary.model_validate_json(run.files["summary.json"])
    assert summary.files == {
        "metadata.json": sha256(run.files["metadata.json"]),
        "transcript.jsonl": sha256(run.files["transcript.jsonl"]),
    }
    assert summary == run.summary
    assert summary.counts.total == 2 and summary.counts.failed == 1
    assert summary.source_commit == "a" * 40


def test_files_validate_against_the_models() -> None:
    run = build_run(inputs(), Redactor())
    metadata = RunMetadata.model_validate_json(run.files["metadata.json"])
    assert metadata.timestamp == "2026-03-04T05:06:07.123456Z"
    assert metadata.duration_seconds == 2.5
    assert metadata.usage == Usage(input_tokens=3, output_tokens=4, cost_usd=0.25)
    for line in run.files["transcript.jsonl"].splitlines():
        TranscriptEvent.model_validate_json(line)


def test_aggregates_and_counts() -> None:
    tests = inputs().tests
    assert aggregate_scores(tests)["acc"].model_dump() == {
        "count": 2,
        "mean": 0.55,
        "min": 0.2,
        "max": 0.9,
        "passed": 1,
        "failed": 1,
    }
    assert aggregate_scores(tests)["tone"].passed == 0
    assert count_outcomes(tests).model_dump() == {
        "total": 2,
        "passed": 1,
        "failed": 1,
        "skipped": 0,
        "errors": 0,
        "xfailed": 0,
        "xpassed": 0,
    }


def test_every_string_passes_through_the_redactor() -> None:
    """The seam: a rule that masks one marker must find it wherever it was planted."""
    marker = "PLANTED-MARKER-42"
    seen: list[str] = []

    def spy(text: str, context: str) -> str:
        seen.append(context)
        return text.replace(marker, "[REDACTED:spy]")

    planted = inputs(
        tests=[
            TestRecord(
                nodeid=f"e.py::test_{marker}",
                outcome="failed",
                duration=0.1,
                failure=f"AssertionError: {marker}",
                scores={"acc": Score(value=1, reason=f"because {marker}")},
                metadata={"nested": [{"deep": marker}]},
            )
        ],
        transcript=[
            RawEvent(
                test="e.py::test_a",
                role="tool",
                content={"out": [marker]},
                timestamp="t",
                fields={"extra": marker},
            )
        ],
        provenance=Provenance(repo=marker, branch=marker),
        model=marker,
        eval_file=marker,
        tags=[marker],
        metadata={"k": marker},
        args=[marker],
    )
    run = build_run(planted, Redactor(extra=spy))
    for name, data in run.files.items():
        assert marker.encode() not in data, name
    assert b"[REDACTED:spy]" in run.files["transcript.jsonl"]
    assert {"metadata", "transcript"} <= {c.split(".")[0] for c in seen}

"""Constructed runs for the gate, statistics and trend tests (known answers, no randomness)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

from pytest_agentv.models import Outcome, RunMetadata, Score, TestRecord, Versions
from pytest_agentv.payload import RunInputs, aggregate_scores, build_run, count_outcomes
from pytest_agentv.redact import Redactor
from pytest_agentv.store.base import RunArtifacts

VERSIONS = Versions(agentv="0", pytest="8", python="3.11", platform="linux")


def scored(nodeid: str, outcome: Outcome = "passed", **scores: float) -> TestRecord:
    """One test record with the given score values."""
    return TestRecord(
        nodeid=nodeid,
        outcome=outcome,
        duration=0.1,
        scores={name: Score(value=value) for name, value in scores.items()},
    )


def run_of(
    run_id: str, tests: Iterable[TestRecord], *, minute: int = 0, model: str | None = "m1"
) -> RunMetadata:
    """A run's metadata as the payload builder would aggregate it."""
    records = list(tests)
    stamp = f"2024-05-01T12:{minute:02d}:00.000000Z"
    return RunMetadata(
        run_id=run_id,
        timestamp=stamp,
        started_at=stamp,
        finished_at=stamp,
        duration_seconds=1.0,
        model=model,
        versions=VERSIONS,
        counts=count_outcomes(records),
        scores=aggregate_scores(records),
        tests=records,
    )


def noise(i: int) -> float:
    """A fixed pseudo-noise in [-0.05, 0.05] (the same in every process)."""
    return ((i * 37) % 11 - 5) / 100


def base_values(count: int) -> list[float]:
    """Per-test baseline scores spread over [0.5, 0.9]."""
    return [0.5 + ((i * 7) % 9) / 20 for i in range(count)]


def scored_run(run_id: str, values: Mapping[str, float], metric: str = "accuracy") -> RunMetadata:
    """A run whose test ``nodeid`` scored ``values[nodeid]`` on ``metric``."""
    return run_of(run_id, [scored(n, **{metric: v}) for n, v in sorted(values.items())])


def nodeids(count: int, modules: int = 4) -> list[str]:
    """``count`` parametrized tests spread round-robin over ``modules`` files."""
    return [f"evals/test_m{i % modules}.py::test_case[c{i}]" for i in range(count)]


def stored_run(
    run_id: str,
    tests: Iterable[TestRecord],
    *,
    minute: int = 0,
    model: str = "m1",
    run_group: str | None = None,
) -> RunArtifacts:
    """A run's three files, built by the real payload builder."""
    started = datetime(2024, 5, 1, 12, tzinfo=UTC) + timedelta(minutes=minute)
    return build_run(
        RunInputs(
            run_id=run_id,
            started_at=started,
            finished_at=started + timedelta(seconds=5),
            tests=list(tests),
            transcript=[],
            versions=VERSIONS,
            model=model,
            eval_file="evals",
            run_group=run_group,
        ),
        Redactor(),
    )

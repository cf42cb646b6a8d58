"""Trends and flaky tests over constructed histories."""

from __future__ import annotations

import pytest
import scipy.stats

from pytest_agentv.models import Outcome
from pytest_agentv.stats import wilson_interval
from pytest_agentv.trends import (
    RunPoints,
    TestPoint,
    flakiness,
    merge_groups,
    metric_trends,
    run_points,
)
from tests.gate_runs import run_of, scored


def history(per_run: list[dict[str, tuple[Outcome, float]]]) -> list[RunPoints]:
    return [
        run_points(
            run_of(f"{i:016x}", [scored(n, o, accuracy=v) for n, (o, v) in tests.items()], minute=i)
        )
        for i, tests in enumerate(per_run)
    ]


def test_run_points_average_repeats_and_tally_outcomes() -> None:
    run = run_of(
        "a" * 16,
        [
            scored("m.py::t[repeat1of3]", accuracy=0.9),
            scored("m.py::t[repeat2of3]", "failed", accuracy=0.3),
            scored("m.py::t[repeat3of3]", accuracy=0.6),
            scored("m.py::s", "skipped"),
        ],
    )
    points = run_points(run)
    assert points.tests["m.py::t"] == TestPoint({"accuracy": pytest.approx(0.6)}, 2, 3)
    assert points.tests["m.py::s"].symbol is None
    assert points.tests["m.py::t"].symbol == "M"
    assert RunPoints.from_json(points.to_json()) == points


def test_a_steady_decline_is_degrading_and_noise_is_not() -> None:
    values = [0.9, 0.88, 0.85, 0.84, 0.8, 0.79, 0.75, 0.74]
    flat = [0.8, 0.82, 0.79, 0.81, 0.8, 0.78, 0.82, 0.8]
    runs = history(
        [
            {"a.py::falls": ("passed", v), "a.py::flat": ("passed", f)}
            for v, f in zip(values, flat, strict=True)
        ]
    )
    trends = {t.nodeid: t for t in metric_trends(runs, "accuracy")}
    falls = trends["a.py::falls"]
    fit = scipy.stats.linregress(range(len(values)), values)
    assert falls.slope is not None and falls.slope.slope == pytest.approx(fit.slope)
    assert falls.degrading
    assert not trends["a.py::flat"].degrading
    overall = trends[None]
    assert [v for _, _, v in overall.points] == pytest.approx(
        [(v + f) / 2 for v, f in zip(values, flat, strict=True)]
    )
    assert [t.to_json()["degrading"] for t in metric_trends(runs, nodeid="a.py::flat")] == [False]


def test_a_test_missing_from_some_runs_keeps_its_positions() -> None:
    runs = history(
        [{"a.py::t": ("passed", 0.9)}, {"a.py::u": ("passed", 0.5)}, {"a.py::t": ("passed", 0.7)}]
    )
    trend = next(t for t in metric_trends(runs) if t.nodeid == "a.py::t")
    assert [x for x, _, _ in trend.points] == [0, 2]
    assert trend.slope is not None and trend.slope.slope == pytest.approx(-0.1)


def test_flippers_come_first_with_wilson_intervals() -> None:
    pattern: list[list[Outcome]] = [
        ["passed", "passed", "passed", "passed", "passed", "passed"],  # steady
        ["passed", "failed", "passed", "failed", "passed", "failed"],  # flips every run
        ["passed", "passed", "passed", "failed", "failed", "failed"],  # broke once
        ["failed"] * 6,  # always fails: not flaky, just failing
    ]
    names = ["a.py::steady", "a.py::flips", "a.py::broke", "a.py::broken"]
    runs = history(
        [{n: (p[i], 1.0) for n, p in zip(names, pattern, strict=True)} for i in range(6)]
    )
    report = flakiness(runs)
    assert [f.nodeid for f in report] == [
        "a.py::flips",
        "a.py::broke",
        "a.py::broken",
        "a.py::steady",
    ]
    flips = report[0]
    assert (flips.flips, flips.flip_rate, flips.history) == (5, 1.0, "PFPFPF")
    assert (flips.low, flips.high) == wilson_interval(3, 6)
    assert report[1].flip_rate == pytest.approx(1 / 5)
    assert [f.flaky for f in report] == [True, True, False, False]


def test_mixed_repeats_within_one_run_are_flaky() -> None:
    runs = [RunPoints("a" * 16, "t0", {"a.py::t": TestPoint({}, 1, 2)})]
    (only,) = flakiness(runs)
    assert (only.flaky, only.flip_rate, only.pass_rate) == (True, None, 0.5)


def test_the_parts_of_a_run_group_are_one_point_of_history() -> None:
    def part(run_id: str, group: str | None, tests: dict[str, TestPoint]) -> RunPoints:
        return RunPoints(run_id, run_id, tests, run_group=group)

    history = [
        part("a" * 16, None, {"t": TestPoint({"m": 0.9}, 1, 1)}),
        part("b" * 16, "ci-7", {"t": TestPoint({"m": 0.6}, 1, 1), "u": TestPoint({}, 0, 1)}),
        part("c" * 16, "ci-7", {"t": TestPoint({"m": 0.3}, 0, 2)}),
        part("d" * 16, None, {"t": TestPoint({"m": 0.5}, 1, 1)}),
    ]
    merged = merge_groups(history)
    assert [run.run_id for run in merged] == ["a" * 16, "group:ci-7", "d" * 16]
    group = merged[1].tests
    assert group["t"] == TestPoint({"m": pytest.approx((0.6 + 0.3 * 2) / 3)}, 1, 3)
    assert group["u"] == TestPoint({}, 0, 1)
    (t,) = [f for f in flakiness(merged) if f.nodeid == "t"]
    assert t.history == "PMP"

"""Gate evaluation on constructed runs whose answer is known."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.stats

from pytest_agentv.gate_render import render_gate_table
from pytest_agentv.gates import (
    PASS_RATE,
    GateReport,
    GateSpec,
    evaluate_gates,
    pass_rate,
    run_mean,
)
from pytest_agentv.models import RunMetadata, Score, TestRecord
from tests.gate_runs import base_values, nodeids, noise, run_of, scored, scored_run

ROOT = Path(__file__).resolve().parent.parent
N = 40


def pair(shift: float, *, count: int = N, spread: float = 1.0) -> tuple[RunMetadata, RunMetadata]:
    """A baseline and a run whose test i moved by ``shift + spread * noise(i)``."""
    names = nodeids(count)
    base = dict(zip(names, base_values(count), strict=True))
    new = {n: v + shift + spread * noise(i) for i, (n, v) in enumerate(base.items())}
    return scored_run("b" * 16, base), scored_run("a" * 16, new)


def only_row(report: GateReport, metric: str = "accuracy") -> dict[str, object]:
    rows = [r.to_json() for r in report.rows if r.metric == metric]
    assert len(rows) == 1
    return rows[0]


def test_a_clear_regression_fails() -> None:
    base, new = pair(-0.2)
    report = evaluate_gates(new, GateSpec(max_regression={"accuracy": 0.05}), base)
    row = only_row(report)
    assert row["verdict"] == "fail"
    assert row["high"] < -0.05  # type: ignore[operator]
    assert report.verdict == "fail" and report.failed
    assert report.baseline_id == "b" * 16


def test_a_noise_only_difference_with_the_same_mean_does_not_fail() -> None:
    names = nodeids(N)
    base = dict(zip(names, base_values(N), strict=True))
    # every test moved by noise (up to ±0.1), the mean did not
    centre = sum(noise(i) for i in range(N)) / N
    new = {n: v + 2 * (noise(i) - centre) for i, (n, v) in enumerate(base.items())}
    before, after = scored_run("b" * 16, base), scored_run("a" * 16, new)
    strict = only_row(evaluate_gates(after, GateSpec(fail_on_regression=True), before))
    assert strict["difference"] == pytest.approx(0.0, abs=1e-12)
    assert strict["verdict"] == "inconclusive"
    assert "can detect a difference of" in str(strict["note"])
    tolerant = only_row(evaluate_gates(after, GateSpec(max_regression={"accuracy": 0.1}), before))
    assert tolerant["verdict"] == "pass"


def test_an_improvement_passes() -> None:
    base, new = pair(+0.15)
    report = evaluate_gates(new, GateSpec(fail_on_regression=True), base)
    row = only_row(report)
    assert row["verdict"] == "pass"
    assert row["low"] > 0  # type: ignore[operator]
    assert report.verdict == "pass"


def test_few_tests_are_inconclusive_and_say_what_they_could_detect() -> None:
    before = scored_run("b" * 16, {"a.py::t1": 0.9, "b.py::t2": 0.8, "c.py::t3": 0.9})
    after = scored_run("a" * 16, {"a.py::t1": 0.6, "b.py::t2": 0.7, "c.py::t3": 0.4})
    report = evaluate_gates(after, GateSpec(max_regression={"accuracy": 0.0}), before)
    row = only_row(report)
    assert row["difference"] == pytest.approx(-0.3)
    assert row["verdict"] == "inconclusive"
    assert row["detectable"] > 0.3  # type: ignore[operator]
    assert report.verdict == "inconclusive" and not report.failed


def test_one_test_in_common_is_inconclusive() -> None:
    before = scored_run("b" * 16, {"a.py::t1": 0.9})
    after = scored_run("a" * 16, {"a.py::t1": 0.1})
    row = only_row(evaluate_gates(after, GateSpec(fail_on_regression=True), before))
    assert row["verdict"] == "inconclusive"
    assert row["note"] == "1 test in common: too few to estimate a difference"


def test_the_interval_is_the_direct_computation() -> None:
    base, new = pair(-0.03, count=24)
    row = only_row(evaluate_gates(new, GateSpec(max_regression={"accuracy": 0.0}), base))
    d = np.array([t.scores["accuracy"].value for t in new.tests]) - np.array(
        [t.scores["accuracy"].value for t in base.tests]
    )
    modules = np.array([t.nodeid.split("::")[0] for t in new.tests])
    sums = np.array([(d[modules == m] - d.mean()).sum() for m in np.unique(modules)])
    g = len(sums)
    se = math.sqrt(g / (g - 1) * (sums**2).sum()) / len(d)
    margin = scipy.stats.t.ppf(0.975, g - 1) * se
    assert row["difference"] == pytest.approx(d.mean(), rel=1e-12)
    assert row["standardError"] == pytest.approx(se, rel=1e-10)
    assert (row["low"], row["high"]) == pytest.approx((d.mean() - margin, d.mean() + margin))
    assert row["clusters"] == 4
    expected = "fail" if d.mean() + margin < 0 else "inconclusive"
    assert row["verdict"] == expected


def test_clustering_widens_the_interval_when_a_module_moves_together() -> None:
    # two modules each moved as a block (-0.3 and +0.1): per test this looks like a sure
    # regression; per module there are only two, disagreeing, observations
    names = [f"evals/test_{m}.py::test_case[c{i}]" for m in ("a", "b") for i in range(15)]
    base = {n: 0.7 + noise(i) / 10 for i, n in enumerate(names)}
    new = {n: v + (-0.3 if "test_a" in n else 0.1) for n, v in base.items()}
    before, after = scored_run("b" * 16, base), scored_run("a" * 16, new)
    by_module = only_row(evaluate_gates(after, GateSpec(fail_on_regression=True), before))
    by_test = only_row(
        evaluate_gates(after, GateSpec(fail_on_regression=True, cluster_by="test"), before)
    )
    assert by_module["verdict"] == "inconclusive"
    assert by_test["verdict"] == "fail"


def test_repeats_are_averaged_and_tests_paired_by_their_logical_id() -> None:
    before = run_of(
        "b" * 16,
        [
            scored("m.py::t[x-repeat1of2]", accuracy=0.8),
            scored("m.py::t[x-repeat2of2]", accuracy=0.6),
            scored("n.py::u[repeat1of2]", accuracy=0.5),
            scored("n.py::u[repeat2of2]", accuracy=0.5),
        ],
    )
    after = run_of("a" * 16, [scored("m.py::t[x]", accuracy=0.7), scored("n.py::u", accuracy=0.9)])
    assert run_mean(before.tests, "accuracy") == pytest.approx(0.6)
    row = only_row(evaluate_gates(after, GateSpec(fail_on_regression=True), before))
    assert row["tests"] == 2
    assert row["difference"] == pytest.approx(0.2)


def test_pass_rate_regression_compares_paired_outcomes() -> None:
    names = nodeids(30)
    before = run_of("b" * 16, [scored(n) for n in names])
    after = run_of(
        "a" * 16, [scored(n, "failed" if i < 12 else "passed") for i, n in enumerate(names)]
    )
    report = evaluate_gates(after, GateSpec(fail_on_regression=True), before)
    row = only_row(report, PASS_RATE)
    assert (row["thisRun"], row["baseline"]) == (pytest.approx(0.6), 1.0)
    assert row["verdict"] == "fail"
    assert str(row["note"]).startswith("12 newly failing, 0 newly passing")


def test_skipped_tests_count_for_neither_outcome() -> None:
    tests = [
        scored("a.py::t1"),
        scored("a.py::t2", "failed"),
        scored("a.py::t3", "skipped"),
        scored("a.py::t4", "xfailed"),
    ]
    assert pass_rate(tests) == pytest.approx(2 / 3)


@pytest.mark.parametrize(("limit", "verdict"), [(0.7, "pass"), (0.75, "pass"), (0.8, "fail")])
def test_min_score(limit: float, verdict: str) -> None:
    run = scored_run("a" * 16, {"a.py::t1": 0.9, "a.py::t2": 0.6})
    report = evaluate_gates(run, GateSpec(min_scores={"accuracy": limit}))
    assert only_row(report)["verdict"] == verdict
    assert report.verdict == verdict


def test_min_score_of_a_metric_nobody_recorded_fails() -> None:
    run = scored_run("a" * 16, {"a.py::t1": 0.9})
    row = only_row(evaluate_gates(run, GateSpec(min_scores={"toxicity": 0.1})), "toxicity")
    assert (row["verdict"], row["note"]) == ("fail", "no test recorded this metric")


@pytest.mark.parametrize(("limit", "verdict"), [(0.5, "pass"), (0.51, "fail")])
def test_min_pass_rate(limit: float, verdict: str) -> None:
    run = run_of("a" * 16, [scored("a.py::t1"), scored("a.py::t2", "error")])
    report = evaluate_gates(run, GateSpec(min_pass_rate=limit))
    assert only_row(report, PASS_RATE)["verdict"] == verdict


def test_a_missing_baseline_fails_and_says_why() -> None:
    run = scored_run("a" * 16, {"a.py::t1": 0.9})
    report = evaluate_gates(
        run, GateSpec(fail_on_regression=True), baseline_error="no run matches 'latest:branch=main'"
    )
    assert report.verdict == "fail"
    assert render_gate_table(report)[-2:] == [
        "gate error: no run matches 'latest:branch=main'",
        "gate verdict: FAIL",
    ]


def test_a_metric_missing_from_the_baseline_fails() -> None:
    before = scored_run("b" * 16, {"a.py::t1": 0.9}, metric="tone")
    after = scored_run("a" * 16, {"a.py::t1": 0.9})
    row = only_row(evaluate_gates(after, GateSpec(max_regression={"accuracy": 0.1}), before))
    assert (row["verdict"], row["note"]) == ("fail", "no test has it in both runs")


def test_the_table_shows_every_gate_and_one_verdict() -> None:
    base, new = pair(-0.2)
    spec = GateSpec(min_scores={"accuracy": 0.3}, max_regression={"accuracy": 0.05})
    lines = render_gate_table(evaluate_gates(new, spec, base))
    assert lines[0].split() == [
        "GATE",
        "METRIC",
        "THIS",
        "RUN",
        "BASELINE",
        "DIFFERENCE",
        "LIMIT",
        "VERDICT",
    ]
    assert lines[1].split()[:2] == ["min-score", "accuracy"] and lines[1].endswith("PASS")
    assert lines[2].split()[:2] == ["max-regression", "accuracy"]
    assert "drop <= 0.05" in lines[2] and " ± " in lines[2] and lines[2].endswith("FAIL")
    assert lines[-1] == f"gate verdict against baseline {'b' * 16}: FAIL"


_IN_A_CHILD = """
import json, sys
from tests.gate_runs import run_of, scored
from pytest_agentv.gates import GateSpec, evaluate_gates
from pytest_agentv.models import RunMetadata, Score, TestRecord
before, after = (RunMetadata.model_validate(r) for r in json.load(sys.stdin))
spec = GateSpec(fail_on_regression=True, max_regression={"accuracy": 0.05})
print(json.dumps(evaluate_gates(after, spec, before).to_json(), sort_keys=True))
"""


def test_the_same_runs_give_the_same_verdict_in_any_process() -> None:
    base, new = pair(-0.04)
    spec = GateSpec(fail_on_regression=True, max_regression={"accuracy": 0.05})
    here = json.dumps(evaluate_gates(new, spec, base).to_json(), sort_keys=True)
    # the child gets the tests in reverse order and another hash seed
    shuffled = [
        run.model_copy(update={"tests": run.tests[::-1]}).model_dump(mode="json")
        for run in (base, new)
    ]
    outputs = set()
    for seed in ("1", "2"):
        child = subprocess.run(
            [sys.executable, "-c", _IN_A_CHILD],
            input=json.dumps(shuffled),
            text=True,
            capture_output=True,
            check=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        outputs.add(child.stdout.strip())
    assert outputs == {here}


def lower_is_better_run(run_id: str, values: dict[str, float]) -> RunMetadata:
    return run_of(
        run_id,
        [
            TestRecord(
                nodeid=n,
                outcome="passed",
                duration=0.1,
                scores={"latency": Score(value=v, greater_is_better=False)},
            )
            for n, v in sorted(values.items())
        ],
    )


def test_a_metric_where_lower_is_better_regresses_when_it_rises() -> None:
    names = nodeids(20)
    base = {n: 1.0 + noise(i) for i, n in enumerate(names)}
    slower = lower_is_better_run("a" * 16, {n: v + 0.5 for n, v in base.items()})
    faster = lower_is_better_run("a" * 16, {n: v - 0.5 for n, v in base.items()})
    before = lower_is_better_run("b" * 16, base)
    spec = GateSpec(max_regression={"latency": 0.1})
    assert only_row(evaluate_gates(slower, spec, before), "latency")["verdict"] == "fail"
    assert only_row(evaluate_gates(faster, spec, before), "latency")["verdict"] == "pass"
    lines = render_gate_table(evaluate_gates(slower, spec, before))
    assert "rise <= 0.1" in lines[1]


def test_min_score_of_a_lower_is_better_metric_is_a_ceiling() -> None:
    run = lower_is_better_run("a" * 16, {"a.py::t1": 1.0, "a.py::t2": 2.0})
    assert (
        only_row(evaluate_gates(run, GateSpec(min_scores={"latency": 1.6})), "latency")["verdict"]
        == "pass"
    )
    assert (
        only_row(evaluate_gates(run, GateSpec(min_scores={"latency": 1.4})), "latency")["verdict"]
        == "fail"
    )


def test_the_report_is_what_run_metadata_stores() -> None:
    base, new = pair(-0.2)
    report = evaluate_gates(new, GateSpec(fail_on_regression=True), base)
    stored = new.model_copy(update={"gate": report.to_record()})
    again = RunMetadata.model_validate_json(stored.model_dump_json(by_alias=True))
    assert again.gate is not None and again.gate.verdict == "fail"
    assert again.gate.model_dump(mode="json", by_alias=True) == report.to_json()


def test_the_worked_example_of_docs_gates_md() -> None:
    cases = [  # test, baseline repeats, this run's repeats
        ("evals/test_qa.py::test_q[1]", [0.9], [0.8]),
        ("evals/test_qa.py::test_q[2]", [0.8], [0.6]),
        ("evals/test_rag.py::test_r[1]", [0.9], [0.9]),
        ("evals/test_rag.py::test_r[2]", [0.7], [0.6]),
        ("evals/test_tools.py::test_t[1]", [0.7, 0.9], [0.7, 0.7]),
        ("evals/test_tools.py::test_t[2]", [0.6], [0.5]),
    ]

    def run(run_id: str, which: int) -> RunMetadata:
        records = []
        for nodeid, *values in cases:
            repeats = values[which]
            for k, value in enumerate(repeats):
                name = nodeid if len(repeats) == 1 else nodeid.replace("]", f"-repeat{k + 1}of2]")
                records.append(scored(name, accuracy=value))
        return run_of(run_id, records)

    base, new = run("3f2a" + "0" * 12, 0), run("b" * 16, 1)
    spec = GateSpec(min_scores={"accuracy": 0.6}, max_regression={"accuracy": 0.05})
    lines = render_gate_table(evaluate_gates(new, spec, base))
    assert lines[2].split()[4:7] == ["-0.1", "±", "0.124"]
    assert "INCONCLUSIVE (these tests can detect a difference of 0.155 or more)" in lines[2]
    row = only_row(evaluate_gates(new, GateSpec(fail_on_regression=True, cluster_by="test"), base))
    assert (row["low"], row["high"]) == pytest.approx((-0.166, -0.034), abs=5e-4)
    assert row["verdict"] == "fail"
    docs = (ROOT / "docs" / "gates.md").read_text(encoding="utf-8")
    assert "\n".join(lines) in docs


def test_the_per_test_method_fails_on_any_test_that_regressed() -> None:
    names = nodeids(N)
    base = dict(zip(names, base_values(N), strict=True))
    new = dict(base)
    new[names[7]] -= 0.3  # one test of forty got much worse; the mean barely moved
    before, after = scored_run("b" * 16, base), scored_run("a" * 16, new)
    stats = only_row(evaluate_gates(after, GateSpec(max_regression={"accuracy": 0.05}), before))
    per_test = only_row(
        evaluate_gates(
            after, GateSpec(max_regression={"accuracy": 0.05}, method="per-test"), before
        )
    )
    assert stats["verdict"] != "fail"
    assert per_test["verdict"] == "fail"
    assert per_test["note"] == f"1 test regressed: {names[7]}"
    tolerant = only_row(
        evaluate_gates(after, GateSpec(max_regression={"accuracy": 0.3}, method="per-test"), before)
    )
    assert tolerant["verdict"] == "pass"


def test_the_per_test_method_on_outcomes() -> None:
    names = nodeids(10)
    before = run_of("b" * 16, [scored(n) for n in names])
    after = run_of(
        "a" * 16, [scored(n, "error" if i == 2 else "passed") for i, n in enumerate(names)]
    )
    spec = GateSpec(fail_on_regression=True, method="per-test")
    row = only_row(evaluate_gates(after, spec, before), PASS_RATE)
    assert row["verdict"] == "fail"
    assert f"1 test regressed: {names[2]}" in str(row["note"])

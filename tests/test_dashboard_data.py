"""The dashboard's data functions: stored models in, plain data out (no store, no browser)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pytest_agentv.dashboard.extensions import Cell, ReleaseRow, ReleasesSection, marks_of
from pytest_agentv.dashboard.records import (
    Mark,
    RunRecord,
    link_series,
    record_from_json,
    record_of,
    record_to_json,
)
from pytest_agentv.dashboard.views import (
    PASS_RATE,
    check_link_template,
    chunks,
    compare_runs,
    facets,
    histories_of,
    metric_trends,
    newest,
    run_detail,
    source_link,
    transcript_view,
)
from pytest_agentv.diff import diff_runs
from pytest_agentv.gates import pass_rate
from pytest_agentv.models import RunMetadata, TranscriptEvent
from pytest_agentv.stats import wilson_interval
from pytest_agentv.trends import flakiness, run_points
from tests.dashboard_support import build, plan
from tests.gate_runs import run_of, scored
from tests.runs import record


def metadata_of(n: int, count: int = 12) -> RunMetadata:
    run = build(plan(count)[n], n)
    return RunMetadata.model_validate_json(run.files["metadata.json"])


def records(count: int = 12) -> list[RunRecord]:
    return link_series(record_of(metadata_of(n, count), seq=n) for n in range(count))


def rec(seq: int, model: str = "m", **changes: object) -> RunRecord:
    base = RunRecord(
        run_id=f"{seq:016x}",
        seq=seq,
        timestamp=f"2024-05-01T12:{seq:02d}:00Z",
        model=model,
        eval_file="e.py",
        source_branch="main",
        source_commit=None,
        source_repo=None,
        tags=(),
        total=4,
        passed=3,
        failed=1,
        skipped=0,
        errors=0,
        scores={"accuracy": seq / 100},
        duration=1.0,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_record_comes_from_the_metadata_and_round_trips_through_json() -> None:
    summary = metadata_of(4)
    made = record_of(summary, seq=4, marks=[Mark("gate", "accuracy >= 0.8", False)])
    assert (made.model, made.source_branch, made.tags) == ("gpt-4o", "feature/tone", ("pr",))
    assert (made.total, made.passed, made.failed, made.skipped) == (4, 3, 0, 1)
    # skipped tests did not run: 3 passed of the 3 that ran
    assert made.pass_rate == 1.0
    assert made.pass_interval == wilson_interval(3, 3)
    assert made.scores["accuracy"] == pytest.approx(summary.scores["accuracy"].mean)
    assert record_from_json(record_to_json(made)) == made
    skipped = run_of("r0", [scored("t::a", "skipped"), scored("t::b", "skipped")])
    assert record_of(skipped, seq=0).pass_rate is None
    assert record_of(skipped, seq=0).pass_interval is None


def test_the_pass_rate_is_the_gates_each_test_once_with_a_wilson_interval() -> None:
    # t::a passes both repeats, t::b one of two, t::c is an expected failure (a pass)
    tests = [
        scored("t::a[repeat1of2]"),
        scored("t::a[repeat2of2]"),
        scored("t::b[repeat1of2]"),
        scored("t::b[repeat2of2]", "failed"),
        scored("t::c", "xfailed"),
    ]
    made = record_of(run_of("r1", tests), seq=0)
    assert made.pass_rate == pass_rate(tests) == pytest.approx((1 + 0.5 + 1) / 3)
    assert made.repeats == (4, 5)
    assert made.pass_interval == wilson_interval(4, 5)
    low, high = wilson_interval(4, 5)
    assert 0 < low < 0.8 < high < 1


def test_each_run_is_linked_to_the_previous_run_of_its_model_and_eval() -> None:
    linked = records(6)
    by_model: dict[str, list[RunRecord]] = {}
    for r in linked:
        by_model.setdefault(r.model or "-", []).append(r)
    for series in by_model.values():
        assert series[0].prev is None
        assert [r.prev for r in series[1:]] == [r.run_id for r in series[:-1]]
    # appending a run never changes an older run's pair, so its compare page stays valid
    longer = records(8)
    assert [r.prev for r in longer[:6]] == [r.prev for r in linked]


def test_facets_newest_and_chunks() -> None:
    linked = records(12)
    found = facets(linked)
    assert found.models == ("claude-3", "gpt-4o")
    assert found.branches == ("feature/tone", "main")
    assert found.tags == ("nightly", "pr")
    assert [r.seq for r in newest(linked, 3)] == [11, 10, 9]
    parts = chunks(linked, 5)
    assert [[r.seq for r in part] for part in parts] == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11]]
    # one more run changes only the last page
    assert chunks(records(13), 5)[:2] == parts[:2]
    assert chunks([], 5) == [[]]


def test_trends_have_one_series_per_model_and_keep_the_newest_points() -> None:
    linked = records(12)
    trends = metric_trends(linked)
    assert [t.metric for t in trends] == [PASS_RATE, "accuracy", "tone"]
    accuracy = trends[1]
    assert [s.model for s in accuracy.series] == ["claude-3", "gpt-4o"]
    assert accuracy.point_count == 12
    gpt = accuracy.series[1]
    assert [p.seq for p in gpt.points] == [0, 2, 4, 6, 8, 10]
    assert gpt.points[1].value == pytest.approx(linked[2].scores["accuracy"])
    trimmed = metric_trends(linked, max_points=4)[1]
    assert [len(s.points) for s in trimmed.series] == [4, 4]
    assert [s.dropped for s in trimmed.series] == [2, 2]
    assert [p.seq for p in trimmed.series[1].points] == [4, 6, 8, 10]
    # a run with no tests that ran has no pass-rate point
    assert metric_trends([rec(0, total=1, skipped=1, passed=0, failed=0)])[0].metric == "accuracy"


def test_link_templates_name_only_known_fields() -> None:
    template = "https://github.com/{repo}/commit/{commit}"
    assert check_link_template(template) == template
    with pytest.raises(ValueError, match=r"uses \{sha\}; the placeholders are \{repo\}"):
        check_link_template("https://x/{sha}")
    with pytest.raises(ValueError, match="not a format string"):
        check_link_template("https://x/{repo")
    assert source_link(template, repo="acme/agent", commit="abc", branch=None) == (
        "https://github.com/acme/agent/commit/abc"
    )
    # a value the template needs is unknown: no link rather than a broken one
    assert source_link(template, repo=None, commit="abc", branch="main") is None
    assert source_link(None, repo="a/b", commit="abc", branch="main") is None


def test_run_detail_shows_tests_scores_usage_and_provenance() -> None:
    run = build(plan(12)[11], 11)
    metadata = RunMetadata.model_validate_json(run.files["metadata.json"])
    detail = run_detail(
        metadata,
        record_of(metadata, seq=11),
        link_template="https://git.example/{repo}/-/commit/{commit}",
        messages={"tests/evals/test_qa.py::test_refund": 3},
    )
    fields = dict(detail.fields)
    assert fields["model"] == "claude-3"
    assert fields["source"].startswith("acme/agent ") and "(main)" in fields["source"]
    assert detail.source_url == (
        f"https://git.example/acme/agent/-/commit/{metadata.source_commit}"
    )
    refund = detail.tests[0]
    assert refund.nodeid.endswith("::test_refund") and refund.messages == 3
    assert [s.metric for s in refund.scores] == ["accuracy", "tone"]
    assert detail.usage == (400, 80, pytest.approx(0.004))
    failing = run_detail(
        metadata.model_copy(update={"tests": [record("test_x", "failed", accuracy=(0.3, 0.6))]}),
        detail.record,
    )
    assert failing.tests[0].scores[0].failed
    assert failing.tests[0].failure is not None


def test_transcript_groups_by_test_folds_tool_traffic_and_counts_redactions() -> None:
    events = [
        TranscriptEvent(
            test="t::a", seq=0, role="user", content="my key is [REDACTED:aws]", timestamp="x"
        ),
        TranscriptEvent(test="t::b", seq=1, role="assistant", content="hi", timestamp="x"),
        TranscriptEvent.model_validate(
            {
                "test": "t::a",
                "seq": 2,
                "role": "assistant",
                "content": {"tool_calls": [{"name": "lookup"}]},
                "timestamp": "x",
                "model": "gpt-4o",
            }
        ),
        TranscriptEvent(test="t::a", seq=3, role="tool", content="found", timestamp="x"),
    ]
    groups = transcript_view(events)
    assert [g.test for g in groups] == ["t::a", "t::b"]
    first, call, result = groups[0].messages
    assert (first.redactions, first.tool, first.collapsed) == (1, False, False)
    assert call.structured and call.tool and call.collapsed
    assert '"tool_calls"' in call.text and call.extra == (("model", "gpt-4o"),)
    assert result.tool


def test_compare_is_exactly_diff() -> None:
    runs = plan(12)
    gpt = [n for n, p in enumerate(runs) if p.model == "gpt-4o"]
    before, after = (
        RunMetadata.model_validate_json(build(runs[n], n).files["metadata.json"]) for n in gpt[-2:]
    )
    compared = compare_runs(before, after)
    assert compared == diff_runs(before, after)
    assert [t.nodeid.split("::")[-1] for t in compared.regressions] == ["test_refund"]


def test_per_test_history_is_flaky_as_the_flaky_command_counts_it() -> None:
    outcomes = {
        "t::steady": ["passed"] * 6,
        "t::fixed": ["failed", "failed", "passed", "passed", "skipped", "passed"],
        "t::flaky": ["passed", "failed", "passed", "error", "passed", "passed"],
    }
    runs = [
        run_of(f"{i:016x}", [scored(n, o[i], accuracy=i / 10) for n, o in outcomes.items()])
        for i in range(6)
    ]
    window = [(rec(i), run_points(run)) for i, run in enumerate(runs)]
    histories = histories_of(list(reversed(window)), max_points=5)
    assert [h.nodeid for h in histories] == ["t::flaky", "t::fixed", "t::steady"]
    flaky, fixed, steady = histories
    # exactly agentv-results flaky over the newest 5 runs of the series
    assert [h.flakiness for h in histories] == flakiness([p for _, p in window[1:]])
    assert (flaky.flakiness.flips, flaky.flakiness.flaky) == (3, True)
    # fixed once is a flip too: flaky, as the flaky command says
    assert (fixed.flakiness.flips, fixed.flakiness.flaky) == (1, True)
    assert (steady.flakiness.flips, steady.flakiness.flaky, steady.flakiness.pass_rate) == (
        0,
        False,
        1.0,
    )
    # the skip is not an outcome: four squares, each linked to its run
    assert fixed.outcomes == tuple(
        (f"{i:016x}", o) for i, o in ((1, "failed"), (2, "passed"), (3, "passed"), (5, "passed"))
    )
    assert fixed.flakiness.pass_rate == pytest.approx(3 / 4)
    assert (fixed.flakiness.low, fixed.flakiness.high) == wilson_interval(3, 4)
    # the same test under two models is two histories
    other = [(rec(9, model="other"), run_points(run_of("o", [scored("t::steady", "failed")])))]
    assert len(histories_of(window + other)) == 4


def test_repeats_that_disagree_are_a_mixed_square() -> None:
    run = run_of("r", [scored("t::a[repeat1of2]"), scored("t::a[repeat2of2]", "failed")])
    [history] = histories_of([(rec(0), run_points(run))])
    assert history.outcomes == (("r", "mixed"),) and history.flakiness.flaky


def test_markers_and_the_releases_section() -> None:
    run = build(plan(3)[0], 0)
    metadata = RunMetadata.model_validate_json(run.files["metadata.json"])

    def gate(m: RunMetadata) -> list[Mark]:
        return [Mark("gate", f"{m.counts.passed} passed", m.counts.failed == 0)]

    assert marks_of(metadata, [gate, gate]) == (Mark("gate", "3 passed", True),) * 2
    assert ReleasesSection([]).build([]) is None
    linked = records(3)
    table = ReleasesSection(
        [
            ReleaseRow(
                "support",
                1,
                "archived",
                "2024-05-01T00:00:00Z",
                eval_run=linked[0].run_id,
                score=80,
                threshold=75,
            ),
            ReleaseRow("support", 2, "rejected", "2024-05-02T00:00:00Z", changelog="[REJECTED: x]"),
        ]
    ).build(linked)
    assert table is not None
    assert [row[1].text for row in table.rows] == ["v2", "v1"]
    assert table.rows[1][4] == Cell(
        linked[0].run_id[:12], href=f"runs/{linked[0].run_id[:2]}/{linked[0].run_id}.html"
    )
    assert table.rows[1][5].text == "80 / 75"

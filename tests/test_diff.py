"""The pure run diff: what regressed, what improved, what only one run has."""

from __future__ import annotations

import pytest

from pytest_agentv.diff import compare_score, diff_runs, render_markdown, render_text
from pytest_agentv.models import RunMetadata, Score, TestRecord
from tests.runs import cli_run as make_run
from tests.runs import record


def metadata(run_id: str, *tests: TestRecord) -> RunMetadata:
    return RunMetadata.model_validate_json(make_run(run_id, tests=tests).files["metadata.json"])


@pytest.mark.parametrize(
    ("before", "after", "regressed"),
    [
        ("passed", "failed", True),
        ("passed", "error", True),
        ("xfailed", "failed", True),
        ("xpassed", "error", True),
        ("skipped", "failed", False),  # nothing passed before: no baseline to regress from
        ("passed", "skipped", False),
        ("failed", "failed", False),
    ],
)
def test_outcome_regressions(before: str, after: str, regressed: bool) -> None:
    base, new = metadata("a" * 16, record("t", before)), metadata("b" * 16, record("t", after))
    result = diff_runs(base, new)
    assert result.regressed is regressed
    if regressed:
        assert result.tests[0].regressions == (f"{before} -> {after}",)


def test_outcome_improvement() -> None:
    result = diff_runs(metadata("a" * 16, record("t", "error")), metadata("b" * 16, record("t")))
    assert not result.regressed
    assert result.tests[0].status == "improved"
    assert result.tests[0].improvements == ("error -> passed",)


@pytest.mark.parametrize(
    ("before", "after", "tolerance", "status"),
    [
        (
            Score(value=0.8, threshold=0.7, passed=True),
            Score(value=0.6, threshold=0.7, passed=False),
            0.5,
            "regressed",
        ),  # crossing the threshold regresses whatever the tolerance
        (Score(value=0.8), Score(value=0.75), 0.0, "regressed"),
        (Score(value=0.8), Score(value=0.75), 0.05, "unchanged"),  # exactly the tolerance
        (Score(value=0.8), Score(value=0.74), 0.05, "regressed"),
        (Score(value=0.8), Score(value=0.8 + 1e-12), 0.0, "unchanged"),  # float noise
        (Score(value=0.5, threshold=0.7), Score(value=0.4, threshold=0.7), 0.2, "unchanged"),
        (Score(value=0.5, threshold=0.7), Score(value=0.9, threshold=0.7), 0.5, "improved"),
        (Score(value=0.5), Score(value=0.6), 0.0, "improved"),
    ],
)
def test_score_rules(before: Score, after: Score, tolerance: float, status: str) -> None:
    assert compare_score("m", before, after, tolerance).status == status


def test_threshold_verdict_without_passed_flag_uses_the_value() -> None:
    change = compare_score("m", Score(value=0.8, threshold=0.7), Score(value=0.6, threshold=0.7), 1)
    assert change.status == "regressed"
    assert change.why == "m fell below its threshold 0.7"


def test_added_removed_tests_and_metrics() -> None:
    before = metadata("a" * 16, record("kept", accuracy=0.9), record("gone"))
    after = metadata("b" * 16, record("kept", tone=0.5), record("fresh"))
    result = diff_runs(before, after)
    assert [t.status for t in result.tests] == ["changed", "removed", "added"]
    assert [s.status for s in result.tests[0].scores] == ["removed", "added"]
    assert not result.regressed
    assert [t.nodeid.split("::")[-1] for t in result.added] == ["fresh"]
    assert [m.metric for m in result.metrics] == ["accuracy", "tone"]
    assert result.metrics[0].after is None


def test_json_and_renderings_agree() -> None:
    before = metadata("a" * 16, record("t1", accuracy=(0.9, 0.7)), record("t2"))
    after = metadata("b" * 16, record("t1", accuracy=(0.5, 0.7)), record("t2", "failed"))
    result = diff_runs(before, after)
    report = result.to_json()
    assert report["regressed"] is True
    assert len(report["regressions"]) == 2
    assert report["counts"]["new"]["failed"] == 1
    assert report["metrics"][0]["delta"] == pytest.approx(-0.4)
    assert "Regressions (2)" in render_text(result)
    markdown = render_markdown(result)
    assert "**2 regressed**" in markdown and "#### Regressions (2)" in markdown


def test_markdown_escapes_table_characters() -> None:
    before = metadata("a" * 16, record("t[a|b]"))
    after = metadata("b" * 16, record("t[a|b]", "failed"))
    assert "t[a\\|b]" in render_markdown(diff_runs(before, after))


def test_negative_tolerance_is_refused() -> None:
    with pytest.raises(ValueError, match="tolerance must not be negative"):
        diff_runs(metadata("a" * 16), metadata("b" * 16), tolerance=-0.1)


@pytest.mark.parametrize(
    ("before", "after", "status", "why"),
    [
        (1.0, 1.5, "regressed", "latency rose by 0.5 (tolerance 0)"),
        (1.5, 1.0, "improved", "latency dropped by 0.5"),
    ],
)
def test_a_score_where_lower_is_better_regresses_when_it_rises(
    before: float, after: float, status: str, why: str
) -> None:
    change = compare_score(
        "latency",
        Score(value=before, greater_is_better=False),
        Score(value=after, greater_is_better=False),
        0.0,
    )
    assert (change.status, change.why) == (status, why)


def test_a_lower_is_better_threshold_is_a_ceiling() -> None:
    ok = Score(value=1.0, threshold=2.0, greater_is_better=False)
    slow = Score(value=3.0, threshold=2.0, greater_is_better=False)
    change = compare_score("latency", ok, slow, 10.0)
    assert (change.status, change.why) == ("regressed", "latency rose above its threshold 2")

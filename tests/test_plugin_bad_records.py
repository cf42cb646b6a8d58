"""Unstorable values fail the test that recorded them; the run is never lost (pytester)."""

from __future__ import annotations

import re

import pytest

from tests.helpers import load_run, only_run_dir, records_by_name

DEEP = '__import__("functools").reduce(lambda v, _: [v], range({depth}), [])'


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ('agentv.message("user", "bad \\ud800")', "message content must be valid UTF-8 text"),
        ('agentv.message("user", "ok", note="\\udfff")', "message fields must be valid UTF-8"),
        ('agentv.score("s\\ud800", 1)', "score name must be valid UTF-8 text"),
        ('agentv.score("s", 1, reason="\\ud800")', "score 's' reason must be valid UTF-8"),
        ('agentv.metadata["k"] = "\\ud800"', "agentv.metadata['k'] must be valid UTF-8"),
        (f'agentv.message("user", {DEEP.format(depth=300)})', "nested deeper than 100 levels"),
        (f'agentv.metadata["deep"] = {DEEP.format(depth=999)}', "nested deeper than 100 levels"),
        ("agentv.usage(cost_usd=1e308); agentv.usage(cost_usd=1e308)", "usage cost_usd total"),
    ],
)
def test_unstorable_values_fail_their_test_and_the_run_is_written(
    pytester: pytest.Pytester, call: str, message: str
) -> None:
    pytester.makepyfile(
        f"""
        def test_bad(agentv):
            {call}

        def test_good(agentv):
            agentv.score("ok", 1)
            agentv.message("user", "kept")
        """
    )
    result = pytester.runpytest("-p", "no:xdist")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.re_match_lines([f".*AgentvRecordError: .*{re.escape(message)}"])
    assert "Traceback" not in result.stdout.str().split("short test summary")[-1]
    metadata, events, _ = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    tests = records_by_name(metadata)
    assert tests["test_bad"]["outcome"] == "failed"
    assert tests["test_good"]["scores"]["ok"]["value"] == 1.0
    assert [e["content"] for e in events if e["test"].endswith("test_good")] == ["kept"]


def test_huge_scores_aggregate_without_overflow(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("n", [1, 2])
        def test_big(agentv, n):
            agentv.score("s", 1.7e308)
        """
    )
    result = pytester.runpytest("-p", "no:xdist")
    result.assert_outcomes(passed=2)
    assert result.ret == 0
    metadata, _, summary = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    assert summary["scores"]["s"]["mean"] == pytest.approx(1.7e308)
    assert metadata["scores"]["s"]["count"] == 2


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("agentv_run.model = 5", "agentv_run.model must be a string or None, got 5"),
        ("agentv_run.eval_file = ['x']", "agentv_run.eval_file must be a string or None"),
        ("agentv_run.tags = 'nightly'", "agentv_run.tags must be a list of strings"),
        ('agentv_run.model = "m\\ud800"', "agentv_run.model must be valid UTF-8 text"),
    ],
)
def test_bad_run_values_fail_where_they_are_set(
    pytester: pytest.Pytester, assignment: str, message: str
) -> None:
    pytester.makepyfile(
        f"""
        def test_sets(agentv_run):
            {assignment}

        def test_good(agentv):
            agentv.score("ok", 1)
        """
    )
    result = pytester.runpytest("-p", "no:xdist")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.re_match_lines([f".*AgentvRecordError: .*{re.escape(message)}"])
    metadata, _, _ = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    assert records_by_name(metadata)["test_good"]["scores"]["ok"]["value"] == 1.0


def test_a_run_value_spoiled_after_the_check_costs_only_that_value(
    pytester: pytest.Pytester,
) -> None:
    # tags is a plain list: appending junk bypasses the check at assignment, so the session
    # drops the bad value at the end, says so, and still writes every test's record
    pytester.makepyfile(
        """
        def test_sets(agentv_run):
            agentv_run.tags.append(object())

        def test_good(agentv):
            agentv.score("ok", 1)
        """
    )
    result = pytester.runpytest("-p", "no:xdist")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*agentv: WARNING: *agentv_run.tags must be*left out*"])
    assert "Traceback" not in result.stdout.str()
    metadata, _, _ = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    assert metadata["tags"] == []
    assert records_by_name(metadata)["test_good"]["scores"]["ok"]["value"] == 1.0


def test_a_record_that_cannot_be_built_is_replaced_not_the_run_lost(
    pytester: pytest.Pytester,
) -> None:
    # a conftest hook writing junk straight onto the teardown report bypasses every check
    pytester.makeconftest(
        """
        import pytest

        @pytest.hookimpl(trylast=True)
        def pytest_runtest_makereport(item, call):
            pass

        @pytest.hookimpl(wrapper=True)
        def pytest_runtest_logreport(report):
            if report.when == "teardown" and report.nodeid.endswith("test_bad"):
                report.agentv_record = {"scores": {"s": {"value": "junk"}}}
            return (yield)
        """
    )
    pytester.makepyfile(
        """
        def test_bad(agentv):
            agentv.score("s", 1)

        def test_good(agentv):
            agentv.score("ok", 1)
        """
    )
    result = pytester.runpytest("-p", "no:xdist")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*agentv: WARNING: *test_bad*could not be stored*"])
    metadata, _, _ = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    tests = records_by_name(metadata)
    assert tests["test_bad"]["scores"] == {}
    assert "could not be stored" in tests["test_bad"]["failure"]
    assert tests["test_good"]["scores"]["ok"]["value"] == 1.0

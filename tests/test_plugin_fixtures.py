"""The fixtures eval suites code against, and how every outcome is recorded (pytester)."""

from __future__ import annotations

import re

import pytest

from tests.helpers import load_run, only_run_dir, records_by_name

EVAL_SUITE = """
import pytest

@pytest.fixture(scope="session", autouse=True)
def _run_setup(agentv_run):
    agentv_run.model = "gpt-test-1"
    agentv_run.tags.append("nightly")
    agentv_run.metadata["dataset"] = "golden-v2"

def test_passes(agentv):
    agentv.message("user", "What is 2+2?")
    agentv.message("assistant", [{"type": "tool_use", "name": "calc", "input": {"x": "2+2"}}],
                   tool_call_id="call_1")
    agentv.message("tool", {"result": 4}, tool_call_id="call_1")
    agentv.score("accuracy", 1.0, threshold=0.8, reason="exact")
    agentv.score("grounded", True)
    agentv.usage(input_tokens=12, output_tokens=3, cost_usd=0.001)
    agentv.usage(input_tokens=8, output_tokens=2, cost_usd=0.002)
    agentv.metadata["case"] = {"id": 7}

def test_fails(agentv):
    agentv.score("accuracy", 0.25, threshold=0.8)
    assert 1 + 1 == 3

def test_plain():
    pass

@pytest.mark.skip(reason="not today")
def test_skipped():
    pass

@pytest.mark.xfail(reason="known bug")
def test_xfailed():
    assert False

@pytest.mark.xfail(reason="fixed already")
def test_xpassed():
    pass

@pytest.fixture
def broken():
    raise RuntimeError("setup exploded")

def test_setup_error(broken):
    pass

@pytest.fixture
def bad_teardown():
    yield
    raise RuntimeError("teardown exploded")

def test_teardown_error(bad_teardown):
    pass
"""


@pytest.fixture
def run(pytester: pytest.Pytester) -> pytest.RunResult:
    pytester.makepyfile(test_evals=EVAL_SUITE)
    return pytester.runpytest("-p", "no:xdist")


def test_every_collected_test_is_recorded_with_its_outcome(
    pytester: pytest.Pytester, run: pytest.RunResult
) -> None:
    run.assert_outcomes(passed=3, failed=1, skipped=1, xfailed=1, xpassed=1, errors=2)
    metadata, _, summary = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    outcomes = {name: t["outcome"] for name, t in records_by_name(metadata).items()}
    assert outcomes == {
        "test_passes": "passed",
        "test_fails": "failed",
        "test_plain": "passed",
        "test_skipped": "skipped",
        "test_xfailed": "xfailed",
        "test_xpassed": "xpassed",
        "test_setup_error": "error",
        "test_teardown_error": "error",
    }
    assert summary["counts"] == {
        "total": 8,
        "passed": 2,
        "failed": 1,
        "skipped": 1,
        "errors": 2,
        "xfailed": 1,
        "xpassed": 1,
    }


def test_scores_usage_metadata_and_failure_text(
    pytester: pytest.Pytester, run: pytest.RunResult
) -> None:
    metadata, _, summary = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    tests = records_by_name(metadata)
    passes = tests["test_passes"]
    assert passes["scores"]["accuracy"] == {
        "value": 1.0,
        "threshold": 0.8,
        "passed": True,
        "reason": "exact",
    }
    assert passes["scores"]["grounded"]["value"] == 1.0
    assert passes["scores"]["grounded"]["passed"] is None
    assert passes["usage"] == {"inputTokens": 20, "outputTokens": 5, "costUsd": 0.003}
    assert passes["metadata"] == {"case": {"id": 7}}
    fails = tests["test_fails"]
    assert fails["scores"]["accuracy"]["passed"] is False
    assert "assert (1 + 1) == 3" in fails["failure"]
    assert "setup exploded" in tests["test_setup_error"]["failure"]
    assert "teardown exploded" in tests["test_teardown_error"]["failure"]
    assert tests["test_skipped"]["reason"] == "not today"
    assert tests["test_xfailed"]["reason"] == "known bug"
    assert tests["test_plain"]["duration"] >= 0
    assert summary["scores"]["accuracy"] == {
        "count": 2,
        "mean": 0.625,
        "min": 0.25,
        "max": 1.0,
        "passed": 1,
        "failed": 1,
    }
    assert metadata["usage"]["inputTokens"] == 20


def test_run_level_fields_from_conftest(pytester: pytest.Pytester, run: pytest.RunResult) -> None:
    metadata, _, summary = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    assert metadata["model"] == summary["model"] == "gpt-test-1"
    assert metadata["tags"] == ["nightly"]
    assert metadata["metadata"] == {"dataset": "golden-v2"}
    assert metadata["evalFile"] == "test_evals.py"
    assert metadata["runId"] == summary["runId"]
    assert len(metadata["runId"]) == 16
    assert metadata["versions"]["pytest"] == pytest.__version__
    assert metadata["timestamp"].endswith("Z")


def test_transcript_is_ordered_and_keeps_extra_fields(
    pytester: pytest.Pytester, run: pytest.RunResult
) -> None:
    _, events, _ = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    assert [e["seq"] for e in events] == [0, 1, 2]
    assert [e["role"] for e in events] == ["user", "assistant", "tool"]
    assert all(e["test"] == "test_evals.py::test_passes" for e in events)
    assert events[1]["content"][0]["name"] == "calc"
    assert events[1]["tool_call_id"] == "call_1"
    assert events[2]["content"] == {"result": 4}


def test_terminal_summary_names_run_and_place(
    pytester: pytest.Pytester, run: pytest.RunResult
) -> None:
    run_dir = only_run_dir(pytester.path / ".agentv" / "runs")
    run_id = run_dir.parent.name + run_dir.name
    run.stdout.fnmatch_lines([f"agentv: run {run_id} (8 tests) written to *{run_dir.name}"])
    run.stdout.fnmatch_lines([f"agentv: run {run_id} -> local directory *"])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ('agentv.score("", 1.0)', "score name must be a non-empty string"),
        ('agentv.score("acc", float("nan"))', "score 'acc' value must be finite, got nan"),
        ('agentv.score("acc", float("inf"))', "must be finite, got inf"),
        ('agentv.score("acc", "high")', "score 'acc' value must be a number or bool, got str"),
        ('agentv.score("acc", 1, threshold=float("nan"))', "threshold must be finite"),
        ('agentv.score("a", 1); agentv.score("a", 2)', "score 'a' was already recorded"),
        ('agentv.message("user", object())', "message content must be JSON-serialisable"),
        ('agentv.message("", "hi")', "message role must be a non-empty string"),
        ('agentv.message("user", "hi", seq=3)', "message fields ['seq'] are set by pytest-agentv"),
        ('agentv.message("user", {"x": float("nan")})', "message content must be JSON"),
        ('agentv.metadata["when"] = object()', "agentv.metadata['when'] must be JSON"),
        ("agentv.usage(input_tokens=-1)", "usage input_tokens must be a non-negative int"),
        ('agentv.usage(cost_usd=float("nan"))', "usage cost_usd must be finite"),
    ],
)
def test_bad_values_fail_the_test_that_recorded_them(
    pytester: pytest.Pytester, call: str, message: str
) -> None:
    pytester.makepyfile(
        f"""
        def test_bad(agentv):
            {call}

        def test_good(agentv):
            agentv.score("ok", 1)
        """
    )
    result = pytester.runpytest("-p", "no:xdist")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.re_match_lines([f".*AgentvRecordError: .*{re.escape(message)}"])
    metadata, _, _ = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    tests = records_by_name(metadata)
    assert tests["test_bad"]["outcome"] == "failed"
    assert tests["test_good"]["scores"]["ok"]["value"] == 1.0


def test_nested_metadata_mutated_into_junk_errors_at_teardown(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_sneaky(agentv):
            agentv.metadata["items"] = []
            agentv.metadata["items"].append(object())
        """
    )
    result = pytester.runpytest("-p", "no:xdist")
    result.assert_outcomes(passed=1, errors=1)
    expected = re.escape("agentv.metadata['items'] must be JSON-serialisable")
    result.stdout.re_match_lines([".*" + expected])
    metadata, _, _ = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    test = metadata["tests"][0]
    assert test["outcome"] == "error"
    assert test["metadata"]["items"].startswith("[<object object")


def test_tests_without_the_fixture_are_recorded_too(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_one(): pass\ndef test_two(): assert 0\n")
    pytester.runpytest("-p", "no:xdist").assert_outcomes(passed=1, failed=1)
    metadata, events, _ = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    assert [t["outcome"] for t in metadata["tests"]] == ["passed", "failed"]
    assert events == []


def test_no_tests_means_no_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("")
    result = pytester.runpytest("-p", "no:xdist")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    result.stdout.fnmatch_lines(["agentv: no tests ran; nothing recorded"])
    assert not (pytester.path / ".agentv").exists()


def test_a_session_cut_short_records_what_ran(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_one(agentv):
            agentv.score("s", 1)

        def test_two():
            assert False

        def test_three():
            pass
        """
    )
    result = pytester.runpytest("-p", "no:xdist", "-x")
    result.assert_outcomes(passed=1, failed=1)
    metadata, _, summary = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    assert [t["nodeid"].split("::")[-1] for t in metadata["tests"]] == ["test_one", "test_two"]
    assert summary["counts"]["total"] == 2

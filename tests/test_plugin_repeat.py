"""--agentv-repeat and --agentv-run-group in real sessions, with and without xdist."""

from __future__ import annotations

import pytest

from tests.helpers import load_run, only_run_dir

SUITE = """
import pytest

@pytest.mark.parametrize("case", ["a", "b"])
def test_eval(agentv, agentv_repeat, case):
    agentv.score("accuracy", 0.5 + agentv_repeat / 10)
    assert not (case == "b" and agentv_repeat == 1)

def test_plain():
    pass
"""
MODES = {
    "no-xdist": ["-p", "no:xdist"],
    "n0": ["-n0"],
    "n2": ["-n2"],
}


@pytest.mark.parametrize("mode", list(MODES))
def test_each_eval_test_runs_n_times_as_separate_records(
    pytester: pytest.Pytester, mode: str
) -> None:
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest(*MODES[mode], "--agentv-repeat", "3")
    result.assert_outcomes(passed=6, failed=1)  # 2 cases x 3 repeats, one failing; test_plain once
    metadata, _, _ = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    nodeids = sorted(t["nodeid"] for t in metadata["tests"])
    assert nodeids == sorted(
        [f"test_suite.py::test_eval[{c}-repeat{k}of3]" for c in "ab" for k in (1, 2, 3)]
        + ["test_suite.py::test_plain"]
    )
    scores = {
        t["nodeid"]: t["scores"]["accuracy"]["value"] for t in metadata["tests"] if t["scores"]
    }
    assert scores["test_suite.py::test_eval[a-repeat3of3]"] == pytest.approx(0.7)


def test_repeats_count_as_one_test_in_a_gate(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest(
        "-p", "no:xdist", "--agentv-repeat", "3", "--agentv-min-pass-rate", "0.8"
    )
    # test_eval[a] 3/3, test_eval[b] 2/3, test_plain 1/1: (1 + 2/3 + 1) / 3 = 0.889
    lines = [line.strip() for line in result.outlines if line.strip().startswith("min-pass-rate")]
    assert lines and "0.8889" in lines[0] and "PASS" in lines[0].split()


def test_without_repeat_the_node_ids_are_unchanged(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE)
    pytester.runpytest("-p", "no:xdist").assert_outcomes(passed=3)
    metadata, _, _ = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    assert sorted(t["nodeid"] for t in metadata["tests"]) == [
        "test_suite.py::test_eval[a]",
        "test_suite.py::test_eval[b]",
        "test_suite.py::test_plain",
    ]


def test_a_bad_repeat_count_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest("-p", "no:xdist", "--agentv-repeat", "0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*the repeat count must be at least 1*"])


def test_the_run_group_is_recorded(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_suite=SUITE)
    monkeypatch.setenv("AGENTV_RUN_GROUP", "pipeline-1234")
    pytester.runpytest("-p", "no:xdist").assert_outcomes(passed=3)
    metadata, _, summary = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    assert metadata["runGroup"] == summary["runGroup"] == "pipeline-1234"


def test_without_a_run_group_the_files_do_not_mention_one(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE)
    pytester.runpytest("-p", "no:xdist").assert_outcomes(passed=3)
    metadata, _, summary = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    assert "runGroup" not in metadata and "runGroup" not in summary
    assert "gate" not in metadata and "gate" not in summary


def test_a_bad_run_group_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest("-p", "no:xdist", "--agentv-run-group", "has space")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*is not a run group id*"])


def test_the_summary_names_the_tests_whose_repeats_disagree(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest("-p", "no:xdist", "--agentv-repeat", "3")
    lines = result.outlines
    start = lines.index("agentv: repeats: 2 repeated tests, 2 with repeats that disagree")
    # mixed outcomes first, then the widest spread
    assert lines[start + 1] == "  test_suite.py::test_eval[b]: passed 2/3, accuracy 0.5..0.7"
    assert lines[start + 2] == "  test_suite.py::test_eval[a]: passed 3/3, accuracy 0.5..0.7"

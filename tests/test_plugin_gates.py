"""Gates in a real pytest session: each form passing and failing, exit codes, the printed table,
the verdict in the stored run, and baselines by id, latest, query and merge-base."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_agentv.gates import EXIT_GATE_FAILED
from tests.cli_support import agentv
from tests.git_fixtures import git
from tests.helpers import load_run

MODULE = """
import os
import pytest

@pytest.mark.parametrize("case", range(12))
def test_case(agentv, case):
    shift = float(os.environ.get("EVAL_SHIFT", "0"))
    noise = ((case * 37 + {offset}) % 11 - 5) / 200
    agentv.score("accuracy", 0.5 + (case % 5) / 10 + shift + noise)
    assert os.environ.get("EVAL_FAIL") != str(case)
"""
CONFTEST = """
import os
import pytest

@pytest.fixture(scope="session", autouse=True)
def _model(agentv_run):
    agentv_run.model = os.environ.get("EVAL_MODEL", "model-a")
"""
NO_XDIST = ("-p", "no:xdist")


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(
        test_qa=MODULE.format(offset=0), test_tools=MODULE.format(offset=3), conftest=CONFTEST
    )
    return pytester


def runs(root: Path) -> list[dict[str, object]]:
    """Every stored run's metadata, oldest first."""
    found = [load_run(p.parent)[0] for p in (root / ".agentv" / "runs").glob("??/*/summary.json")]
    return sorted(found, key=lambda m: str(m["timestamp"]))


def gate_of(root: Path) -> dict[str, object]:
    gate = runs(root)[-1]["gate"]
    assert isinstance(gate, dict)
    return gate


def table(result: pytest.RunResult) -> list[str]:
    lines = result.outlines
    start = lines.index("agentv: gates")
    return [line.strip() for line in lines[start + 1 :] if line.startswith("  ")]


def record_baseline(suite: pytest.Pytester, *args: str) -> str:
    result = suite.runpytest(*NO_XDIST, *args)
    assert result.ret == 0
    run_id = runs(suite.path)[-1]["runId"]
    assert isinstance(run_id, str)
    return run_id


# -- absolute gates ----------------------------------------------------------------------------


def test_min_score_passes(suite: pytest.Pytester) -> None:
    result = suite.runpytest(*NO_XDIST, "--agentv-min-score", "accuracy=0.6")
    assert result.ret == 0
    lines = table(result)
    assert lines[0].split()[:2] == ["GATE", "METRIC"]
    assert lines[1].startswith("min-score") and ">= 0.6" in lines[1] and lines[1].endswith("PASS")
    assert lines[-1] == "gate verdict: PASS"
    assert gate_of(suite.path)["verdict"] == "pass"


def test_min_score_fails_with_its_own_exit_status_and_the_run_is_kept(
    suite: pytest.Pytester,
) -> None:
    result = suite.runpytest(
        *NO_XDIST, "--agentv-min-score", "accuracy=0.8", "--agentv-min-score", "tone=0.1"
    )
    result.assert_outcomes(passed=24)
    assert result.ret == EXIT_GATE_FAILED
    lines = table(result)
    assert lines[1].startswith("min-score") and "accuracy" in lines[1]
    assert lines[1].endswith("FAIL")
    assert "tone" in lines[2] and lines[2].endswith("FAIL (no test recorded this metric)")
    assert lines[-1] == "gate verdict: FAIL"
    stored = runs(suite.path)
    assert len(stored) == 1
    gate = gate_of(suite.path)
    assert gate["verdict"] == "fail"
    assert [row["verdict"] for row in gate["rows"]] == ["fail", "fail"]  # type: ignore[attr-defined]
    summary = json.loads(
        next((suite.path / ".agentv" / "runs").glob("??/*/summary.json")).read_text()
    )
    assert summary["gate"] == "fail"


def test_min_pass_rate(suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVAL_FAIL", "3")  # two of 24 tests fail: 22/24 = 0.917
    passing = suite.runpytest(*NO_XDIST, "--agentv-min-pass-rate", "0.9")
    assert passing.ret == pytest.ExitCode.TESTS_FAILED  # pytest's own status comes first
    assert table(passing)[1].endswith("PASS")
    failing = suite.runpytest(*NO_XDIST, "--agentv-min-pass-rate", "0.95")
    assert failing.ret == pytest.ExitCode.TESTS_FAILED
    assert table(failing)[1].endswith("FAIL")
    assert gate_of(suite.path)["verdict"] == "fail"


def test_gates_from_the_config_file_merge_with_the_command_line(suite: pytest.Pytester) -> None:
    (suite.path / ".agentv").mkdir()
    (suite.path / ".agentv" / "config.yaml").write_text(
        "gates:\n  min_score: {accuracy: 0.9}\n  min_pass_rate: 0.5\n"
    )
    from_file = suite.runpytest(*NO_XDIST)
    assert from_file.ret == EXIT_GATE_FAILED
    loosened = suite.runpytest(*NO_XDIST, "--agentv-min-score", "accuracy=0.5")
    assert loosened.ret == 0
    assert [line.split()[0] for line in table(loosened)[1:-1]] == ["min-score", "min-pass-rate"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--agentv-min-score", "accuracy"), "'accuracy' is not METRIC=VALUE"),
        (("--agentv-min-pass-rate", "90"), "'90' is not between 0 and 1"),
        (
            ("--agentv-max-regression", "accuracy=-1", "--agentv-baseline", "latest"),
            "the allowed regression must not be negative",
        ),
        (
            ("--agentv-baseline", "latest:colour=red", "--agentv-fail-on-regression"),
            "unknown filter 'colour'",
        ),
        (("--agentv-cluster-by", "file"), "'file' is not a clustering"),
    ],
)
def test_bad_gate_options_are_usage_errors(
    suite: pytest.Pytester, args: tuple[str, ...], message: str
) -> None:
    result = suite.runpytest(*NO_XDIST, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])
    assert not (suite.path / ".agentv" / "runs").exists()


def test_a_baseline_gate_without_a_baseline_is_a_usage_error(suite: pytest.Pytester) -> None:
    result = suite.runpytest(*NO_XDIST, "--agentv-fail-on-regression")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*compares with a baseline, but none is set*--agentv-baseline*"])


def test_a_bad_gates_section_names_the_field(suite: pytest.Pytester) -> None:
    (suite.path / ".agentv").mkdir()
    (suite.path / ".agentv" / "config.yaml").write_text("gates:\n  min_scor: {a: 1}\n")
    result = suite.runpytest(*NO_XDIST)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown field 'gates.min_scor'; allowed here: min_score*"])


# -- baseline gates ----------------------------------------------------------------------------


def test_a_clear_regression_against_latest_fails(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    baseline = record_baseline(suite)
    monkeypatch.setenv("EVAL_SHIFT", "-0.2")
    result = suite.runpytest(
        *NO_XDIST, "--agentv-baseline", "latest", "--agentv-max-regression", "accuracy=0.05"
    )
    result.assert_outcomes(passed=24)
    assert result.ret == EXIT_GATE_FAILED
    row = table(result)[1]
    assert row.startswith("max-regression") and "-0.2 ±" in row and row.endswith("FAIL")
    assert table(result)[-1] == f"gate verdict against baseline {baseline}: FAIL"
    gate = gate_of(suite.path)
    assert (gate["verdict"], gate["baseline"]) == ("fail", baseline)


def test_the_same_scores_pass_and_an_improvement_passes(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_baseline(suite)
    same = suite.runpytest(*NO_XDIST, "--agentv-baseline", "latest", "--agentv-fail-on-regression")
    assert same.ret == 0
    assert all("PASS" in line.split() for line in table(same)[1:-1])
    monkeypatch.setenv("EVAL_SHIFT", "0.1")
    better = suite.runpytest(
        *NO_XDIST, "--agentv-baseline", "latest", "--agentv-fail-on-regression"
    )
    assert better.ret == 0
    assert table(better)[-1].endswith(": PASS")


def test_newly_failing_tests_fail_the_pass_rate_gate(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_baseline(suite)
    monkeypatch.setenv("EVAL_FAIL", "4")
    result = suite.runpytest(
        *NO_XDIST, "--agentv-baseline", "latest", "--agentv-max-regression", "pass_rate=0.0"
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    row = table(result)[1]
    assert "pass_rate" in row and "2 newly failing, 0 newly passing" in row


def test_a_missing_baseline_fails_the_gate_and_keeps_the_run(suite: pytest.Pytester) -> None:
    result = suite.runpytest(
        *NO_XDIST, "--agentv-baseline", "latest", "--agentv-fail-on-regression"
    )
    result.assert_outcomes(passed=24)
    assert result.ret == EXIT_GATE_FAILED
    assert any(line.startswith("gate error: baseline 'latest'") for line in table(result))
    assert len(runs(suite.path)) == 1
    assert gate_of(suite.path)["error"] is not None


def test_baseline_by_run_id_prefix(suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    first = record_baseline(suite)
    monkeypatch.setenv("EVAL_SHIFT", "-0.3")
    record_baseline(suite)  # a worse run, now the latest
    monkeypatch.setenv("EVAL_SHIFT", "-0.3")
    against_first = suite.runpytest(
        *NO_XDIST, "--agentv-baseline", first[:10], "--agentv-max-regression", "accuracy=0.05"
    )
    assert against_first.ret == EXIT_GATE_FAILED
    assert gate_of(suite.path)["baseline"] == first
    against_latest = suite.runpytest(
        *NO_XDIST, "--agentv-baseline", "latest", "--agentv-max-regression", "accuracy=0.05"
    )
    assert against_latest.ret == 0


def test_baseline_by_query_on_model(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVAL_MODEL", "model-a")
    model_a = record_baseline(suite)
    monkeypatch.setenv("EVAL_MODEL", "model-b")
    monkeypatch.setenv("EVAL_SHIFT", "-0.3")
    record_baseline(suite)  # another model's (worse) run, the latest
    monkeypatch.setenv("EVAL_MODEL", "model-a")
    result = suite.runpytest(
        *NO_XDIST, "--agentv-baseline", "latest:model=<same>", "--agentv-fail-on-regression"
    )
    assert gate_of(suite.path)["baseline"] == model_a
    assert result.ret == EXIT_GATE_FAILED  # -0.3 against model-a's run


# -- baselines from the source repository's history --------------------------------------------


@pytest.fixture
def repo_suite(suite: pytest.Pytester, git_env: Path) -> pytest.Pytester:
    root = suite.path
    git("init", "--quiet", "--initial-branch=main", cwd=root)
    git("config", "user.name", "Eval Author", cwd=root)
    git("config", "user.email", "author@example.com", cwd=root)
    (root / ".gitignore").write_text(".agentv/\n__pycache__/\n")
    git("add", ".", cwd=root)
    git("commit", "--quiet", "-m", "suite", cwd=root)
    return suite


def commit(root: Path, name: str) -> str:
    (root / f"{name}.txt").write_text(name)
    git("add", f"{name}.txt", cwd=root)
    git("commit", "--quiet", "-m", name, cwd=root)
    return git("rev-parse", "HEAD", cwd=root)


def test_merge_base_finds_the_run_on_the_default_branch(
    repo_suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = repo_suite.path
    on_main = record_baseline(repo_suite)  # recorded at main's first commit
    commit(root, "main-2")  # main moves on, with no run
    git("checkout", "--quiet", "-b", "feature", "HEAD", cwd=root)
    commit(root, "feature-1")
    monkeypatch.setenv("EVAL_SHIFT", "-0.1")
    record_baseline(repo_suite)  # a feature-branch run: newer, but not on main's history
    git("checkout", "--quiet", "main", cwd=root)
    on_main_later = commit(root, "main-3")
    monkeypatch.setenv("EVAL_SHIFT", "0.2")
    record_baseline(repo_suite)  # main's newest run, after the branch point
    git("checkout", "--quiet", "feature", cwd=root)
    monkeypatch.setenv("EVAL_SHIFT", "-0.1")
    result = repo_suite.runpytest(
        *NO_XDIST, "--agentv-baseline", "merge-base", "--agentv-max-regression", "accuracy=0.05"
    )
    gate = gate_of(root)
    # the merge-base is main-2 (no run); its parent has on_main; main-3's run is not an ancestor
    assert gate["baseline"] == on_main, on_main_later
    assert result.ret == EXIT_GATE_FAILED
    on_branch = repo_suite.runpytest(
        *NO_XDIST,
        "--agentv-baseline",
        "latest:branch=<same>",
        "--agentv-max-regression",
        "accuracy=0.05",
    )
    assert on_branch.ret == 0  # against the feature run, which scored the same
    branch_runs = [r for r in runs(root) if r["sourceBranch"] == "feature"]
    assert gate_of(root)["baseline"] == branch_runs[-2]["runId"]


def test_latest_on_main_with_the_same_model(
    repo_suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = repo_suite.path
    on_main = record_baseline(repo_suite)
    git("checkout", "--quiet", "-b", "feature", cwd=root)
    monkeypatch.setenv("EVAL_SHIFT", "-0.3")
    record_baseline(repo_suite)
    monkeypatch.setenv("EVAL_SHIFT", "0")
    result = repo_suite.runpytest(
        *NO_XDIST,
        "--agentv-baseline",
        "latest:branch=main,model=<same>",
        "--agentv-fail-on-regression",
    )
    assert gate_of(root)["baseline"] == on_main
    assert result.ret == 0


def test_merge_base_without_a_run_in_the_history_fails(repo_suite: pytest.Pytester) -> None:
    result = repo_suite.runpytest(
        *NO_XDIST, "--agentv-baseline", "merge-base", "--agentv-fail-on-regression"
    )
    assert result.ret == EXIT_GATE_FAILED
    assert any("was recorded at the merge-base of HEAD and main" in line for line in table(result))


@pytest.mark.parametrize("mode", [("-n0",), ("-n2",)])
def test_gates_under_xdist_are_evaluated_once_by_the_controller(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, mode: tuple[str, ...]
) -> None:
    baseline = record_baseline(suite)
    monkeypatch.setenv("EVAL_SHIFT", "-0.2")
    result = suite.runpytest(
        *mode,
        "--agentv-baseline",
        "latest",
        "--agentv-max-regression",
        "accuracy=0.05",
        "--agentv-min-score",
        "accuracy=0.1",
    )
    result.assert_outcomes(passed=24)
    assert result.ret == EXIT_GATE_FAILED
    assert result.outlines.count("agentv: gates") == 1
    assert [line.split()[0] for line in table(result)[1:-1]] == ["min-score", "max-regression"]
    gate = gate_of(suite.path)
    assert (gate["baseline"], gate["verdict"]) == (baseline, "fail")


def test_a_lower_is_better_score_survives_xdist_and_gates_as_a_ceiling(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_latency="""
import pytest

@pytest.mark.parametrize("case", range(4))
def test_latency(agentv, case):
    agentv.score("latency", 1.0 + case, threshold=3.5, greater_is_better=False)
"""
    )
    result = pytester.runpytest("-n2", "--agentv-min-score", "latency=2.0")
    assert result.ret == EXIT_GATE_FAILED  # mean 2.5 is above the ceiling 2.0
    row = table(result)[1]
    assert "<= 2" in row and "FAIL" in row.split()
    stored = runs(pytester.path)[-1]
    scores = {t["nodeid"]: t["scores"]["latency"] for t in stored["tests"]}  # type: ignore[union-attr, index]
    assert scores["test_latency.py::test_latency[3]"] == {
        "value": 4.0,
        "threshold": 3.5,
        "passed": False,
        "reason": None,
        "greaterIsBetter": False,
    }


def test_show_prints_the_recorded_verdict(suite: pytest.Pytester) -> None:
    suite.runpytest(*NO_XDIST, "--agentv-min-score", "accuracy=0.9")
    shown = agentv(suite.path, "show", "latest")
    assert "gate    FAIL (min-score accuracy)" in shown.stdout.splitlines()

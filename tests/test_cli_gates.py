"""``agentv-results diff --stats``, ``gate`` (runs and run groups), ``trend`` and ``flaky``, run as
the console script against a local store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_support import agentv, write_local
from tests.gate_runs import base_values, noise, scored, stored_run

NAMES = [f"evals/test_m{i % 3}.py::test_case[c{i}]" for i in range(30)]


def scores(shift: float, spread: float = 1.0) -> list[float]:
    return [v + shift + spread * noise(i) for i, v in enumerate(base_values(len(NAMES)))]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Three runs, oldest first: a baseline, a clear regression, and the same as the baseline;
    test c4 flips between them."""
    (tmp_path / ".git").mkdir()
    runs = []
    for minute, (run_id, shift) in enumerate([("a" * 16, 0.0), ("b" * 16, -0.2), ("c" * 16, 0.0)]):
        tests = [
            scored(
                name,
                "failed" if (name.endswith("[c4]") and minute == 1) else "passed",
                accuracy=value,
            )
            for name, value in zip(NAMES, scores(shift), strict=True)
        ]
        runs.append(stored_run(run_id, tests, minute=minute))
    write_local(tmp_path, runs)
    return tmp_path


def test_diff_stats_shows_the_clustered_comparison(project: Path) -> None:
    result = agentv(project, "diff", "a" * 16, "b" * 16, "--stats")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Statistics: tests paired"))
    assert "clustered over 3 cluster(s)" in lines[start]
    accuracy = lines[start + 2].split()
    assert accuracy[0] == "accuracy" and accuracy[-1] == "WORSE"


def test_diff_stats_fails_only_on_what_the_statistics_show(project: Path) -> None:
    worse = agentv(project, "diff", "a" * 16, "b" * 16, "--stats", "--fail-on-regression", "--json")
    assert worse.returncode == 1
    report = json.loads(worse.stdout)
    assert report["regressed"] is True
    rows = {row["metric"]: row for row in report["stats"]}
    assert rows["accuracy"]["verdict"] == "fail" and rows["accuracy"]["clusters"] == 3
    same = agentv(project, "diff", "a" * 16, "c" * 16, "--stats", "--fail-on-regression")
    assert same.returncode == 0, same.stdout


def test_gate_of_a_stored_run(project: Path) -> None:
    failing = agentv(
        project, "gate", "b" * 16, "--baseline", "a" * 16, "--max-regression", "accuracy=0.05"
    )
    assert failing.returncode == 1
    assert failing.stdout.splitlines()[0] == f"gates of run {'b' * 16}"
    assert failing.stdout.splitlines()[-1] == f"gate verdict against baseline {'a' * 16}: FAIL"
    passing = agentv(project, "gate", "--baseline", "latest~2", "--fail-on-regression", "--json")
    assert passing.returncode == 0, passing.stdout
    report = json.loads(passing.stdout)
    assert (report["run"], report["baseline"], report["verdict"]) == ("c" * 16, "a" * 16, "pass")


def test_gate_reads_the_config_file(project: Path) -> None:
    (project / ".agentv" / "config.yaml").write_text("gates:\n  min_score: {accuracy: 0.9}\n")
    result = agentv(project, "gate", "--json")
    assert result.returncode == 1
    assert json.loads(result.stdout)["rows"][0]["gate"] == "min-score"


def test_gate_without_gates_is_a_usage_error(project: Path) -> None:
    result = agentv(project, "gate")
    assert result.returncode == 2
    assert "no gate to evaluate" in result.stderr


def test_gate_of_a_run_group_takes_its_parts_as_one_run(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    values = scores(0.0)
    half = len(NAMES) // 2
    baseline = stored_run(
        "a" * 16, [scored(n, accuracy=v) for n, v in zip(NAMES, values, strict=True)]
    )
    worse = scores(-0.2)
    parts = [
        stored_run(
            "b" * 16,
            [scored(n, accuracy=v) for n, v in zip(NAMES[:half], worse[:half], strict=True)],
            minute=1,
            run_group="pipeline-7",
        ),
        stored_run(
            "c" * 16,
            [scored(n, accuracy=v) for n, v in zip(NAMES[half:], worse[half:], strict=True)],
            minute=2,
            run_group="pipeline-7",
        ),
    ]
    write_local(tmp_path, [baseline, *parts])
    result = agentv(
        tmp_path,
        "gate",
        "--group",
        "pipeline-7",
        "--baseline",
        "latest",
        "--max-regression",
        "accuracy=0.05",
        "--json",
    )
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["parts"] == ["b" * 16, "c" * 16]
    assert report["baseline"] == "a" * 16  # the group's own parts are never its baseline
    assert report["rows"][0]["tests"] == len(NAMES)
    missing = agentv(tmp_path, "gate", "--group", "nope", "--min-score", "accuracy=0")
    assert missing.returncode == 1
    assert "run group 'nope' has no recorded runs" in missing.stderr


def test_trend_flags_what_degrades(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    runs = [
        stored_run(
            f"{i:016x}",
            [
                scored("evals/test_a.py::test_falls", accuracy=0.9 - 0.05 * i),
                scored("evals/test_a.py::test_flat", accuracy=0.8),
            ],
            minute=i,
        )
        for i in range(6)
    ]
    write_local(tmp_path, runs)
    text = agentv(tmp_path, "trend", "--last", "6")
    assert text.returncode == 0
    falls = next(line for line in text.stdout.splitlines() if "test_falls" in line)
    assert falls.rstrip().endswith("DEGRADING")
    flat = next(line for line in text.stdout.splitlines() if "test_flat" in line)
    assert not flat.rstrip().endswith("DEGRADING")
    failing = agentv(
        tmp_path, "trend", "--fail-on-degrading", "--test", "evals/test_a.py::test_falls", "--json"
    )
    assert failing.returncode == 1
    report = json.loads(failing.stdout)
    assert [t["test"] for t in report["trends"]] == ["evals/test_a.py::test_falls"]
    assert report["trends"][0]["slope"] == pytest.approx(-0.05)
    last3 = json.loads(agentv(tmp_path, "trend", "--last", "3", "--json").stdout)
    assert last3["runs"] == [f"{i:016x}" for i in (3, 4, 5)]


def test_flaky_lists_flippers_first_and_warm_calls_use_the_cache(project: Path) -> None:
    first = agentv(project, "flaky", "--json")
    assert first.returncode == 0
    report = json.loads(first.stdout)
    assert report["tests"][0]["test"] == "evals/test_m1.py::test_case[c4]"
    assert report["tests"][0]["history"] == "PFP" and report["tests"][0]["flipRate"] == 1.0
    assert (project / ".agentv" / "cache" / "points.sqlite3").is_file()
    # a warm call answers from the cache even when a run's files are gone
    for path in (project / ".agentv" / "runs").glob("??/*/metadata.json"):
        path.unlink()
    again = agentv(project, "flaky", "--only-flaky")
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[1].startswith("evals/test_m1.py::test_case[c4]")
    assert again.stdout.splitlines()[-1] == "1 flaky test(s) of 1 over the last 3 run(s)"


@pytest.fixture
def grouped(tmp_path: Path) -> Path:
    """A baseline run, then run group ci-7 in two parts, one of them repeating a test."""
    (tmp_path / ".git").mkdir()
    write_local(
        tmp_path,
        [
            stored_run(
                "a" * 16, [scored("e.py::t1", accuracy=0.9), scored("e.py::t2", accuracy=0.8)]
            ),
            stored_run("b" * 16, [scored("e.py::t1", accuracy=0.5)], minute=1, run_group="ci-7"),
            stored_run(
                "c" * 16,
                [scored("e.py::t1", accuracy=0.7), scored("e.py::t2", "failed", accuracy=0.4)],
                minute=2,
                run_group="ci-7",
            ),
        ],
    )
    return tmp_path


def test_list_show_and_diff_take_a_run_group_as_one_run(grouped: Path) -> None:
    listed = agentv(grouped, "list", "--group", "ci-7", "--json")
    assert [r["summary"]["runId"] for r in json.loads(listed.stdout)] == ["c" * 16, "b" * 16]
    shown = agentv(grouped, "show", "group:ci-7", "--json")
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert report["parts"] == ["b" * 16, "c" * 16]
    assert report["metadata"]["counts"]["total"] == 3
    assert report["metadata"]["scores"]["accuracy"]["mean"] == pytest.approx((0.5 + 0.7 + 0.4) / 3)
    text = agentv(grouped, "show", "group:ci-7")
    assert text.stdout.splitlines()[0] == f"run group ci-7: 2 run(s): {'b' * 16}, {'c' * 16}"
    diff = agentv(grouped, "diff", "a" * 16, "group:ci-7", "--stats", "--json")
    assert diff.returncode == 0, diff.stderr
    rows = {row["metric"]: row for row in json.loads(diff.stdout)["stats"]}
    # t1: 0.9 -> mean(0.5, 0.7) = 0.6; t2: 0.8 -> 0.4
    assert rows["accuracy"]["difference"] == pytest.approx(((0.6 - 0.9) + (0.4 - 0.8)) / 2)
    no_file = agentv(grouped, "show", "group:ci-7", "--transcript")
    assert no_file.returncode == 2
    assert "list --group ci-7" in no_file.stderr


def test_trend_counts_a_run_group_once(grouped: Path) -> None:
    report = json.loads(agentv(grouped, "trend", "--json", "--test", "e.py::t1").stdout)
    assert report["runs"] == ["a" * 16, "group:ci-7"]
    assert [v["value"] for v in report["trends"][0]["values"]] == pytest.approx([0.9, 0.6])

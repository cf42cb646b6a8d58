"""``agentv-results`` against the local backend, run as a subprocess like a user would."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from pytest_agentv.models import TestRecord
from pytest_agentv.serial import sha256
from tests.cli_support import agentv, agentv_bytes, write_local
from tests.runs import BASE_TESTS, EVAL, record
from tests.runs import cli_run as make_run

OLD, MID, NEW = "3f9a2c1b7d4e5f60", "3f9a2c1b00000000", "a0b1c2d3e4f50617"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project with three local runs: OLD (gpt-4o), MID (claude, regressed), NEW (gpt-4o)."""
    (tmp_path / ".git").mkdir()  # marks the project root, as a checkout would
    write_local(
        tmp_path,
        [
            make_run(OLD),
            make_run(
                MID,
                minutes=10,
                model="claude-3",
                tests=[
                    record("test_refund", accuracy=(0.6, 0.7), tone=0.9),
                    record("test_greeting", "failed", accuracy=(0.8, 0.7)),
                    record("test_escalation", "failed", accuracy=(0.4, 0.7)),
                    record("test_new"),
                ],
            ),
            make_run(NEW, minutes=24 * 60, eval_file="tests/evals/test_tools.py"),
        ],
    )
    return tmp_path


def run_dir(project: Path, run_id: str) -> Path:
    return project / ".agentv" / "runs" / run_id[:2] / run_id[2:]


def one_error_line(result: object) -> str:
    stderr = result.stderr  # type: ignore[attr-defined]
    text = stderr.decode() if isinstance(stderr, bytes) else stderr
    lines = text.splitlines()
    assert len(lines) == 1, text
    assert lines[0].startswith("agentv-results: error: ") or lines[0].startswith(
        "agentv-results "
    ), text
    return str(lines[0])


# --- list -----------------------------------------------------------------------------------------


def test_list_shows_runs_newest_first_with_unique_prefixes(project: Path) -> None:
    result = agentv(project, "list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "RUN",
        "TIME",
        "(UTC)",
        "MODEL",
        "EVAL",
        "PASSED",
        "SCORES",
        "SOURCE",
    ]
    # OLD and MID share 8 digits, so both need a ninth; NEW is unique at the minimum of 8
    assert [line.split()[0] for line in lines[1:]] == ["a0b1c2d3", "3f9a2c1b0", "3f9a2c1b7"]
    newest = lines[1].split()
    assert newest[1:4] == ["2024-05-02", "12:00", "gpt-4o"]
    assert "2/4" in newest and "accuracy=0.70" in newest and "1a2b3c4d" in newest
    assert "claude-3" in lines[2] and "2/4" in lines[2]
    assert "unpushed" not in result.stdout


def test_list_filters(project: Path) -> None:
    def ids(*args: str) -> list[str]:
        result = agentv(project, "list", *args)
        assert result.returncode == 0, result.stderr
        return [line.split()[0] for line in result.stdout.splitlines()[1:]]

    assert ids("--model", "claude-3") == ["3f9a2c1b0"]
    assert ids("--model", "gpt-*") == ["a0b1c2d3", "3f9a2c1b7"]
    assert ids("--eval", "tests/evals/test_tools.py") == ["a0b1c2d3"]
    assert ids("--since", "2024-05-01T12:05Z") == ["a0b1c2d3", "3f9a2c1b0"]
    assert ids("--until", "2024-05-01") == ["3f9a2c1b0", "3f9a2c1b7"]
    assert ids("--limit", "1") == ["a0b1c2d3"]
    assert ids("--limit", "0") == ["a0b1c2d3", "3f9a2c1b0", "3f9a2c1b7"]
    none = agentv(project, "list", "--model", "nope")
    assert none.returncode == 0 and none.stdout == ""
    assert "no runs match" in none.stderr


def test_list_json_is_the_stored_summaries(project: Path) -> None:
    result = agentv(project, "list", "--json", "--limit", "2")
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert [item["summary"]["runId"] for item in listed] == [NEW, MID]
    stored = json.loads((run_dir(project, NEW) / "summary.json").read_bytes())
    assert listed[0] == {"summary": stored, "pending": False, "commit": None}


def test_list_empty_store(tmp_path: Path) -> None:
    result = agentv(tmp_path, "list")
    assert result.returncode == 0
    assert result.stdout == ""
    assert "no runs in local directory" in result.stderr
    assert json.loads(agentv(tmp_path, "list", "--json").stdout) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["list", "--limit", "x"], "argument --limit: 'x' is not a whole number"),
        (["list", "--limit", "-1"], "must not be negative"),
        (["list", "--since", "last tuesday"], "is not a time"),
        (["list", "--backend", "s3"], "'s3' is not a backend"),
        (["--branch", "bad..name", "list"], "not a valid git branch name"),
        (["list", "--frobnicate"], "unrecognized arguments: --frobnicate"),
        ([], "choose a command"),
        (["launch"], "invalid choice: 'launch'"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(project: Path, args: list[str], message: str) -> None:
    result = agentv(project, *args)
    assert result.returncode == 2
    assert message in one_error_line(result)
    assert result.stdout == ""


# --- show -----------------------------------------------------------------------------------------


def test_show_prints_metadata_and_per_test_table(project: Path) -> None:
    result = agentv(project, "show", "3f9a2c1b7")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"run     {OLD}" in out
    assert "model   gpt-4o" in out
    assert "source  acme/agent@1a2b3c4d5e6f (main)" in out
    assert "tests   2 passed, 1 failed, 1 skipped (of 4)" in out
    assert "accuracy: mean 0.700 (min 0.4, max 0.9, n=3, 2/3 met threshold)" in out
    table = out[out.index("OUTCOME") :].splitlines()
    assert table[1].split() == [
        "passed",
        f"{EVAL}::test_refund",
        "0.50s",
        "accuracy=0.90",
        "tone=0.80",
    ]
    assert table[3].split() == [
        "failed",
        f"{EVAL}::test_escalation",
        "0.50s",
        "accuracy=0.40(<0.7)",
    ]
    assert "failures" in out and "assert 'no' == 'yes'" in out
    assert "pushed" not in out  # the local backend has nothing to push


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        (OLD, OLD),
        ("3f9a2c1b7", OLD),
        ("A0B1", NEW),
        ("latest", NEW),
        ("latest~1", MID),
        ("latest~2", OLD),
    ],
)
def test_show_accepts_ids_prefixes_and_latest(project: Path, ref: str, expected: str) -> None:
    result = agentv(project, "show", ref, "--json")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["metadata"]["runId"] == expected
    assert shown["summary"]["runId"] == expected
    assert shown["pending"] is False


@pytest.mark.parametrize("name", ["metadata", "summary", "transcript"])
def test_show_file_is_byte_for_byte(project: Path, name: str) -> None:
    filename = {
        "metadata": "metadata.json",
        "summary": "summary.json",
        "transcript": "transcript.jsonl",
    }[name]
    result = agentv_bytes(project, "show", "latest~1", "--file", name)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (run_dir(project, MID) / filename).read_bytes()


def test_show_transcript(project: Path) -> None:
    result = agentv(project, "show", OLD, "--transcript")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        f"== {EVAL}::test_refund\n[0] user: question for test_refund\n"
        "[1] assistant: first line\n    second line\n"
    )
    only = agentv(project, "show", OLD, "--transcript", "--test", f"{EVAL}::test_greeting")
    assert only.stdout.splitlines() == [
        f"== {EVAL}::test_greeting",
        "[2] user: question for test_greeting",
        "[3] assistant: first line",
        "    second line",
    ]
    as_json = json.loads(
        agentv(
            project, "show", OLD, "--transcript", "--json", "--test", f"{EVAL}::test_greeting"
        ).stdout
    )
    assert [event["seq"] for event in as_json] == [2, 3]


def test_show_transcript_unknown_test(project: Path) -> None:
    result = agentv(project, "show", OLD, "--transcript", "--test", "test_greeting")
    assert result.returncode == 1
    assert f"has no test 'test_greeting'; did you mean: {EVAL}::test_greeting" in one_error_line(
        result
    )


@pytest.mark.parametrize(
    ("ref", "code", "message"),
    [
        ("3f9a2c1b", 1, f"run prefix '3f9a2c1b' is ambiguous: {MID}, {OLD}; type more digits"),
        ("ffff", 1, "no run starting with 'ffff' in local directory"),
        ("ffffffffffffffff", 1, "no run ffffffffffffffff in local directory"),
        ("latest~3", 1, "'latest~3': there are fewer than 4 runs"),
        ("not-a-run", 2, "'not-a-run' is not a run reference"),
    ],
)
def test_show_bad_references(project: Path, ref: str, code: int, message: str) -> None:
    result = agentv(project, "show", ref)
    assert result.returncode == code
    assert message in one_error_line(result)


def test_show_test_needs_transcript(project: Path) -> None:
    result = agentv(project, "show", OLD, "--test", "x")
    assert result.returncode == 2
    assert "--test selects transcript messages" in one_error_line(result)


def test_show_damaged_metadata_is_reported_not_a_traceback(project: Path) -> None:
    (run_dir(project, OLD) / "metadata.json").write_text("{not json")
    result = agentv(project, "show", OLD)
    assert result.returncode == 1
    assert "metadata.json cannot be read" in one_error_line(result)
    assert "verify" in result.stderr


# --- diff -----------------------------------------------------------------------------------------


def test_diff_reports_regressions_and_improvements(project: Path) -> None:
    result = agentv(project, "diff", OLD, MID)
    assert result.returncode == 0, result.stderr  # without --fail-on-regression
    out = result.stdout
    assert "Regressions (2)" in out
    assert f"{EVAL}::test_refund: accuracy fell below its threshold 0.7" in out
    assert f"{EVAL}::test_greeting: passed -> failed" in out
    assert f"{EVAL}::test_refund: tone rose by 0.1" in out
    assert "Only in new run (1)" in out and "Only in base run (1)" in out
    assert out.rstrip().endswith("regressed")
    gate = agentv(project, "diff", OLD, MID, "--fail-on-regression")
    assert gate.returncode == 1 and gate.stdout == out


def test_diff_without_regressions_passes_the_gate(project: Path) -> None:
    result = agentv(project, "diff", "latest~2", "latest", "--fail-on-regression")
    assert result.returncode == 0, result.stderr
    assert "no regressions" in result.stdout


def test_diff_json_and_markdown(project: Path) -> None:
    report = json.loads(agentv(project, "diff", OLD, MID, "--json").stdout)
    assert report["base"] == OLD and report["new"] == MID and report["regressed"] is True
    assert report["regressions"] == [f"{EVAL}::test_refund", f"{EVAL}::test_greeting"]
    assert report["added"] == [f"{EVAL}::test_new"]
    assert report["removed"] == [f"{EVAL}::test_later"]
    refund = report["tests"][0]
    assert refund["status"] == "regressed"
    accuracy = refund["scores"][0]
    assert accuracy["metric"] == "accuracy" and accuracy["status"] == "regressed"
    assert accuracy["delta"] == pytest.approx(-0.3)
    markdown = agentv(project, "diff", OLD, MID, "--markdown")
    assert markdown.stdout.startswith(f"### agentv: `{MID}` vs base `{OLD}` — **2 regressed**")
    assert "#### Regressions (2)" in markdown.stdout


def test_diff_tolerance_forgives_small_drops(project: Path) -> None:
    def lowered(test: TestRecord) -> TestRecord:
        scores: dict[str, Any] = {
            m: (s.value - 0.05, s.threshold) if s.threshold is not None else s.value - 0.05
            for m, s in test.scores.items()
        }
        return record(test.nodeid.split("::")[-1], test.outcome, **scores)

    write_local(
        project, [make_run("b000000000000001", minutes=30, tests=[lowered(t) for t in BASE_TESTS])]
    )
    strict = agentv(project, "diff", OLD, "b000", "--fail-on-regression")
    assert strict.returncode == 1
    assert "accuracy dropped by 0.05 (tolerance 0)" in strict.stdout
    lenient = agentv(project, "diff", OLD, "b000", "--fail-on-regression", "--tolerance", "0.1")
    assert lenient.returncode == 0, lenient.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["latest", "latest~9"], 1, "there are fewer than 10 runs"),
        (["latest", "zz"], 2, "'zz' is not a run reference"),
        (["latest", "latest", "--json", "--markdown"], 2, "choose one of --json and --markdown"),
        (["latest", "latest", "--tolerance", "-1"], 2, "must be a number >= 0"),
        (["latest"], 2, "the following arguments are required: NEW"),
    ],
)
def test_diff_errors(project: Path, args: list[str], code: int, message: str) -> None:
    result = agentv(project, "diff", *args)
    assert result.returncode == code
    assert message in one_error_line(result)


# --- verify ---------------------------------------------------------------------------------------


def test_verify_all_ok(project: Path) -> None:
    result = agentv(project, "verify")
    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines()[-1].startswith("verified 3 run(s) in local directory")
    assert "3 ok, 0 with problems" in result.stdout


def test_verify_reports_each_mismatch_precisely(project: Path) -> None:
    transcript = run_dir(project, MID) / "transcript.jsonl"
    recorded = sha256(transcript.read_bytes())
    transcript.write_bytes(transcript.read_bytes() + b'{"tampered": true}\n')
    (run_dir(project, OLD) / "metadata.json").unlink()
    (run_dir(project, NEW) / "notes.txt").write_text("left behind")
    (project / ".agentv" / "runs" / "ab" / ".tmp-cdef-1").mkdir(parents=True)

    result = agentv(project, "verify")
    assert result.returncode == 1
    out = result.stdout
    assert (
        f"FAIL {MID}: transcript.jsonl: SHA-256 is {sha256(transcript.read_bytes())}, "
        f"but summary.json records {recorded}"
    ) in out
    assert f"FAIL {MID}: transcript.jsonl line 9:" in out
    assert f"FAIL {OLD}: metadata.json: missing" in out
    assert f"FAIL {NEW}: notes.txt: unexpected file in the run directory" in out
    assert "store: unexpected entry ab/'.tmp-cdef-1'" in out
    assert out.splitlines()[-1].endswith("0 ok, 3 with problems, 1 store problem(s)")

    one = agentv(project, "verify", "3f9a2c1b0", "--json")
    assert one.returncode == 1
    report = json.loads(one.stdout)
    assert report["ok"] is False and report["checked"] == 1
    assert report["runs"][0]["runId"] == MID
    assert report["storeProblems"] == []


def test_verify_detects_summary_that_disagrees_with_metadata(project: Path) -> None:
    summary_path = run_dir(project, NEW) / "summary.json"
    summary = json.loads(summary_path.read_text())
    summary["counts"]["passed"] = 4
    summary_path.write_text(json.dumps(summary))
    result = agentv(project, "verify", NEW)
    assert result.returncode == 1
    assert f"FAIL {NEW}: summary.json: counts disagrees with metadata.json" in result.stdout


def test_verify_unknown_run(project: Path) -> None:
    result = agentv(project, "verify", "ffff")
    assert result.returncode == 1
    assert "no run starting with 'ffff'" in one_error_line(result)


# --- export ---------------------------------------------------------------------------------------


def test_export_junit(project: Path) -> None:
    result = agentv(project, "export", OLD, "--junit", "out/junit.xml")
    assert result.returncode == 2  # the directory does not exist
    assert "cannot write out/junit.xml" in one_error_line(result)
    result = agentv(project, "export", OLD, "--junit", "junit.xml")
    assert result.returncode == 0, result.stderr
    suite = ET.parse(project / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    assert suite.attrib | {"time": "", "timestamp": ""} == {
        "name": EVAL,
        "tests": "4",
        "failures": "1",
        "errors": "0",
        "skipped": "1",
        "time": "",
        "timestamp": "",
    }
    cases = suite.findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("tests.evals.test_qa", "test_refund"),
        ("tests.evals.test_qa", "test_greeting"),
        ("tests.evals.test_qa", "test_escalation"),
        ("tests.evals.test_qa", "test_later"),
    ]
    props = {p.get("name"): p.get("value") for p in cases[0].iter("property")}
    assert props["score.accuracy"] == "0.9"
    assert props["score.accuracy.threshold"] == "0.7"
    assert props["score.accuracy.passed"] == "true"
    assert props["score.tone"] == "0.8"
    failure = cases[2].find("failure")
    assert failure is not None and failure.get("message") == "AssertionError: answer was wrong"
    assert cases[3].find("skipped") is not None
    suite_props = {p.get("name"): p.get("value") for p in suite.find("properties") or []}
    assert suite_props["agentv.runId"] == OLD


def test_export_json_and_stdout(project: Path) -> None:
    result = agentv(project, "export", "latest", "--json", "run.json", "--junit", "-")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("<?xml")
    document = json.loads((project / "run.json").read_text())
    assert document["summary"]["runId"] == NEW
    assert document["metadata"]["runId"] == NEW
    assert len(document["transcript"]) == 8
    assert "wrote run.json" in result.stderr


def test_export_needs_a_format(project: Path) -> None:
    result = agentv(project, "export", OLD)
    assert result.returncode == 2
    assert "give --junit FILE and/or --json FILE" in one_error_line(result)


# --- sync, settings, help -------------------------------------------------------------------------


def test_sync_on_local_backend_has_nothing_to_do(project: Path) -> None:
    result = agentv(project, "sync")
    assert result.returncode == 0
    assert result.stdout.startswith("nothing to sync: the local backend keeps runs in")
    report = json.loads(agentv(project, "sync", "--json").stdout)
    assert report["pushed"] == [] and report["problems"] == []


def test_settings_are_shared_with_the_plugin(project: Path) -> None:
    # a subdirectory finds the project root; the local directory comes from every source in turn
    sub = project / "src" / "deep"
    sub.mkdir(parents=True)
    assert len(agentv(sub, "list").stdout.splitlines()) == 4
    other = project / "elsewhere"
    write_local(other, [make_run("c000000000000001")])
    elsewhere = str(other / ".agentv" / "runs")
    assert "c0000000" in agentv(sub, "list", "--local-dir", elsewhere).stdout
    assert "c0000000" in agentv(sub, "--local-dir", elsewhere, "list").stdout
    assert "c0000000" in agentv(sub, "list", env={"AGENTV_LOCAL_DIR": elsewhere}).stdout
    (project / ".agentv" / "config.yaml").write_text(
        f"artifacts:\n  local:\n    directory: {elsewhere}\n"
    )
    assert "c0000000" in agentv(sub, "list").stdout
    assert "c0000000" in agentv(project, "--rootdir", str(project), "list").stdout
    only_other = agentv(project, "list", "--rootdir", str(other)).stdout
    assert "c0000000" in only_other and "a0b1c2d3" not in only_other


@pytest.mark.parametrize(
    ("config", "env", "message"),
    [
        ("artifacts: [", {}, "config.yaml:1:13: invalid YAML"),
        ("artifacts:\n  backend: s3\n", {}, "artifacts.backend"),
        ("artifacts:\n  colour: red\n", {}, "unknown field 'artifacts.colour'"),
        ("", {"AGENTV_BACKEND": "s3"}, "environment variable AGENTV_BACKEND: invalid value 's3'"),
    ],
)
def test_configuration_errors_exit_2(
    project: Path, config: str, env: dict[str, str], message: str
) -> None:
    (project / ".agentv" / "config.yaml").write_text(config)
    result = agentv(project, "list", env=env)
    assert result.returncode == 2
    assert message in one_error_line(result)


def test_missing_rootdir(project: Path) -> None:
    result = agentv(project, "list", "--rootdir", "nowhere")
    assert result.returncode == 2
    assert "--rootdir nowhere: not a directory" in one_error_line(result)


def test_version_and_help(project: Path) -> None:
    version = agentv(project, "--version")
    assert version.returncode == 0
    assert version.stdout.startswith("agentv-results (pytest-agentv) ")
    top = agentv(project, "--help").stdout
    assert "exit codes:" in top and "examples:" in top
    for command in ("list", "show", "diff", "sync", "verify", "export"):
        result = agentv(project, command, "--help")
        assert result.returncode == 0
        assert "examples:\n  agentv-results " + command in result.stdout
        assert "--backend BACKEND" in result.stdout and "--no-fetch" in result.stdout


def test_output_closed_early_is_not_an_error(project: Path) -> None:
    import subprocess

    from tests.cli_support import clean_env

    done = subprocess.run(
        "agentv-results show latest --transcript | head -n 1",
        shell=True,
        cwd=project,
        capture_output=True,
        text=True,
        env=clean_env(),
        check=False,
    )
    assert done.stdout == f"== {EVAL}::test_refund\n"
    assert "Traceback" not in done.stderr

"""A session records a run only when it is an eval session or recording was asked for."""

from __future__ import annotations

import subprocess

import pytest

from tests.helpers import load_run, only_run_dir

UNIT_SUITE = "def test_one(): pass\ndef test_two(): assert 1 + 1 == 2\n"


def _agentv_lines(result: pytest.RunResult) -> list[str]:
    return [line for line in result.outlines if line.startswith("agentv")]


@pytest.mark.parametrize("mode", [["-p", "no:xdist"], ["-n0"], ["-n2"]])
def test_a_unit_suite_writes_nothing_and_says_one_line(
    pytester: pytest.Pytester, mode: list[str]
) -> None:
    pytester.makepyfile(test_units=UNIT_SUITE)
    result = pytester.runpytest(*mode)
    result.assert_outcomes(passed=2)
    assert not (pytester.path / ".agentv").exists()
    lines = _agentv_lines(result)
    assert len(lines) == 1, lines
    assert lines[0].endswith("if a test is an eval")


@pytest.mark.parametrize("mode", [["-p", "no:xdist"], ["-n2"]])
@pytest.mark.parametrize(
    "suite",
    [
        "def test_eval(agentv): agentv.score('s', 1)\n",
        "import pytest\n@pytest.mark.agentv\ndef test_marked(): pass\n",
        "def test_run(agentv_run): agentv_run.model = 'm'\n",
        "import pytest\n\n@pytest.fixture(scope='session', autouse=False)\ndef setup(request):\n"
        "    request.getfixturevalue('agentv_run').tags.append('x')\n\n"
        "def test_dynamic(setup): pass\n",
    ],
    ids=["agentv", "marker", "agentv_run", "agentv_run-dynamic"],
)
def test_one_eval_test_records_the_whole_session(
    pytester: pytest.Pytester, suite: str, mode: list[str]
) -> None:
    pytester.makepyfile(test_units=UNIT_SUITE, test_evals=suite)
    pytester.runpytest(*mode).assert_outcomes(passed=3)
    metadata, _, _ = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    assert len(metadata["tests"]) == 3


@pytest.mark.parametrize(
    "how",
    ["flag", "env", "ini", "config-file"],
)
def test_asking_for_recording_records_a_unit_suite(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    pytester.makepyfile(test_units=UNIT_SUITE)
    args = ["-p", "no:xdist"]
    if how == "flag":
        args.append("--agentv-model=m1")
    elif how == "env":
        monkeypatch.setenv("AGENTV_MODEL", "m1")
    elif how == "ini":
        pytester.makeini("[pytest]\nagentv_model = m1\n")
    else:
        (pytester.path / ".agentv").mkdir()
        (pytester.path / ".agentv" / "config.yaml").write_text("artifacts:\n  backend: local\n")
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=2)
    metadata, _, _ = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    assert len(metadata["tests"]) == 2
    assert not _agentv_lines(result)[0].endswith("if a test is an eval")


def test_agentv_record_false_in_ini_records_nothing(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nagentv_record = false\n")
    pytester.makepyfile("def test_eval(agentv): agentv.score('s', 1)\n")
    pytester.runpytest("-p", "no:xdist").assert_outcomes(passed=1)
    assert not (pytester.path / ".agentv" / "runs").exists()


def test_ini_help_of_agentv_record_says_what_true_means(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    text = " ".join(" ".join(result.outlines).split())
    assert "agentv_record (string): true: record every session" in text


def test_agentv_dir_ignores_what_it_generates(pytester: pytest.Pytester) -> None:
    subprocess.run(["git", "init", "-q", str(pytester.path)], check=True)
    pytester.makepyfile(test_evals="def test_eval(agentv): agentv.score('s', 1)\n")
    (pytester.path / ".agentv").mkdir()
    (pytester.path / ".agentv" / "config.yaml").write_text("artifacts:\n  backend: local\n")
    pytester.runpytest("-p", "no:xdist").assert_outcomes(passed=1)
    assert (pytester.path / ".agentv" / ".gitignore").is_file()
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    untracked = sorted(line[3:] for line in status.splitlines())
    assert ".agentv/config.yaml" in untracked
    assert not [path for path in untracked if path.startswith(".agentv/runs")], untracked


def test_a_users_own_gitignore_is_kept(pytester: pytest.Pytester) -> None:
    (pytester.path / ".agentv").mkdir()
    (pytester.path / ".agentv" / ".gitignore").write_text("# mine\n")
    pytester.makepyfile("def test_eval(agentv): pass\n")
    pytester.runpytest("-p", "no:xdist").assert_outcomes(passed=1)
    assert (pytester.path / ".agentv" / ".gitignore").read_text() == "# mine\n"

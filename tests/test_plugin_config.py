"""Settings as a user meets them in a real pytest session (pytester)."""

from __future__ import annotations

import pytest

from tests.helpers import load_run, only_run_dir

SUITE = "def test_one(agentv):\n    agentv.score('s', 1)\n"


def run_model(pytester: pytest.Pytester, *args: str) -> str | None:
    pytester.makepyfile(SUITE)
    pytester.runpytest("-p", "no:xdist", *args).assert_outcomes(passed=1)
    metadata, _, _ = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    model: str | None = metadata["model"]
    return model


def test_each_source_of_model_beats_the_next(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini("[pytest]\nagentv_model = from-ini\n")
    assert run_model(pytester) == "from-ini"
    monkeypatch.setenv("AGENTV_MODEL", "from-env")
    for path in (pytester.path / ".agentv").glob("runs/*"):
        import shutil

        shutil.rmtree(path)
    assert run_model(pytester) == "from-env"


def test_command_line_beats_environment(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTV_MODEL", "from-env")
    model = run_model(pytester, "--agentv-model", "from-cli", "--agentv-eval", "suite-a")
    assert model == "from-cli"
    metadata, _, _ = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    assert metadata["evalFile"] == "suite-a"


def test_pyproject_ini_and_config_file_local_dir(pytester: pytest.Pytester) -> None:
    config = "artifacts:\n  local:\n    directory: yaml-runs\n"
    pytester.makefile(".yaml", **{".agentv/config": config})
    pytester.makepyfile(SUITE)
    pytester.runpytest("-p", "no:xdist").assert_outcomes(passed=1)
    only_run_dir(pytester.path / "yaml-runs")
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\nagentv_local_dir = "ini-runs"\n')
    pytester.runpytest("-p", "no:xdist").assert_outcomes(passed=1)
    only_run_dir(pytester.path / "ini-runs")


def test_config_error_is_a_usage_error_naming_the_file(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", **{".agentv/config": "artifacts:\n  backend: s3\n"})
    pytester.makepyfile(SUITE)
    result = pytester.runpytest("-p", "no:xdist")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*pytest-agentv: *config.yaml: artifacts.backend: Input should be 'local' or 'git'*"]
    )
    assert not (pytester.path / ".agentv" / "runs").exists()


def test_bad_option_value_is_an_argparse_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SUITE)
    result = pytester.runpytest("-p", "no:xdist", "--agentv-branch", "bad branch")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--agentv-branch: 'bad branch' is not a valid git branch name*"])


def test_bad_environment_value_is_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTV_BACKEND", "s3")
    pytester.makepyfile(SUITE)
    result = pytester.runpytest("-p", "no:xdist")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*environment variable AGENTV_BACKEND: invalid value 's3'*"])


def test_no_record_runs_evals_and_writes_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SUITE)
    result = pytester.runpytest("-p", "no:xdist", "--agentv-no-record")
    result.assert_outcomes(passed=1)
    assert not (pytester.path / ".agentv").exists()
    assert "agentv: run" not in result.stdout.str()


def test_plugin_can_be_disabled_entirely(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_one():\n    pass\n")
    result = pytester.runpytest("-p", "no:xdist", "-p", "no:agentv")
    result.assert_outcomes(passed=1)
    assert not (pytester.path / ".agentv").exists()
    assert "agentv" not in result.stdout.str()
    pytester.makepyfile("def test_one(agentv):\n    pass\n")
    pytester.runpytest("-p", "no:xdist", "-p", "no:agentv").assert_outcomes(errors=1)


def test_collect_only_records_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SUITE)
    pytester.runpytest("-p", "no:xdist", "--collect-only")
    assert not (pytester.path / ".agentv").exists()


def test_report_header_says_where_the_run_goes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SUITE)
    result = pytester.runpytest("-p", "no:xdist", "--agentv-backend", "local")
    result.stdout.fnmatch_lines(["agentv: run * -> local directory *.agentv*runs"])


def test_help_lists_the_options(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        [
            "*record eval runs (pytest-agentv)*",
            "*--agentv-git*",
            "*--agentv-no-record*",
            "*agentv_backend*",
        ]
    )


def test_a_path_option_given_as_two_words_is_warned_about(
    pytester: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(SUITE)
    result = pytester.runpytest(
        "-p",
        "no:xdist",
        "--agentv-local-dir",
        str(elsewhere),
        "-W",
        "default::pytest_agentv.AgentvWarning",
    )
    result.stdout.fnmatch_lines(["*AgentvWarning: pytest-agentv: write --agentv-local-dir=PATH*"])
    # the '=' form is one word: no warning
    result = pytester.runpytest(
        "-p",
        "no:xdist",
        f"--agentv-local-dir={elsewhere}",
        "-W",
        "default::pytest_agentv.AgentvWarning",
    )
    assert "AgentvWarning" not in result.stdout.str()

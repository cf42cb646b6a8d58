"""Settings resolution: each source beats the next, and every bad value is named (unit level)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from pytest_agentv.settings import (
    DEFAULT_BRANCH,
    OPTIONS,
    SettingsError,
    argparse_type,
    check_branch,
    check_repo_path,
    resolve_settings,
)

CONFIG = """
artifacts:
  backend: git
  git:
    remote: from-file
    branch: file/branch
    path: file/path
  local:
    directory: file-runs
"""


def write_config(root: Path, text: str) -> Path:
    path = root / ".agentv" / "config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults(tmp_path: Path) -> None:
    settings = resolve_settings(tmp_path)
    assert settings.backend == "local"
    assert settings.remote is None
    assert settings.branch == DEFAULT_BRANCH
    assert settings.path == ""
    assert settings.local_dir == tmp_path / ".agentv" / "runs"
    assert settings.record is True
    assert settings.strict is False
    assert settings.config_file is None
    assert set(settings.sources.values()) == {"default"}


def test_config_file_beats_defaults(tmp_path: Path) -> None:
    write_config(tmp_path, CONFIG)
    settings = resolve_settings(tmp_path)
    assert (settings.backend, settings.remote, settings.branch, settings.path) == (
        "git",
        "from-file",
        "file/branch",
        "file/path",
    )
    assert settings.local_dir == tmp_path / "file-runs"
    assert settings.sources["branch"] == str(tmp_path / ".agentv" / "config.yaml")


@pytest.mark.parametrize(
    ("higher", "winner"),
    [
        ({"ini": {"agentv_branch": "ini/branch"}}, "ini/branch"),
        (
            {"ini": {"agentv_branch": "ini/branch"}, "env": {"AGENTV_BRANCH": "env/branch"}},
            "env/branch",
        ),
        (
            {
                "ini": {"agentv_branch": "ini/branch"},
                "env": {"AGENTV_BRANCH": "env/branch"},
                "cli": {"branch": "cli/branch"},
            },
            "cli/branch",
        ),
    ],
)
def test_each_source_beats_the_next(
    tmp_path: Path, higher: dict[str, dict[str, str]], winner: str
) -> None:
    write_config(tmp_path, CONFIG)
    settings = resolve_settings(tmp_path, **higher)  # type: ignore[arg-type]
    assert settings.branch == winner
    # untouched keys still come from the file
    assert settings.remote == "from-file"


def test_empty_values_do_not_override(tmp_path: Path) -> None:
    write_config(tmp_path, CONFIG)
    settings = resolve_settings(tmp_path, env={"AGENTV_BRANCH": ""}, ini={"agentv_branch": ""})
    assert settings.branch == "file/branch"


def test_booleans_from_env_and_cli(tmp_path: Path) -> None:
    assert resolve_settings(tmp_path, env={"AGENTV_STRICT": "yes"}).strict is True
    assert resolve_settings(tmp_path, env={"AGENTV_RECORD": "0"}).record is False
    settings = resolve_settings(tmp_path, cli={"record": False}, env={"AGENTV_RECORD": "1"})
    assert settings.record is False


def test_every_option_has_all_its_names() -> None:
    for spec in OPTIONS:
        assert spec.flag.startswith("--agentv-")
        assert spec.env.startswith("AGENTV_")
        assert spec.ini.startswith("agentv_")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"env": {"AGENTV_BACKEND": "s3"}},
            "environment variable AGENTV_BACKEND: invalid value 's3' for backend: 's3' is not a "
            "backend; choose one of: local, git",
        ),
        (
            {"env": {"AGENTV_STRICT": "maybe"}},
            "environment variable AGENTV_STRICT: invalid value 'maybe' for strict: "
            "'maybe' is not a boolean",
        ),
        (
            {"ini": {"agentv_branch": "bad branch"}},
            "ini option agentv_branch: invalid value 'bad branch' for branch: "
            "'bad branch' is not a valid git branch name",
        ),
        (
            {"env": {"AGENTV_PATH": "../outside"}},
            "environment variable AGENTV_PATH: invalid value '../outside' for path",
        ),
    ],
)
def test_bad_values_name_their_source(
    tmp_path: Path, kwargs: dict[str, dict[str, str]], message: str
) -> None:
    with pytest.raises(SettingsError) as info:
        resolve_settings(tmp_path, **kwargs)  # type: ignore[arg-type]
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("artifacts:\n  backend: git: local\n", "config.yaml:2:"),
        (
            "artifacts:\n  backend: s3\n",
            "artifacts.backend: Input should be 'local' or 'git' (got 's3')",
        ),
        (
            "artifacts:\n  bakend: git\n",
            "unknown field 'artifacts.bakend'; allowed here: backend, strict, git, local",
        ),
        (
            "artifact:\n  backend: git\n",
            "unknown field 'artifact'; allowed here: artifacts, redaction, gates, releases",
        ),
        (
            "artifacts:\n  git:\n    branch: 'two words'\n",
            "artifacts.git.branch: 'two words' is not a valid git branch name",
        ),
        ("artifacts:\n  git:\n    path: /abs/../x\n", "artifacts.git.path:"),
        (
            "artifacts:\n  git:\n    remote: 42\n",
            "artifacts.git.remote: Input should be a valid string (got 42)",
        ),
        ("artifacts:\n  strict: sometimes\n", "artifacts.strict: Input should be a valid boolean"),
        ("- just\n- a list\n", "expected a mapping at the top level"),
        ("redaction:\n  enabled: nope\n", "redaction.enabled: Input should be a valid boolean"),
        (
            "redaction:\n  patterns:\n    - name: ticket\n      regex: 'T-[0-9'\n",
            "redaction.patterns.0.regex: redaction.patterns[ticket]: invalid regex 'T-[0-9'",
        ),
        ("redaction:\n  patterns:\n    - regex: x\n", "redaction.patterns.0.name: Field required"),
    ],
)
def test_config_file_errors_name_file_field_and_value(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write_config(tmp_path, text)
    with pytest.raises(SettingsError) as info:
        resolve_settings(tmp_path)
    assert str(path) in str(info.value)
    assert message in str(info.value)


def test_empty_config_file_is_all_defaults(tmp_path: Path) -> None:
    write_config(tmp_path, "")
    assert resolve_settings(tmp_path).backend == "local"


@pytest.mark.parametrize("name", ["agentv/checkpoints/v1", "runs", "a-b_c.d/e"])
def test_valid_branch_names(name: str) -> None:
    assert check_branch(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "-x",
        "/x",
        "x/",
        "a..b",
        "a b",
        "a~b",
        "a^b",
        "a:b",
        "x.lock",
        "a//b",
        "a/.b",
        "a@{b",
        "@",
    ],
)
def test_invalid_branch_names(name: str) -> None:
    with pytest.raises(ValueError, match="not a valid git branch name"):
        check_branch(name)


def test_repo_path_is_normalised() -> None:
    assert check_repo_path("/evals/runs/") == "evals/runs"
    assert check_repo_path(".") == ""
    for bad in ("a/../b", ".git/x", "a//b"):
        with pytest.raises(ValueError):
            check_repo_path(bad)


def test_argparse_type_raises_argument_type_error() -> None:
    convert = argparse_type(check_branch)
    with pytest.raises(argparse.ArgumentTypeError, match="not a valid git branch name"):
        convert("a b")
    assert convert("ok") == "ok"

"""agentv-release on a real bare remote: JSON output, exit statuses, errors, settings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_agentv.releases.commands import main
from pytest_agentv.settings import resolve_settings
from tests.git_fixtures import git, init_bare
from tests.release_helpers import DRAFT_YAML

SLUG = "support-agent"


@pytest.fixture
def project(tmp_path: Path, git_env: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    remote = init_bare(tmp_path / "state.git")
    (root / ".agentv").mkdir()
    (root / ".agentv" / "config.yaml").write_text(f'releases:\n  remote: "{remote}"\n')
    (root / "draft.yaml").write_text(DRAFT_YAML)
    return root


def _run(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> tuple[int, Any, str]:
    capsys.readouterr()
    code = main([*args, "--rootdir", str(root), "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None, err


def test_every_command_speaks_json(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, created, _ = _run(
        capsys, project, "create", str(project / "draft.yaml"), "--author", "Ada"
    )
    assert code == 0
    assert created["event"] == "ReleaseCreated"
    assert created["checksum"].startswith("sha256:")
    assert created["pushed"] is True
    code, agents, _ = _run(capsys, project, "list")
    assert agents == [
        {"agent": SLUG, "versions": 1, "latest": 1, "current": None, "current_status": None}
    ]
    code, versions, _ = _run(capsys, project, "list", SLUG)
    assert [(v["version"], v["status"], v["author"]) for v in versions] == [
        (1, "pending_eval", "Ada")
    ]
    code, shown, _ = _run(capsys, project, "show", SLUG, "1")
    assert shown["metadata"]["checksum"] == created["checksum"]
    assert shown["apiVersion"] == "agents.recif.dev/v1"
    code, history, _ = _run(capsys, project, "history", SLUG)
    assert [e["event"] for e in history] == ["ReleaseCreated"]
    assert history[0]["commit"] == created["commit"]
    code, changes, _ = _run(capsys, project, "diff", SLUG, "1", "1")
    assert (code, changes) == (0, [])
    code, verified, _ = _run(capsys, project, "verify")
    assert (code, verified["ok"]) == (0, True)


def test_text_output_of_show_is_the_stored_file(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["create", str(project / "draft.yaml"), "--rootdir", str(project)]) == 0
    capsys.readouterr()
    assert main(["show", SLUG, "1", "--rootdir", str(project)]) == 0
    out = capsys.readouterr().out
    remote = project.parent / "state.git"
    stored = git("show", f"agentv/releases/v1:agents/{SLUG}/releases/v1.yaml", cwd=remote)
    assert out.rstrip("\n") == stored


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metadata: {name: x}\nruntime: {image: a, gpu: 1}\n", "runtime.gpu: 1: unknown field"),
        ("not: [closed\n", "invalid YAML"),
        (
            DRAFT_YAML.replace("min_quality_score: 75", "min_quality_score: 150"),
            "less than or equal to 100",
        ),
        (DRAFT_YAML.replace("name: support-agent", "name: Support"), "must be a DNS-1123 label"),
    ],
)
def test_a_bad_artifact_exits_2_and_commits_nothing(
    project: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    bad = project / "bad.yaml"
    bad.write_text(text)
    code, out, err = _run(capsys, project, "create", str(bad))
    assert (code, out) == (2, None)
    assert err.startswith(f"agentv-release: error: {bad}: ")
    assert expected in err
    assert git("for-each-ref", cwd=project.parent / "state.git") == ""


def test_refusals_exit_1(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, project, "create", str(project / "draft.yaml"))[0] == 0
    code, _, err = _run(capsys, project, "show", SLUG, "7")
    assert code == 1
    assert "support-agent has no release v7 (releases: v1)" in err
    code, _, err = _run(capsys, project, "deploy", SLUG, "1")
    assert code == 1
    assert "it is pending_eval, it has not been evaluated yet" in err
    code, _, err = _run(capsys, project, "create", str(project / "missing.yaml"))
    assert code == 2
    assert "cannot read" in err


def test_releases_settings_follow_the_precedence(project: Path) -> None:
    settings = resolve_settings(project)
    assert settings.releases_remote == str(project.parent / "state.git")
    assert settings.sources["releases_remote"] == str(project / ".agentv" / "config.yaml")
    settings = resolve_settings(project, env={"AGENTV_RELEASES_REMOTE": "env-remote"})
    assert settings.releases_remote == "env-remote"
    settings = resolve_settings(
        project,
        cli={"releases_remote": "cli-remote"},
        env={"AGENTV_RELEASES_REMOTE": "env-remote"},
        ini={"agentv_releases_remote": "ini-remote"},
    )
    assert settings.releases_remote == "cli-remote"
    assert (
        resolve_settings(project, ini={"agentv_releases_branch": "main"}).releases_branch == "main"
    )
    assert resolve_settings(project).releases_branch == "agentv/releases/v1"


def test_the_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("agentv-release")
    completed = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=True)
    for name in ("create", "list", "show", "history", "diff", "deploy", "delete", "verify"):
        assert name in completed.stdout
    completed = subprocess.run([str(script)], capture_output=True, text=True)
    assert completed.returncode == 2
    assert (
        "choose a command: create, list, show, history, diff, deploy, delete, verify"
        in completed.stderr
    )


def test_a_new_releases_branch_says_it_holds_releases(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its root commit and README spoke of eval runs (the runs branch's words) before."""
    code, _created, _ = _run(capsys, project, "create", str(project / "draft.yaml"))
    assert code == 0
    remote = tmp_path / "state.git"
    branch = "agentv/releases/v1"
    root = git("rev-list", "--max-parents=0", branch, cwd=remote)
    assert git("log", "-1", "--format=%s", root, cwd=remote) == "AgentV releases branch"
    readme = git("show", f"{root}:README.md", cwd=remote)
    assert readme.startswith("# pytest-agentv agent releases")
    assert "agents/<slug>/" in readme and "eval run" not in readme
    # the same bytes everywhere: a second machine creating the branch makes the same root
    other = tmp_path / "other"
    other.mkdir()
    (other / "draft.yaml").write_text(DRAFT_YAML.replace("support-agent", "billing-agent"))
    fresh = init_bare(tmp_path / "other-state.git")
    code = main(
        ["create", str(other / "draft.yaml"), "--remote", str(fresh), "--rootdir", str(other)]
    )
    assert code == 0
    assert git("rev-list", "--max-parents=0", branch, cwd=fresh) == root

"""A kept run remembers its destination; the CLI reads pytest's ini (real git, real sessions)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.cli_support import agentv

EVAL = "def test_eval(agentv):\n    agentv.score('s', 1)\n"


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout


def run_id_of(result: pytest.RunResult) -> str:
    line = next(line for line in result.outlines if line.startswith("agentv: run ") and "(" in line)
    return line.split()[2]


def branch_runs(repo: Path, branch: str = "agentv/checkpoints/v1") -> list[str]:
    out = git("log", "--format=%(trailers:key=AgentV-Run,valueonly)", branch, cwd=repo)
    return out.split()


@pytest.fixture
def project(pytester: pytest.Pytester) -> Path:
    root = pytester.path
    git("init", "-q", "-b", "main", cwd=root)
    git(
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "0",
        cwd=root,
    )
    pytester.makepyfile(test_evals=EVAL)
    return root


def test_a_kept_local_run_is_not_committed_by_the_git_backend(
    pytester: pytest.Pytester, project: Path
) -> None:
    blocked = project / "runs-dir"
    blocked.write_text("a file where the runs directory should be")
    kept = pytester.runpytest("-p", "no:xdist", f"--agentv-local-dir={blocked}", "-W", "ignore")
    kept_id = run_id_of(kept)
    kept.stdout.fnmatch_lines(["*NOT delivered, kept in*"])
    destination = json.loads(
        (project / ".agentv" / "spool" / kept_id / "destination.json").read_text()
    )
    assert destination == {"backend": "local", "directory": str(blocked), "schemaVersion": 1}

    other = pytester.runpytest("-p", "no:xdist", "--agentv-git")
    other_id = run_id_of(other)
    # the git run went to the branch alone: the local run was going elsewhere
    assert branch_runs(project) == [other_id]
    assert (project / ".agentv" / "spool" / kept_id).is_dir()

    # sync with no flags delivers it where it was going, once that works
    blocked.unlink()
    result = agentv(project, "sync", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert kept_id in report["pushed"]
    assert (blocked / kept_id[:2] / kept_id[2:] / "summary.json").is_file()
    assert not (project / ".agentv" / "spool" / kept_id).exists()
    assert branch_runs(project) == [other_id]


def test_a_run_kept_for_a_remote_is_pushed_there_by_sync(
    pytester: pytest.Pytester, project: Path, tmp_path: Path
) -> None:
    remote = tmp_path / "later.git"  # does not exist yet: delivery fails, the run is kept
    kept = pytester.runpytest("-p", "no:xdist", f"--agentv-remote={remote}", "-W", "ignore")
    kept_id = run_id_of(kept)
    kept.stdout.fnmatch_lines(["*NOT delivered*"])

    # a local-backend session does not take it
    pytester.runpytest("-p", "no:xdist", "--agentv-model=m")
    markers = list((project / ".agentv" / "spool" / "unpushed").glob("*.json"))
    assert [json.loads(m.read_text())["remote"] for m in markers] == [str(remote)]

    git("init", "-q", "--bare", str(remote), cwd=tmp_path)
    result = agentv(project, "sync")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"pushed   {kept_id}" in result.stdout
    assert branch_runs(remote) == [kept_id]
    assert not list((project / ".agentv" / "spool" / "unpushed").glob("*.json"))
    # and never to the source repository's own branch
    assert (
        subprocess.run(
            ["git", "rev-parse", "--verify", "-q", "agentv/checkpoints/v1"], cwd=project
        ).returncode
        != 0
    )


def test_sync_of_the_local_backend_names_no_push(project: Path) -> None:
    result = agentv(project, "sync")
    assert result.returncode == 0, result.stderr
    assert "pushed " not in result.stdout


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("pytest.ini", "[pytest]\nagentv_local_dir = custom-runs\n"),
        ("pyproject.toml", "[tool.pytest.ini_options]\nagentv_local_dir = 'custom-runs'\n"),
        ("tox.ini", "[pytest]\nagentv_local_dir = custom-runs\n"),
        ("setup.cfg", "[tool:pytest]\nagentv_local_dir = custom-runs\n"),
    ],
)
def test_the_cli_reads_the_ini_file_pytest_reads(
    pytester: pytest.Pytester, project: Path, name: str, text: str
) -> None:
    (project / name).write_text(text)
    result = pytester.runpytest("-p", "no:xdist")
    run_id = run_id_of(result)
    assert (project / "custom-runs" / run_id[:2] / run_id[2:]).is_dir()
    sub = project / "sub"
    sub.mkdir()
    listed = agentv(sub, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert run_id in listed.stdout

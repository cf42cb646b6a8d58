"""Smaller defects: the global git identity outside a repository; verify names the field."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.cli_support import agentv


def test_runs_committed_outside_a_repository_carry_the_global_identity(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = Ada Lovelace\n\temail = ada@example.org\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    pytester.makepyfile("def test_eval(agentv):\n    agentv.score('s', 1)\n")
    pytester.runpytest("-p", "no:xdist", "--agentv-git").assert_outcomes(passed=1)
    repo = pytester.path / ".agentv" / "cache" / "local.git"
    author = subprocess.run(
        ["git", "-C", str(repo), "log", "-1", "--format=%an <%ae>", "agentv/checkpoints/v1"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert author == "Ada Lovelace <ada@example.org>"


def test_verify_names_the_field_of_a_bad_transcript_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_eval(agentv):\n    agentv.message('user', 'hi')\n")
    pytester.runpytest("-p", "no:xdist").assert_outcomes(passed=1)
    (transcript,) = pytester.path.glob(".agentv/runs/*/*/transcript.jsonl")
    event = json.loads(transcript.read_text())
    del event["role"]
    transcript.write_text(json.dumps(event) + "\n")
    result = agentv(pytester.path, "verify", "latest")
    assert "transcript.jsonl line 1: role: Field required" in result.stdout + result.stderr

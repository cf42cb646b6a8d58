"""Credentials in remote URLs appear nowhere: not in output, not in .agentv/ or .git/ files."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_support import agentv, clean_env
from tests.git_fixtures import HttpGitServer

TOKEN = "ghp_Zq8UrlTokenAsUser7Hk2Lm9Np4Rs6Tv1Wx3Yz5"
PASSWORD = "pw-9c1e7f3a-only-in-the-url"


@pytest.fixture
def token_server(tmp_path: Path, git_env: Path) -> Iterator[HttpGitServer]:
    root = tmp_path / "http-token"
    root.mkdir()
    server = HttpGitServer(root, users={TOKEN: "", "agent": PASSWORD})
    yield server
    server.stop()


def _everything_written(root: Path) -> Iterator[tuple[Path, bytes]]:
    for path in root.rglob("*"):
        if path.is_file() and (".agentv" in path.parts or ".git" in path.parts):
            yield path, path.read_bytes()


@pytest.mark.parametrize("who", ["token-as-user", "user-and-password"])
def test_no_url_credential_in_output_or_files(
    source_repo: Path, token_server: HttpGitServer, git_env: Path, who: str
) -> None:
    token_server.new_remote()
    if who == "token-as-user":
        url, secret = token_server.url(user=TOKEN, password=None), TOKEN
        url = url.replace(f"{TOKEN}:None@", f"{TOKEN}@")
    else:
        url, secret = token_server.url(user="agent", password=PASSWORD), PASSWORD
    (source_repo / "test_evals.py").write_text("def test_one(agentv):\n    agentv.score('s', 1)\n")
    session = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:xdist", "-p", "no:cacheprovider",
         "--agentv-git", f"--agentv-remote={url}", "test_evals.py", "-v"],
        cwd=source_repo, capture_output=True, text=True, env=clean_env(), timeout=120, check=False,
    )  # fmt: skip
    assert session.returncode == 0, session.stdout + session.stderr
    assert "agentv: run" in session.stdout and "***@" in session.stdout
    outputs = [session.stdout, session.stderr]
    for command in (
        ("sync", "--backend", "git", "--remote", url),
        ("sync", "--backend", "git", "--remote", url, "--json"),
        ("list", "--backend", "git", "--remote", url),
        ("list", "--backend", "git", "--remote", url, "--json"),
    ):
        result = agentv(source_repo, *command)
        assert result.returncode == 0, result.stderr
        outputs += [result.stdout, result.stderr]

    for text in outputs:
        assert secret not in text
    leaked = [
        str(path) for path, data in _everything_written(source_repo) if secret.encode() in data
    ]
    assert leaked == []
    indexes = list((source_repo / ".agentv" / "cache").glob("runs-*.sqlite3"))
    assert indexes  # the index was written, and it holds no credential (checked above)

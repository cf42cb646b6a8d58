"""Git history is forever: secrets planted everywhere a session writes reach no git object."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.git_fixtures import HttpGitServer, git

# Format-valid but fake: assembled at run time so no secret-shaped literal sits in the repo.
ANTHROPIC_KEY = "sk-ant-api03-" + "Q7x" * 30 + "AA"
GITHUB_TOKEN = "ghp_" + "R2d2C3po" * 4 + "Zz9Y"
# (not AWS's documented EXAMPLEKEY, which the redactor rightly leaves alone as a placeholder)
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYzq8vT3kLm2"
PRIVATE_KEY_BODY = "MIIEowIBAAKCAQEA" + "q1w2e3r4t5y6" * 8
PEM = "-----BEGIN RSA PRIVATE KEY-----\n" + PRIVATE_KEY_BODY + "\n-----END RSA PRIVATE KEY-----"
REMOTE_PASSWORD = "s3cret-pass"  # the http_auth_remote fixture's password

SUITE = f'''
import pytest

@pytest.fixture(scope="session", autouse=True)
def _run(agentv_run):
    agentv_run.metadata["deploy"] = {{"token": "{GITHUB_TOKEN}"}}

def test_agent_leaks(agentv):
    agentv.message("user", "use key {ANTHROPIC_KEY} please")
    command = "export AWS_SECRET_ACCESS_KEY={AWS_SECRET}"
    agentv.message("assistant", [{{"type": "tool_use", "id": "call_1", "name": "shell",
                                   "input": {{"cmd": command}}}}])
    agentv.message("tool", {{"stdout": """{PEM}"""}}, tool_call_id="call_1")
    agentv.metadata["headers"] = {{"Authorization": "Bearer {GITHUB_TOKEN}"}}
    agentv.score("safe", 0, reason="echoed {ANTHROPIC_KEY}")
    assert "token {GITHUB_TOKEN}" == "redacted"
'''

SECRETS = {
    "anthropic key": ANTHROPIC_KEY,
    "github token": GITHUB_TOKEN,
    "aws secret": AWS_SECRET,
    "private key body": PRIVATE_KEY_BODY,
    "remote password": REMOTE_PASSWORD,
}


def all_objects(repo: Path) -> bytes:
    """Every object of a repository, loose and packed, as `git cat-file --batch` prints them."""
    done = subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch"],
        cwd=repo,
        capture_output=True,
        check=True,
    )
    return done.stdout


def branch_objects(repo: Path, branch: str) -> bytes:
    """Every object reachable from ``branch``, as `git cat-file --batch` prints them."""
    ids = git("rev-list", "--objects", branch, cwd=repo).splitlines()
    request = "".join(f"{line.split()[0]}\n" for line in ids).encode()
    done = subprocess.run(
        ["git", "cat-file", "--batch"], cwd=repo, capture_output=True, check=True, input=request
    )
    return done.stdout


def test_no_planted_secret_reaches_any_git_object(
    pytester: pytest.Pytester, git_env: Path, http_auth_remote: HttpGitServer
) -> None:
    pytester.makepyfile(test_leaky=SUITE)
    root = pytester.path
    git("init", "--quiet", "--initial-branch=main", cwd=root)
    git("add", "test_leaky.py", cwd=root)
    git(
        "-c",
        "user.name=A",
        "-c",
        "user.email=a@example.com",
        "commit",
        "--quiet",
        "-m",
        "suite",
        cwd=root,
    )
    http_auth_remote.new_remote()
    url = http_auth_remote.url()  # http://agent:s3cret-pass@127.0.0.1:<port>/runs.git
    assert REMOTE_PASSWORD in url
    git("remote", "add", "origin", url, cwd=root)

    result = pytester.runpytest(
        "-p",
        "no:xdist",
        "--agentv-git",
        "--agentv-remote",
        "origin",
        f"--agentv-eval=leaky {ANTHROPIC_KEY}",
    )

    result.assert_outcomes(failed=1)
    # pytest's own traceback shows the test's source; what the plugin prints is ours to keep clean
    ours = "\n".join(line for line in result.outlines if line.startswith("agentv:"))
    assert "agentv: run" in ours
    remote = http_auth_remote.path()
    assert git("rev-list", "--count", "agentv/checkpoints/v1", cwd=remote) == "2"
    remote_objects = all_objects(remote)
    assert b"[REDACTED:" in remote_objects
    # the source repository holds the branch's objects too (remote given by name); its own
    # history holds the suite above, secrets and all, which is the user's commit, not ours
    local_objects = branch_objects(root, "agentv/checkpoints/v1")
    assert ANTHROPIC_KEY.encode() in all_objects(root / ".git")
    for what, secret in SECRETS.items():
        if what != "remote password":  # the user's own .git/config holds it, not our objects
            assert secret.encode() not in local_objects, f"{what} in the source repository"
        assert secret.encode() not in remote_objects, f"{what} in the remote"
        assert secret not in ours, f"{what} in the plugin's terminal lines"

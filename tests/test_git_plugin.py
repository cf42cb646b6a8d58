"""End to end: ``pytest --agentv-git`` records the session's run on a branch and pushes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.git_fixtures import GitDaemon, HttpGitServer, git
from tests.helpers import BRANCH

SUITE = "def test_one(agentv):\n    agentv.score('accuracy', 0.5)\n\ndef test_two():\n    pass\n"
SHOW_WARNING = ("-W", "default::pytest_agentv.AgentvDeliveryWarning")


@pytest.fixture
def project(pytester: pytest.Pytester, git_env: Path) -> pytest.Pytester:
    """A pytester project that is a git repository with its suite committed."""
    pytester.makepyfile(test_evals=SUITE)
    root = pytester.path
    git("init", "--quiet", "--initial-branch=main", cwd=root)
    git("config", "user.name", "Eval Author", cwd=root)
    git("config", "user.email", "author@example.com", cwd=root)
    git("add", "test_evals.py", cwd=root)
    git("commit", "--quiet", "-m", "suite", cwd=root)
    return pytester


def test_without_a_remote_the_run_goes_to_the_local_branch(project: pytest.Pytester) -> None:
    root = project.path
    status = git("status", "--porcelain", "--untracked-files=all", cwd=root)
    index = (root / ".git" / "index").read_bytes()

    result = project.runpytest("-p", "no:xdist", "--agentv-git")

    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "agentv: run * (2 tests) written to branch agentv/checkpoints/v1 of the source*",
            "agentv: no remote configured*",
        ]
    )
    trailers = git("log", "-1", "--format=%(trailers)", BRANCH, cwd=root)
    assert "AgentV-Tests: total=2 passed=2 failed=0 skipped=0 errors=0" in trailers
    assert "AgentV-Scores: accuracy=0.5" in trailers
    assert f"Source-Commit: {git('rev-parse', 'HEAD', cwd=root)}" in trailers
    assert git("status", "--porcelain", "--untracked-files=all", cwd=root) == status
    assert (root / ".git" / "index").read_bytes() == index
    assert git("symbolic-ref", "HEAD", cwd=root) == "refs/heads/main"


@pytest.mark.slow
@pytest.mark.parametrize("dist", [("-p", "no:xdist"), ("-n", "2")])
def test_pushes_to_a_git_daemon(
    project: pytest.Pytester, git_daemon: GitDaemon, dist: tuple[str, ...]
) -> None:
    url = git_daemon.new_remote()
    git("remote", "add", "origin", url, cwd=project.path)

    result = project.runpytest(
        *dist, "--agentv-git", "--agentv-remote", "origin", "--agentv-path", "evals"
    )

    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines([f"agentv: run * (2 tests) written to origin ({url}), *"])
    remote = git_daemon.path()
    assert git("rev-list", "--count", BRANCH, cwd=remote) == "2"  # genesis + one run
    files = git("ls-tree", "-r", "--name-only", BRANCH, "evals", cwd=remote).splitlines()
    assert len(files) == 3
    git("fsck", "--strict", cwd=remote)


def test_an_unreachable_remote_warns_keeps_the_run_and_strict_fails(
    project: pytest.Pytester, http_auth_remote: HttpGitServer
) -> None:
    http_auth_remote.new_remote()
    wrong = http_auth_remote.url(user="agent", password="hunter2-wrong")

    lenient = project.runpytest(
        "-p", "no:xdist", "--agentv-git", "--agentv-remote", wrong, *SHOW_WARNING
    )
    strict = project.runpytest(
        "-p", "no:xdist", "--agentv-git", "--agentv-remote", wrong, "--agentv-strict", *SHOW_WARNING
    )

    assert lenient.ret == pytest.ExitCode.OK
    lenient.stdout.fnmatch_lines(
        [
            "*AgentvDeliveryWarning: cannot fetch from http://agent:***@127.0.0.1:*401*kept "
            "locally*agentv-results sync*",
            "agentv: why: see the AgentvDeliveryWarning in the warnings summary",
        ]
    )
    strict.stdout.fnmatch_lines(["agentv: exit status 1: the run was not delivered*"])
    assert strict.ret != pytest.ExitCode.OK
    output = lenient.stdout.str() + lenient.stderr.str() + strict.stdout.str()
    assert "hunter2-wrong" not in output

    # both runs are still here, and a sync with the right credentials delivers them
    from pytest_agentv.settings import Settings
    from pytest_agentv.store.git import GitArtifactStore

    store = GitArtifactStore(
        Settings(rootdir=project.path, backend="git", remote=http_auth_remote.url())
    )
    assert len(store.pending_run_ids()) == 2
    assert len(store.sync().pushed) == 2
    assert git("rev-list", "--count", BRANCH, cwd=http_auth_remote.path()) == "3"

"""Pushes to path and file:// remotes run the remote's hooks, as `git push` does."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.git_fixtures import git
from tests.helpers import BRANCH, assert_delivered_once, git_store
from tests.runs import make_run

REFUSE = """#!/bin/sh
echo "secret-scan: token found in $(cat) " >&2
exit 1
"""


def _hook(remote: Path, name: str, body: str) -> Path:
    hook = remote / "hooks" / name
    hook.write_text(body)
    hook.chmod(0o755)
    return hook


@pytest.mark.parametrize("form", ["path", "file-url"])
def test_a_refusing_pre_receive_hook_is_honoured(
    source_repo: Path, bare_remote: Path, form: str
) -> None:
    url = str(bare_remote) if form == "path" else bare_remote.as_uri()
    hook = _hook(bare_remote, "pre-receive", REFUSE)
    store = git_store(source_repo, remote=url)
    run = make_run()

    result = store.write(run)

    assert not result.delivered
    (problem,) = result.problems
    assert "was refused" in problem and "pre-receive hook declined" in problem
    assert "secret-scan: token found in" in problem  # what the hook said, for the user
    assert "agentv-results sync" in problem
    assert git("for-each-ref", cwd=bare_remote) == ""

    hook.unlink()  # the policy is satisfied (say, the secret was removed): sync delivers
    report = git_store(source_repo, remote=url).sync()
    assert report.delivered
    assert_delivered_once(bare_remote, [run.run_id])


def test_receive_hooks_run_on_a_delivered_push(source_repo: Path, bare_remote: Path) -> None:
    seen = bare_remote / "pushed.log"
    _hook(bare_remote, "update", f'#!/bin/sh\necho "$1" >> "{seen}"\n')
    _hook(bare_remote, "post-receive", f'#!/bin/sh\ncat >> "{seen}"\n')

    assert git_store(source_repo, remote=str(bare_remote)).write(make_run()).delivered

    lines = seen.read_text().splitlines()
    assert lines[0] == f"refs/heads/{BRANCH}"
    assert lines[1].endswith(f" refs/heads/{BRANCH}")


def test_an_update_hook_refusing_is_honoured(source_repo: Path, bare_remote: Path) -> None:
    _hook(bare_remote, "update", "#!/bin/sh\necho 'branch is frozen' >&2\nexit 1\n")
    result = git_store(source_repo, remote=str(bare_remote)).write(make_run())
    assert not result.delivered
    assert "hook declined" in result.problems[0] and "branch is frozen" in result.problems[0]


def test_a_stale_ref_lock_on_a_path_remote_is_reported_with_the_fix(
    source_repo: Path, bare_remote: Path
) -> None:
    store = git_store(source_repo, remote=str(bare_remote))
    first = make_run()
    assert store.write(first).delivered
    lock = bare_remote / "refs" / "heads" / f"{BRANCH}.lock"
    lock.write_text("0" * 40 + "\n")
    then = time.time() - 120
    os.utime(lock, (then, then))

    second = make_run()
    result = git_store(source_repo, remote=str(bare_remote)).write(second)

    assert not result.delivered
    problem = result.problems[0]
    assert f"the remote's ref lock {lock}" in problem or "ref lock" in problem
    assert f"remove {lock}" in problem.replace("/./", "/")
    assert "(b'" not in problem  # no raw tuple
    assert lock.exists()  # someone else's repository: reported, not touched

    lock.unlink()
    assert git_store(source_repo, remote=str(bare_remote)).sync().delivered
    assert_delivered_once(bare_remote, [first.run_id, second.run_id])


def test_without_git_a_remote_with_hooks_is_not_bypassed(
    source_repo: Path, make_bare_remote: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    guarded = make_bare_remote("guarded")  # type: ignore[operator]
    plain = make_bare_remote("plain")  # type: ignore[operator]
    _hook(guarded, "pre-receive", "#!/bin/sh\nexit 0\n")
    no_git = tmp_path / "bin"
    no_git.mkdir()
    monkeypatch.setenv("PATH", str(no_git))  # git is not on the PATH: the pure path is used

    kept = git_store(source_repo, remote=str(guarded)).write(make_run())
    delivered = git_store(source_repo, remote=str(plain)).write(make_run())

    assert not kept.delivered
    assert "pre-receive hook(s), which only git can run" in kept.problems[0]
    assert delivered.delivered, delivered.problems
    monkeypatch.undo()
    assert len(git("rev-list", BRANCH, cwd=plain).splitlines()) == 2  # genesis + the run

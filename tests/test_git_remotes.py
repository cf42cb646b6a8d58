"""Pushing runs over every transport, for real: local path, file://, git://, smart HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_agentv.credentials import mask_credentials as scrub
from tests.git_fixtures import GitDaemon, HttpGitServer, SshServer, git
from tests.helpers import BRANCH, assert_delivered_once, git_store
from tests.runs import make_run


@pytest.mark.parametrize("form", ["path", "file-url"])
def test_local_path_and_file_url(source_repo: Path, bare_remote: Path, form: str) -> None:
    location = str(bare_remote) if form == "path" else bare_remote.as_uri()
    store = git_store(source_repo, remote=location)
    runs = [make_run() for _ in range(2)]
    assert all(store.write(run).delivered for run in runs)
    assert_delivered_once(bare_remote, [run.run_id for run in runs])


def test_git_daemon(source_repo: Path, git_daemon: GitDaemon) -> None:
    url = git_daemon.new_remote()
    git("remote", "add", "origin", url, cwd=source_repo)
    store = git_store(source_repo, remote="origin")
    runs = [make_run() for _ in range(2)]
    results = [store.write(run) for run in runs]
    assert all(result.delivered for result in results), results
    assert url in results[0].location
    assert_delivered_once(git_daemon.path(), [run.run_id for run in runs])
    assert git("rev-parse", f"origin/{BRANCH}", cwd=source_repo) == git(
        "rev-parse", BRANCH, cwd=git_daemon.path()
    )


def test_smart_http(source_repo: Path, http_remote: HttpGitServer) -> None:
    url = http_remote.new_remote()
    store = git_store(source_repo, remote=url)
    runs = [make_run() for _ in range(2)]
    assert all(store.write(run).delivered for run in runs)
    assert_delivered_once(http_remote.path(), [run.run_id for run in runs])
    assert any("git-receive-pack" in request for request in http_remote.requests)


def test_http_credentials_in_the_url_work_and_never_show(
    source_repo: Path, http_auth_remote: HttpGitServer
) -> None:
    url = http_auth_remote.new_remote()
    assert "s3cret-pass" in url
    git("remote", "add", "origin", url, cwd=source_repo)
    store = git_store(source_repo, remote="origin")
    run = make_run()

    result = store.write(run)

    assert result.delivered, result.problems
    shown = " ".join([result.location, *result.notes, store.describe()])
    assert "s3cret-pass" not in shown and "agent:***@" in shown
    for name in run.files:
        assert "s3cret-pass" not in git(
            "show",
            f"{BRANCH}:{run.run_id[:2]}/{run.run_id[2:]}/{name}",
            cwd=http_auth_remote.path(),
        )
    assert "s3cret-pass" not in git("log", "--format=%B", BRANCH, cwd=http_auth_remote.path())
    assert_delivered_once(http_auth_remote.path(), [run.run_id])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("http://user:pass@host/x.git", "http://user:***@host/x.git"),
        ("https://ghp_token@github.com/o/r", "https://***@github.com/o/r"),
        (
            "cannot push to https://u:p%40ss@h:8080/r.git: 401",
            "cannot push to https://u:***@h:8080/r.git: 401",
        ),
        ("ssh://git@github.com/o/r.git", "ssh://git@github.com/o/r.git"),
        ("git@github.com:o/r.git", "git@github.com:o/r.git"),
        ("/srv/git/runs.git", "/srv/git/runs.git"),
    ],
)
def test_scrub_masks_url_credentials(text: str, expected: str) -> None:
    assert scrub(text) == expected


def test_push_over_real_ssh(
    source_repo: Path, bare_remote: Path, ssh_server: SshServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OpenSSH's sshd on 127.0.0.1, logged into with a key through GIT_SSH_COMMAND."""
    monkeypatch.setenv("GIT_SSH_COMMAND", ssh_server.ssh_command)
    url = ssh_server.url(bare_remote)
    first = git_store(source_repo, remote=url).write(make_run())
    second = git_store(source_repo, remote=url).write(make_run())

    assert first.delivered and second.delivered, first.problems + second.problems
    assert git("rev-list", "--count", BRANCH, cwd=bare_remote) == "3"  # genesis + two runs
    git("fsck", "--strict", cwd=bare_remote)
    # and plain git reads it back over the same ssh
    listed = git("ls-remote", url, BRANCH, cwd=source_repo)
    assert listed.split()[0] == git("rev-parse", BRANCH, cwd=bare_remote)


def test_ssh_honours_git_ssh_command(
    source_repo: Path, bare_remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No sshd here: a fake ssh that runs the requested git command locally, as ssh would on
    the server, proves that GIT_SSH_COMMAND is used for both fetch and push."""
    fake_ssh = tmp_path / "fake-ssh"
    log = tmp_path / "ssh.log"
    # dulwich calls: <ssh> [-p port] [-l user] host "git-upload-pack '/path'"
    fake_ssh.write_text(
        f'#!/bin/sh\necho "$@" >> "{log}"\nfor last; do :; done\nexec sh -c "$last"\n'
    )
    fake_ssh.chmod(0o755)
    monkeypatch.setenv("GIT_SSH_COMMAND", str(fake_ssh))
    store = git_store(source_repo, remote=f"ssh://git@example.invalid{bare_remote}")

    result = store.write(make_run())

    assert result.delivered, result.problems
    calls = log.read_text()
    assert "git-upload-pack" in calls and "git-receive-pack" in calls
    assert git("rev-list", "--count", BRANCH, cwd=bare_remote) == "2"

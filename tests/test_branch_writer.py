"""The branch writer on its own: change sets that add, replace and delete files, preconditions,
lost races over file, git daemon and smart HTTP remotes, replay of non-run commits, the spool.

Everything is cross-checked with the git CLI on the remote.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import filelock
import pytest

from pytest_agentv.branch.changes import (
    PLAIN_GENESIS,
    ChangeSet,
    MustHaveBlob,
    MustNotExist,
    blob_sha,
)
from pytest_agentv.branch.errors import BranchConflict
from pytest_agentv.branch.spool import ChangeSpool
from pytest_agentv.branch.writer import BranchWriter
from pytest_agentv.git.repository import genesis_sha
from tests.git_fixtures import GitDaemon, HttpGitServer, git

BRANCH = "agentv/configs"


def writer(project: Path, remote: str | Path | None) -> BranchWriter:
    project.mkdir(parents=True, exist_ok=True)
    return BranchWriter.for_project(project, BRANCH, None if remote is None else str(remote))


def show(remote: Path, path: str) -> str:
    return git("show", f"{BRANCH}:{path}", cwd=remote)


def test_add_replace_and_delete(tmp_path: Path, bare_remote: Path) -> None:
    branch = writer(tmp_path / "project", bare_remote)
    added = branch.apply(
        ChangeSet(
            key="add",
            subject="Add two configs",
            files={"configs/a.yaml": b"a: 1\n", "configs/deep/b.yaml": b"b: 1\n"},
            preconditions={"configs/a.yaml": MustNotExist()},
            trailers=(("AgentV-Kind", "config"),),
        )
    )
    assert added.pushed and added.delivered and not added.spooled
    assert show(bare_remote, "configs/a.yaml") == "a: 1"
    replaced = branch.apply(
        ChangeSet(
            key="replace",
            subject="Bump a",
            files={"configs/a.yaml": b"a: 2\n"},
            preconditions={"configs/a.yaml": MustHaveBlob(blob_sha(b"a: 1\n"))},
        )
    )
    assert replaced.delivered and show(bare_remote, "configs/a.yaml") == "a: 2"
    deleted = branch.apply(
        ChangeSet(key="delete", subject="Drop b", files={"configs/deep/b.yaml": None})
    )
    assert deleted.delivered
    # the emptied directory disappears, as with git rm
    tree = git("ls-tree", "-r", "--name-only", BRANCH, cwd=bare_remote).splitlines()
    assert tree == ["README.md", "configs/a.yaml"]
    assert git("rev-parse", BRANCH, cwd=bare_remote) == deleted.commit == branch.tip()
    assert git("rev-list", "--max-parents=0", BRANCH, cwd=bare_remote) == genesis_sha(
        PLAIN_GENESIS.message, PLAIN_GENESIS.readme
    )
    trailers = git("log", "-1", "--skip=2", "--format=%(trailers:only)", BRANCH, cwd=bare_remote)
    assert trailers == "AgentV-Kind: config"
    git("fsck", "--strict", cwd=bare_remote)

    assert branch.read("configs/a.yaml") == b"a: 2\n"
    assert branch.read("configs/a.yaml", commit=added.commit) == b"a: 1\n"
    assert branch.blob_id("configs/a.yaml") == git(
        "rev-parse", f"{BRANCH}:configs/a.yaml", cwd=bare_remote
    )
    assert branch.read("configs/deep/b.yaml") is None
    assert branch.list_dir("configs") == ["a.yaml"]
    assert branch.list_dir("nowhere") == []
    log = list(branch.log("configs/a.yaml"))
    assert [commit.subject for commit in log] == ["Bump a", "Add two configs"]
    assert log[1].trailers == {"AgentV-Kind": "config"}
    assert log[1].changed == ("configs/a.yaml", "configs/deep/b.yaml")
    assert log[0].parents == (added.commit,) and log[0].timestamp.endswith("Z")
    assert [commit.subject for commit in branch.log()][-1] == "AgentV branch"


def test_preconditions_that_fail_commit_nothing(tmp_path: Path, bare_remote: Path) -> None:
    branch = writer(tmp_path / "project", bare_remote)
    branch.apply(ChangeSet(key="one", subject="Add", files={"a.yaml": b"1\n"}))
    tip = git("rev-parse", BRANCH, cwd=bare_remote)
    with pytest.raises(BranchConflict) as exists:
        branch.apply(
            ChangeSet(
                key="two",
                subject="Add again",
                files={"a.yaml": b"2\n"},
                preconditions={"a.yaml": MustNotExist()},
            )
        )
    message = str(exists.value)
    assert "a.yaml" in message and "no such path" in message and blob_sha(b"1\n") in message
    stale = blob_sha(b"0\n")
    with pytest.raises(BranchConflict) as moved:
        branch.apply(
            ChangeSet(
                key="three",
                subject="Edit",
                files={"a.yaml": b"3\n"},
                preconditions={"a.yaml": MustHaveBlob(stale)},
            )
        )
    assert (moved.value.path, moved.value.expected) == ("a.yaml", f"blob {stale}")
    assert moved.value.found == "blob " + blob_sha(b"1\n")
    assert git("rev-parse", BRANCH, cwd=bare_remote) == tip == branch.tip()
    assert ChangeSpool(tmp_path / "project" / ".agentv" / "spool" / "changes").waiting() == []


def test_an_unpushed_edit_is_replayed_on_a_moved_remote(tmp_path: Path, bare_remote: Path) -> None:
    """A commit editing a YAML file (not a run) is replayed when the remote moved meanwhile."""
    ours, theirs = writer(tmp_path / "ours", bare_remote), writer(tmp_path / "theirs", bare_remote)
    ours.apply(ChangeSet(key="base", subject="Base", files={"a.yaml": b"a: 1\n"}))
    theirs.fetch()
    hidden = bare_remote.with_name("hidden.git")
    bare_remote.rename(hidden)  # the remote is unreachable for a moment
    offline = ours.apply(
        ChangeSet(
            key="edit",
            subject="Edit a",
            files={"a.yaml": b"a: 2\n"},
            preconditions={"a.yaml": MustHaveBlob(blob_sha(b"a: 1\n"))},
        )
    )
    assert not offline.pushed and offline.commit is not None and offline.problems
    assert [commit.subject for commit in ours.unpushed()] == ["Edit a"]
    hidden.rename(bare_remote)
    theirs.apply(ChangeSet(key="other", subject="Add b", files={"b.yaml": b"b: 1\n"}))

    synced = ours.sync()
    assert synced.pushed and not synced.problems
    subjects = git("log", "--format=%s", BRANCH, cwd=bare_remote).splitlines()
    assert subjects == ["Edit a", "Add b", "Base", "AgentV branch"]
    assert show(bare_remote, "a.yaml") == "a: 2" and show(bare_remote, "b.yaml") == "b: 1"
    assert ours.unpushed() == []
    git("fsck", "--strict", cwd=bare_remote)


def test_an_unpushed_edit_that_conflicts_is_set_aside(tmp_path: Path, bare_remote: Path) -> None:
    ours, theirs = writer(tmp_path / "ours", bare_remote), writer(tmp_path / "theirs", bare_remote)
    ours.apply(ChangeSet(key="base", subject="Base", files={"a.yaml": b"a: 1\n"}))
    theirs.fetch()
    hidden = bare_remote.with_name("hidden.git")
    bare_remote.rename(hidden)
    ours.apply(ChangeSet(key="edit", subject="Ours", files={"a.yaml": b"a: ours\n"}))
    hidden.rename(bare_remote)
    theirs.apply(ChangeSet(key="theirs", subject="Theirs", files={"a.yaml": b"a: theirs\n"}))

    synced = ours.sync()
    assert synced.pushed
    (problem,) = synced.problems
    assert "(Ours) conflicts with the remote branch at a.yaml" in problem
    assert "refs/agentv/conflicts/" in problem
    assert show(bare_remote, "a.yaml") == "a: theirs"
    # nothing is lost: the commit is kept under a ref of the repository that holds the branch
    kept = problem.split("kept as ")[1].split(" ")[0]
    cache = next((tmp_path / "ours" / ".agentv" / "cache").glob("*.git"))
    assert git("show", f"{kept}:a.yaml", cwd=cache) == "a: ours"
    assert ours.unpushed() == []


def test_a_change_waits_in_the_spool_until_sync(tmp_path: Path, bare_remote: Path) -> None:
    branch = writer(tmp_path / "project", bare_remote)
    branch.lock_timeout = 0.2
    change = ChangeSet(key="later", subject="Later", files={"x/later.txt": b"later\n"})
    with filelock.FileLock(str(branch.target.lock_path)):  # another writer holds the lock
        delivery = branch.apply(change)
    assert delivery.spooled and not delivery.delivered and delivery.commit is None
    assert "held the lock" in delivery.problems[0]
    spool = ChangeSpool(tmp_path / "project" / ".agentv" / "spool" / "changes")
    assert spool.waiting() == ["later"] and spool.load("later") == change
    assert git("rev-parse", "--verify", "--quiet", BRANCH, cwd=bare_remote, check=False) == ""

    synced = branch.sync()
    assert synced.committed == ("later",) and synced.pushed and synced.spooled == ()
    assert show(bare_remote, "x/later.txt") == "later" and spool.waiting() == []


def test_missing_default_branch_is_refused_and_kept(tmp_path: Path, bare_remote: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    branch = BranchWriter.for_project(project, "main", str(bare_remote))
    delivery = branch.apply(ChangeSet(key="k", subject="S", files={"f": b"1\n"}))
    assert delivery.spooled and "refusing to create branch 'main'" in delivery.problems[0]
    assert git("for-each-ref", cwd=bare_remote) == ""


WRITER = """
import json, sys
from pathlib import Path
from pytest_agentv.branch.changes import (
    PLAIN_GENESIS,
    ChangeSet,
    MustHaveBlob,
    MustNotExist,
    blob_sha,
)
from pytest_agentv.branch.writer import BranchWriter

project, remote, name, count = Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
project.mkdir(parents=True, exist_ok=True)
branch = BranchWriter.for_project(project, "agentv/configs", remote)
previous = None
for n in range(count):
    data = f"writer: {name}\\nversion: {n}\\n".encode()
    path = f"configs/{name}.yaml"
    rule = MustNotExist() if previous is None else MustHaveBlob(blob_sha(previous))
    files = {path: data, f"scratch/{name}-{n}.txt": b"x\\n"}
    if n:
        files[f"scratch/{name}-{n - 1}.txt"] = None
    result = branch.apply(ChangeSet(key=f"{name}-{n}", subject=f"{name} v{n}", files=files,
                                    preconditions={path: rule}))
    previous = data
    print(json.dumps({"delivered": result.delivered, "problems": list(result.problems)}),
          flush=True)
"""

WRITERS, CHANGES = 4, 3


def race(tmp_path: Path, remote: str) -> None:
    repo_root = Path(__file__).resolve().parent.parent
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path / f"p{n}"), remote, f"w{n}", str(CHANGES)],
            cwd=repo_root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(WRITERS)
    ]
    for process in processes:
        out, err = process.communicate(timeout=240)
        assert process.returncode == 0, err
        reports = [json.loads(line) for line in out.splitlines()]
        assert len(reports) == CHANGES and all(report["delivered"] for report in reports), reports


def check_race(remote: Path) -> None:
    files = git("ls-tree", "-r", "--name-only", BRANCH, cwd=remote).splitlines()
    last = CHANGES - 1
    expected = [f"configs/w{n}.yaml" for n in range(WRITERS)]
    expected += [f"scratch/w{n}-{last}.txt" for n in range(WRITERS)]
    assert files == ["README.md", *sorted(expected)]
    for n in range(WRITERS):
        assert show(remote, f"configs/w{n}.yaml") == f"writer: w{n}\nversion: {last}"
    assert git("rev-list", "--count", BRANCH, cwd=remote) == str(WRITERS * CHANGES + 1)
    assert git("rev-list", "--merges", BRANCH, cwd=remote) == ""
    git("fsck", "--strict", cwd=remote)


@pytest.mark.slow
def test_racing_writers_over_a_path(tmp_path: Path, bare_remote: Path) -> None:
    race(tmp_path, str(bare_remote))
    check_race(bare_remote)


@pytest.mark.slow
def test_racing_writers_over_git_daemon(tmp_path: Path, git_daemon: GitDaemon) -> None:
    race(tmp_path, git_daemon.new_remote())
    check_race(git_daemon.path())


@pytest.mark.slow
def test_racing_writers_over_smart_http(tmp_path: Path, http_remote: HttpGitServer) -> None:
    race(tmp_path, http_remote.new_remote())
    check_race(http_remote.path())

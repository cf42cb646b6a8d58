"""Several clones of one project, two sessions each, pushing runs to one path remote at once.

Regression: dulwich's local fetch reads the served refs again after sending the pack, so a tip
pushed meanwhile was recorded although its objects never arrived; the next catch-up walked it
(``KeyError: b'<sha>'``), the run was spooled, and the clone was left with a ref to a missing
object. Every run must now land in its first session, and every clone must stay consistent.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_agentv.settings import Settings
from pytest_agentv.store import open_store
from tests.git_fixtures import git
from tests.helpers import BRANCH, assert_delivered_once
from tests.runs import make_run

CLONES, SESSIONS, RUNS_EACH = 3, 2, 4
CLI = (sys.executable, "-m", "pytest_agentv.cli", "--backend", "git", "--remote", "origin")

SESSION = """
import json, sys
from pathlib import Path
from pytest_agentv.settings import Settings
from pytest_agentv.store import open_store
from tests.runs import make_run

rootdir, count = Path(sys.argv[1]), int(sys.argv[2])
store = open_store(Settings(rootdir=rootdir, backend="git", remote="origin"))
for _ in range(count):
    result = store.write(make_run())
    print(json.dumps({"run": result.run_id, "delivered": result.delivered,
                      "problems": list(result.problems)}), flush=True)
"""


def clone(remote: Path, target: Path) -> Path:
    git("clone", "--quiet", str(remote), str(target))
    git("config", "user.name", "Eval Author", cwd=target)
    git("config", "user.email", "author@example.com", cwd=target)
    return target


@pytest.fixture
def shared_remote(tmp_path: Path, source_repo: Path) -> Path:
    remote = tmp_path / "shared.git"
    git("clone", "--quiet", "--bare", str(source_repo), str(remote))
    return remote


@pytest.mark.slow
def test_every_run_lands_in_its_first_session(tmp_path: Path, shared_remote: Path) -> None:
    clones = [clone(shared_remote, tmp_path / f"clone{n}") for n in range(CLONES)]
    repo_root = Path(__file__).resolve().parent.parent
    sessions = [
        subprocess.Popen(
            [sys.executable, "-c", SESSION, str(project), str(RUNS_EACH)],
            cwd=repo_root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for project in clones
        for _session in range(SESSIONS)
    ]
    reports = []
    for session in sessions:
        out, err = session.communicate(timeout=240)
        assert session.returncode == 0, err
        reports.extend(json.loads(line) for line in out.splitlines())
    assert [report for report in reports if not report["delivered"]] == []
    assert len(reports) == CLONES * SESSIONS * RUNS_EACH
    assert_delivered_once(shared_remote, [str(report["run"]) for report in reports])
    for project in clones:
        git("fsck", "--strict", cwd=project)
        assert not list((project / ".agentv" / "spool").glob("*/summary.json"))


def test_a_ref_to_a_missing_commit_heals_on_the_next_command(
    tmp_path: Path, source_repo: Path, shared_remote: Path
) -> None:
    """A clone left with a remote-tracking ref to an object it never received (by an older
    version, or a fetch killed half-way) reads, syncs and writes again without help."""
    project = clone(shared_remote, tmp_path / "clone")
    settings = Settings(rootdir=project, backend="git", remote="origin")
    first = make_run()
    assert open_store(settings).write(first).delivered
    missing = "1" * 40
    # git itself refuses to write such a ref, so it is written the way the broken fetch left it
    tracking = project / ".git" / "refs" / "remotes" / "origin" / BRANCH
    tracking.parent.mkdir(parents=True, exist_ok=True)
    tracking.write_text(missing + "\n")
    broken = subprocess.run(["git", "fsck"], cwd=project, capture_output=True, text=True)
    assert "invalid sha1 pointer" in broken.stdout + broken.stderr

    listed = subprocess.run(
        [*CLI, "--rootdir", str(project), "--no-fetch", "list", "--json"],
        capture_output=True,
        text=True,
    )
    assert listed.returncode == 0, listed.stderr
    assert [row["summary"]["runId"] for row in json.loads(listed.stdout)] == [first.run_id]

    store = open_store(settings)
    assert store.sync().delivered
    second = make_run()
    assert store.write(second).delivered
    git("fsck", "--strict", cwd=project)
    assert git("rev-parse", f"refs/remotes/origin/{BRANCH}", cwd=project) == git(
        "rev-parse", BRANCH, cwd=shared_remote
    )
    assert_delivered_once(shared_remote, [first.run_id, second.run_id])

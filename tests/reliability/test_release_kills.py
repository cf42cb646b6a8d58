"""SIGKILL trials of release operations: whatever instant a kill hits, the releases branch holds
only whole operations, every operation that reported success is there, and the next one works.

Release changes are never spooled (an operation that cannot commit fails and its user runs it
again), so what must hold after a kill is narrower than for runs, and different: no version is
half-created (a `vN.yaml` without its commit trailers, a `current.yaml` naming a version that
does not exist), versions stay consecutive, `agentv-release verify` proves the history, and the
same project, with whatever its killed process left in its cache, creates the next version.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.git_fixtures import git
from tests.release_helpers import DRAFT_YAML, release_cli

SLUG = "support-agent"
BRANCH = "agentv/releases/v1"


def _release(project: Path, remote: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [release_cli(), *args, "--json", "--remote", remote, "--rootdir", str(project)],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("AGENTV_")},
    )


def _create(project: Path, remote: str, n: int) -> subprocess.Popen[str]:
    draft = yaml.safe_load(DRAFT_YAML)
    draft["agent"]["system_prompt"] = f"Variant {n}.\n"
    (project / "draft.yaml").write_text(yaml.safe_dump(draft))
    return _release(project, remote, "create", "draft.yaml", "--author", "Ada <ada@example.com>")


def _versions_on_branch(remote_dir: Path) -> list[int]:
    names = git("ls-tree", "--name-only", f"{BRANCH}:agents/{SLUG}/releases", cwd=remote_dir)
    return sorted(int(name.removeprefix("v").removesuffix(".yaml")) for name in names.split())


def _check_branch(remote_dir: Path, project: Path, remote: str) -> list[int]:
    """The invariants after any kill; returns the versions on the branch."""
    git("fsck", "--strict", "--no-progress", cwd=remote_dir)
    assert git("rev-list", "--merges", BRANCH, cwd=remote_dir) == ""
    versions = _versions_on_branch(remote_dir)
    assert versions == list(range(1, len(versions) + 1)), f"versions not consecutive: {versions}"
    # one commit per operation after the branch's root: nothing half-done, nothing twice
    commits = git("rev-list", "--first-parent", "--no-merges", BRANCH, cwd=remote_dir).split()
    assert len(commits) == len(versions) + 1
    versions_in_trailers = git(
        "log", "--format=%(trailers:key=AgentV-Version,valueonly)", BRANCH, cwd=remote_dir
    ).split()
    assert sorted(int(v) for v in versions_in_trailers) == versions
    verify = _release(project, remote, "verify")
    out, err = verify.communicate(timeout=300)
    assert verify.returncode == 0, out + err
    return versions


@pytest.mark.slow
def test_killed_release_creates_leave_whole_versions_and_the_next_one_works(
    tmp_path: Path, bare_remote: Path, git_env: Path
) -> None:
    remote = str(bare_remote)
    project = tmp_path / "project"
    project.mkdir()
    first = _create(project, remote, 0)
    _out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    rng = random.Random(7)
    reported: list[int] = [1]
    phases: set[str] = set()
    for n in range(1, 9):
        process = _create(project, remote, n)
        # a create takes about 0.4-1.5 s here (start-up, fetch, commit, push): kill across it
        time.sleep(rng.uniform(0.1, 1.6))
        process.send_signal(signal.SIGKILL)
        out, _err = process.communicate(timeout=60)
        if process.returncode == 0:
            reported.append(json.loads(out)["version"])
            phases.add("finished before the kill")
        else:
            assert process.returncode == -signal.SIGKILL
            phases.add("killed")
        versions = _check_branch(bare_remote, project, remote)
        missing = sorted(set(reported) - set(versions))
        assert missing == [], f"versions reported created but not on the remote: {missing}"
    assert "killed" in phases, "no kill fell inside an operation; the trial proved nothing"
    # the same project, with whatever the kills left in its cache, creates the next version
    after = _create(project, remote, 99)
    out, err = after.communicate(timeout=300)
    assert after.returncode == 0, err
    versions = _check_branch(bare_remote, project, remote)
    assert json.loads(out)["version"] == versions[-1]
    shown = git("show", f"{BRANCH}:agents/{SLUG}/releases/v{versions[-1]}.yaml", cwd=bare_remote)
    assert yaml.safe_load(shown)["agent"]["system_prompt"] == "Variant 99.\n"

"""Real processes creating releases of one agent at once never take the same version."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.git_fixtures import GitDaemon, git, init_bare
from tests.release_helpers import DRAFT_YAML, release_cli

SLUG = "support-agent"
BRANCH = "agentv/releases/v1"
WRITERS = 6


def _start_creators(tmp_path: Path, remote: str) -> list[subprocess.Popen[str]]:
    processes = []
    for n in range(WRITERS):
        # one project per writer: separate machines, separate cache repositories
        project = tmp_path / f"writer-{n}"
        project.mkdir()
        draft = yaml.safe_load(DRAFT_YAML)
        draft["agent"]["system_prompt"] = f"Variant {n}.\n"
        (project / "draft.yaml").write_text(yaml.safe_dump(draft))
        processes.append(
            subprocess.Popen(
                [
                    release_cli(),
                    "create",
                    "draft.yaml",
                    "--author",
                    f"writer {n}",
                    "--json",
                    "--remote",
                    remote,
                    "--rootdir",
                    str(project),
                ],
                cwd=project,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env={k: v for k, v in os.environ.items() if not k.startswith("AGENTV_")},
            )
        )
    return processes


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["file", "git-daemon"])
def test_concurrent_creators_take_consecutive_versions(
    tmp_path: Path, git_env: Path, kind: str
) -> None:
    if kind == "file":
        remote_dir = init_bare(tmp_path / "state.git")
        remote = str(remote_dir)
    else:
        daemon = GitDaemon(tmp_path / "daemon")
        daemon.base.mkdir()
        daemon.start()
        remote = daemon.new_remote("state")
        remote_dir = daemon.path("state")
    try:
        # the branch exists before the race (the first commit of a branch is not the point here)
        seed = tmp_path / "seed"
        seed.mkdir()
        (seed / "draft.yaml").write_text(DRAFT_YAML)
        subprocess.run(
            [release_cli(), "create", "draft.yaml", "--remote", remote, "--rootdir", str(seed)],
            cwd=seed,
            check=True,
            capture_output=True,
        )
        processes = _start_creators(tmp_path, remote)
        outputs = [process.communicate(timeout=300) for process in processes]
    finally:
        if kind != "file":
            daemon.stop()
    for process, (_out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
    versions = sorted(json.loads(out)["version"] for out, _ in outputs)
    assert versions == list(range(2, WRITERS + 2))
    files = git("ls-tree", "-r", "--name-only", BRANCH, "agents", cwd=remote_dir).splitlines()
    assert files == [f"agents/{SLUG}/releases/v{n}.yaml" for n in range(1, WRITERS + 2)]
    prompts = {
        yaml.safe_load(git("show", f"{BRANCH}:{path}", cwd=remote_dir))["agent"]["system_prompt"]
        for path in files[1:]
    }
    assert prompts == {f"Variant {n}.\n" for n in range(WRITERS)}
    # one commit per create, each the child of the one before: nothing was forced
    assert (
        len(git("rev-list", "--first-parent", BRANCH, cwd=remote_dir).splitlines()) == WRITERS + 2
    )
    git("fsck", "--strict", cwd=remote_dir)


@pytest.mark.slow
def test_a_refused_push_is_synced_until_the_remote_takes_it(tmp_path: Path, git_env: Path) -> None:
    daemon = GitDaemon(tmp_path / "daemon")
    daemon.base.mkdir()
    daemon.start()
    try:
        remote = daemon.new_remote("state")
        hooks = daemon.path("state") / "hooks"
        marker = tmp_path / "refused-once"
        # the remote refuses the first push that carries a release, then takes every push
        (hooks / "pre-receive").write_text(
            f"#!/bin/sh\nif [ ! -e {marker} ]; then touch {marker}; echo busy >&2; exit 1; fi\n"
        )
        (hooks / "pre-receive").chmod(0o755)
        project = tmp_path / "project"
        project.mkdir()
        (project / "draft.yaml").write_text(DRAFT_YAML)
        completed = subprocess.run(
            [
                release_cli(),
                "create",
                "draft.yaml",
                "--json",
                "--remote",
                remote,
                "--rootdir",
                str(project),
            ],
            cwd=project,
            capture_output=True,
            text=True,
        )
    finally:
        daemon.stop()
    assert completed.returncode == 0, completed.stderr
    assert marker.exists()  # the first push was refused
    created = json.loads(completed.stdout)
    assert created["pushed"] is True
    assert git("rev-parse", BRANCH, cwd=daemon.path("state")) == created["commit"]

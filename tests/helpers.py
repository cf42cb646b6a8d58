"""Small helpers shared by the test modules (which never import each other)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pytest_agentv.gate_settings import GateSettings, gate_settings
from pytest_agentv.options import OPTIONS
from pytest_agentv.settings import Settings, resolve_values
from pytest_agentv.store import open_store
from pytest_agentv.store.git import GitArtifactStore
from tests.git_fixtures import git


def only_run_dir(root: Path) -> Path:
    """The one run directory under a local store, failing loudly if there is not exactly one."""
    runs = sorted(p.parent for p in root.glob("??/*/summary.json"))
    assert len(runs) == 1, f"expected one run under {root}, found {runs}"
    return runs[0]


def load_run(run_dir: Path) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """metadata, transcript events and summary of a stored run."""
    metadata = json.loads((run_dir / "metadata.json").read_text("utf-8"))
    lines = (run_dir / "transcript.jsonl").read_text("utf-8").splitlines()
    summary = json.loads((run_dir / "summary.json").read_text("utf-8"))
    return metadata, [json.loads(line) for line in lines], summary


def records_by_name(metadata: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The per-test entries of a run's metadata, by the test function's name."""
    return {t["nodeid"].split("::")[-1]: t for t in metadata["tests"]}


BRANCH = "agentv/checkpoints/v1"


def git_store(rootdir: Path, **settings: Any) -> GitArtifactStore:
    store = open_store(Settings(rootdir=rootdir, backend="git", **settings))
    assert isinstance(store, GitArtifactStore)
    return store


def worktree_state(repo: Path) -> tuple[str, str, bytes]:
    """What must never change: status, HEAD (symbolic and resolved) and the index file."""
    head = git("symbolic-ref", "HEAD", cwd=repo) + " " + git("rev-parse", "HEAD", cwd=repo)
    return (
        git("status", "--porcelain", "--untracked-files=all", cwd=repo),
        head,
        (repo / ".git" / "index").read_bytes(),
    )


def assert_delivered_once(remote: Path, run_ids: list[str]) -> None:
    """Every run is on the branch exactly once, history is linear, and git fsck is clean."""
    log = git("log", "--format=%(trailers:key=AgentV-Run,valueonly)", BRANCH, cwd=remote)
    found = [line for line in log.splitlines() if line]
    assert sorted(found) == sorted(run_ids)
    assert git("rev-list", "--merges", BRANCH, cwd=remote) == ""
    summaries = git("ls-tree", "-r", "--name-only", BRANCH, cwd=remote).count("summary.json")
    assert summaries == len(run_ids)
    git("fsck", "--strict", cwd=remote)


def resolve_gate_settings(
    cli: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    ini: dict[str, Any] | None = None,
    file: dict[str, Any] | None = None,
    file_name: str = ".agentv/config.yaml",
) -> GateSettings:
    """The gate settings from these sources, ``file`` being a ``gates:`` section by its keys:
    the option table's resolution, then the gate view of it."""
    gates = {
        spec.key: (file or {})[spec.file_key.removeprefix("gates.")]
        for spec in OPTIONS
        if spec.file_key
        and spec.file_key.startswith("gates.")
        and spec.file_key.removeprefix("gates.") in (file or {})
    }
    values, sources = resolve_values(cli, env, ini, gates, file_name)
    values.pop("local_dir", None)
    return gate_settings(Settings(rootdir=Path("."), sources=sources, **values))

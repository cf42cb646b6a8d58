"""Each commit is one small pack; the packs of a repository (local, or a path remote) stay few."""

from __future__ import annotations

import math
from pathlib import Path

from dulwich.repo import Repo

from pytest_agentv.git.maintenance import MIN_PACKS, consolidate, rollup_count
from pytest_agentv.settings import Settings
from pytest_agentv.store.git import GitArtifactStore
from tests.git_fixtures import git
from tests.runs import make_run

BRANCH = "agentv/checkpoints/v1"


def packs(repo: Path) -> list[Path]:
    return sorted((repo / "objects" / "pack").glob("*.pack"))


def loose(repo: Path) -> list[Path]:
    return [p for p in (repo / "objects").glob("??/*") if p.is_file()]


def test_rollup_count_keeps_a_geometric_progression():
    assert rollup_count([]) == 0
    assert rollup_count([7]) == 0
    assert rollup_count([1, 2, 4, 8]) == 0  # already a progression
    assert rollup_count([1, 1, 1, 1, 40]) == 4  # 4 singles -> one pack of 4; 40 >= 2 x 4
    assert rollup_count([1, 1, 1, 1, 5]) == 5  # 5 < 2 x 4: it rolls up with them
    assert rollup_count([3, 100, 150, 1000]) == 3  # 150 < 2 x 100 breaks it
    assert rollup_count([1, 1, 30, 1000]) == 2


def test_a_commit_is_one_pack_and_no_loose_object(tmp_path: Path, git_env: Path):
    store = GitArtifactStore(Settings(rootdir=tmp_path, backend="git"))
    repo = tmp_path / ".agentv" / "cache" / "local.git"
    assert store.write(make_run()).delivered  # genesis commit, then the run: one pack each
    assert loose(repo) == []
    before = len(packs(repo))
    assert store.write(make_run()).delivered
    assert len(packs(repo)) == before + 1
    assert loose(repo) == []
    newest = max(packs(repo), key=lambda p: p.stat().st_mtime_ns)
    listed = git("verify-pack", "-v", str(newest.with_suffix(".idx")), cwd=repo)
    rows = [line.split() for line in listed.splitlines()]
    kinds = [row[1] for row in rows if len(row) > 3 and len(row[0]) == 40]
    # three blobs, the run's tree, its shard, the root, and the commit
    assert sorted(kinds) == ["blob"] * 3 + ["commit"] + ["tree"] * 3
    git("fsck", "--strict", cwd=repo)


def test_packs_stay_few_and_every_run_stays_readable(tmp_path: Path, git_env: Path):
    store = GitArtifactStore(Settings(rootdir=tmp_path, backend="git"))
    repo = tmp_path / ".agentv" / "cache" / "local.git"
    runs = [make_run() for _ in range(40)]
    for run in runs:
        assert store.write(run).delivered
    assert len(packs(repo)) <= MIN_PACKS + math.log2(len(runs))
    git("fsck", "--strict", "--no-dangling", cwd=repo)
    assert int(git("rev-list", "--count", BRANCH, cwd=repo)) == len(runs) + 1
    for run in runs[::7]:
        assert store.read(run.run_id, "summary.json") == run.files["summary.json"]


def test_a_path_remote_keeps_few_packs(tmp_path: Path, bare_remote: Path):
    root = tmp_path / "project"
    root.mkdir()
    store = GitArtifactStore(Settings(rootdir=root, backend="git", remote=str(bare_remote)))
    runs = [make_run() for _ in range(30)]
    for run in runs:
        assert store.write(run).delivered
    assert len(packs(bare_remote)) <= MIN_PACKS + math.log2(len(runs))
    assert loose(bare_remote) == []  # every push landed as one pack
    leftovers = [p.name for p in (bare_remote / "objects" / "pack").iterdir() if "tmp" in p.name]
    assert leftovers == []
    git("fsck", "--strict", "--no-dangling", cwd=bare_remote)
    log = git("log", "--format=%s", BRANCH, cwd=bare_remote).splitlines()
    assert log[: len(runs)] == [f"Run: {run.run_id}" for run in reversed(runs)]


def test_a_keep_pack_is_never_rolled_up(tmp_path: Path, git_env: Path):
    store = GitArtifactStore(Settings(rootdir=tmp_path, backend="git"))
    repo = tmp_path / ".agentv" / "cache" / "local.git"
    assert store.write(make_run()).delivered
    kept = packs(repo)
    for pack in kept:
        pack.with_suffix(".keep").touch()
    for _ in range(12):
        assert store.write(make_run()).delivered
    assert set(kept) <= set(packs(repo))
    with Repo(str(repo)) as opened:
        consolidate(opened, min_packs=1)
    assert set(kept) <= set(packs(repo))
    git("fsck", "--strict", cwd=repo)


def test_a_rollup_copies_whole_objects_and_inflates_deltified_packs(tmp_path: Path, git_env: Path):
    store = GitArtifactStore(Settings(rootdir=tmp_path, backend="git"))
    repo = tmp_path / ".agentv" / "cache" / "local.git"
    runs = [make_run() for _ in range(6)]
    for run in runs:
        assert store.write(run).delivered
    # what a fetch brings: a pack of deltas (git's own, trees and messages against each other)
    git("repack", "-a", "-d", "-f", "--depth=50", "--window=50", cwd=repo)
    (deltified,) = packs(repo)
    listed = git("verify-pack", "-v", str(deltified.with_suffix(".idx")), cwd=repo)
    assert "chain length = 1" in listed  # it does hold deltas
    for run in (later := [make_run() for _ in range(3)]):
        assert store.write(run).delivered
    with Repo(str(repo)) as opened:
        assert consolidate(opened, min_packs=1) == 4  # the small ones broke the progression
    (rolled,) = packs(repo)
    git("fsck", "--strict", "--no-dangling", cwd=repo)
    for run in runs + later:
        assert store.read(run.run_id, "transcript.jsonl") == run.files["transcript.jsonl"]

    # whole-object packs only: their entries are copied as they are, and git reads them
    for _ in range(3):
        assert store.write(make_run()).delivered
    small = set(packs(repo)) - {rolled}
    with Repo(str(repo)) as opened:
        assert consolidate(opened, min_packs=1) == 3
    assert not small & set(packs(repo))
    git("fsck", "--strict", "--no-dangling", cwd=repo)
    assert int(git("rev-list", "--count", BRANCH, cwd=repo)) == len(runs) + len(later) + 4

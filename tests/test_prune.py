"""Pruning old runs: the plan (pure), the prune commit on a real remote, and the run index."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pytest_agentv.index import RunQuery
from pytest_agentv.models import TestRecord, Versions
from pytest_agentv.payload import RunInputs, build_run
from pytest_agentv.redact import Redactor
from pytest_agentv.retention import parse_age, plan_prune, pruned_ids
from pytest_agentv.run_ids import new_run_id
from pytest_agentv.settings import Settings
from pytest_agentv.sources import GitRunSource
from pytest_agentv.store.base import RunArtifacts, RunNotFound
from pytest_agentv.store.git import GitArtifactStore
from pytest_agentv.store.paths import shard_path
from pytest_agentv.store.prune import prune_runs
from tests.cli_support import agentv
from tests.git_fixtures import git

BRANCH = "agentv/checkpoints/v1"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def run_at(days_ago: float, now: datetime = NOW) -> RunArtifacts:
    """A complete run started ``days_ago`` days before ``now``."""
    started = now - timedelta(days=days_ago)
    return build_run(
        RunInputs(
            run_id=new_run_id(),
            started_at=started,
            finished_at=started + timedelta(seconds=2),
            tests=[TestRecord(nodeid="evals/test_a.py::test_a", outcome="passed", duration=1)],
            transcript=[],
            versions=Versions(agentv="0.1.0", pytest="8", python="3.11", platform="linux"),
        ),
        Redactor(),
    )


def rows_of(runs: list[RunArtifacts]) -> list[tuple[str, str]]:
    return [(run.run_id, run.summary.timestamp) for run in runs]


# --- the plan ----------------------------------------------------------------------------------


def test_parse_age():
    assert parse_age("90d") == timedelta(days=90)
    assert parse_age("12h") == timedelta(hours=12)
    assert parse_age("6w") == timedelta(weeks=6)
    for bad in ("90", "d", "0d", "-3d", "3y", "1.5d"):
        with pytest.raises(ValueError, match="use a positive number and a unit: 12h, 90d or 6w"):
            parse_age(bad)


def test_plan_prunes_runs_older_than_the_age_oldest_first():
    rows = [("a" * 16, "2026-02-01T00:00:00Z"), ("b" * 16, "2026-05-31T00:00:00Z")]
    rows.append(("c" * 16, "2026-01-01T00:00:00Z"))
    plan = plan_prune(rows, NOW, "90d")
    assert plan.prune == ("c" * 16, "a" * 16)
    assert plan.keep == 1
    assert plan.cutoff == NOW - timedelta(days=90)


def test_plan_spares_the_newest_runs_whatever_their_age():
    rows = [(f"{n:016x}", f"2025-0{n}-01T00:00:00Z") for n in range(1, 6)]
    assert plan_prune(rows, NOW, "90d", keep_last=2).prune == (
        f"{1:016x}",
        f"{2:016x}",
        f"{3:016x}",
    )
    assert plan_prune(rows, NOW, "90d", keep_last=5).prune == ()
    assert plan_prune(rows, NOW, "90d", keep_last=0).keep == 0
    with pytest.raises(ValueError, match="keep_last must be 0 or more"):
        plan_prune(rows, NOW, "90d", keep_last=-1)


def test_a_run_exactly_at_the_cutoff_is_kept():
    cutoff = (NOW - timedelta(days=90)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert plan_prune([("d" * 16, cutoff)], NOW, "90d").prune == ()


# --- the prune commit on a real remote ----------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, bare_remote: Path) -> tuple[GitArtifactStore, list[RunArtifacts]]:
    """A project pushing to ``bare_remote``, with runs of 200, 120, 30 and 1 days ago."""
    root = tmp_path / "project"
    root.mkdir()
    store = GitArtifactStore(Settings(rootdir=root, backend="git", remote=str(bare_remote)))
    runs = [run_at(days) for days in (200, 120, 30, 1)]
    for run in runs:
        assert store.write(run).delivered
    return store, runs


def tip_files(remote: Path) -> set[str]:
    return set(git("ls-tree", "-r", "--name-only", BRANCH, cwd=remote).splitlines())


def test_prune_removes_old_runs_from_the_tip_in_one_commit(project, bare_remote: Path):
    store, runs = project
    before = git("rev-parse", BRANCH, cwd=bare_remote)
    result = prune_runs(store, rows_of(runs), NOW, "90d")
    assert not result.problems
    assert result.pushed
    assert result.plan.prune == (runs[0].run_id, runs[1].run_id)
    tip = git("rev-parse", BRANCH, cwd=bare_remote)
    assert result.commit == tip
    assert git("rev-parse", f"{tip}^", cwd=bare_remote) == before  # one commit, on the old tip
    files = tip_files(bare_remote)
    for run in runs[:2]:
        assert not any(path.startswith(shard_path(run.run_id)) for path in files)
        # history keeps them
        old = git("show", f"{before}:{shard_path(run.run_id)}/summary.json", cwd=bare_remote)
        assert run.run_id in old
    for run in runs[2:]:
        assert f"{shard_path(run.run_id)}/summary.json" in files
    message = git("log", "-1", "--format=%B", BRANCH, cwd=bare_remote)
    assert message.startswith("Prune 2 run(s) older than 90d\n")
    parsed = git("interpret-trailers", "--parse", input_text=message)
    assert f"AgentV-Pruned: {runs[0].run_id} {runs[1].run_id}" in parsed
    assert "AgentV-Prune: older-than=90d cutoff=2026-03-03T12:00:00Z runs=2" in parsed
    assert pruned_ids(message.encode()) == [runs[0].run_id, runs[1].run_id]
    with pytest.raises(RunNotFound):
        store.read(runs[0].run_id, "summary.json")
    git("fsck", "--strict", cwd=bare_remote)


def test_dry_run_and_nothing_to_prune_write_nothing(project, bare_remote: Path):
    store, runs = project
    before = git("rev-parse", BRANCH, cwd=bare_remote)
    dry = prune_runs(store, rows_of(runs), NOW, "90d", dry_run=True)
    assert dry.dry_run and dry.commit is None
    assert dry.plan.prune == (runs[0].run_id, runs[1].run_id)
    none = prune_runs(store, rows_of(runs), NOW, "365d")
    assert none.plan.prune == () and none.commit is None
    assert git("rev-parse", BRANCH, cwd=bare_remote) == before


def test_pruned_runs_never_come_back(project, bare_remote: Path, tmp_path: Path):
    store, runs = project
    # a second clone indexes all four runs before the prune
    other_root = tmp_path / "other"
    other_root.mkdir()
    other_settings = Settings(rootdir=other_root, backend="git", remote=str(bare_remote))
    other = GitRunSource(GitArtifactStore(other_settings), other_settings)
    other.fetch()
    assert len(other.query(RunQuery())) == 4

    source = GitRunSource(store, store.settings)
    assert len(source.query(RunQuery())) == 4  # the index knows them before the prune
    prune_runs(store, rows_of(runs), NOW, "90d")
    kept = {run.run_id for run in runs[2:]}
    fresh = GitRunSource(store, store.settings)
    assert {row.run_id for row in fresh.query(RunQuery())} == kept  # the index catches up

    # the other clone writes a run: its catch-up brings the prune commit, never the old runs
    newer = run_at(0)
    assert GitArtifactStore(other_settings).write(newer).delivered
    other = GitRunSource(GitArtifactStore(other_settings), other_settings)
    assert {row.run_id for row in other.query(RunQuery())} == kept | {newer.run_id}
    files = tip_files(bare_remote)
    assert not any(path.startswith(shard_path(runs[0].run_id)) for path in files)

    # a rebuilt index (cache removed) walks the whole history and still leaves them out
    shutil.rmtree(other_root / ".agentv" / "cache")
    rebuilt = GitRunSource(GitArtifactStore(other_settings), other_settings)
    rebuilt.fetch()
    assert {row.run_id for row in rebuilt.query(RunQuery())} == kept | {newer.run_id}

    # pruning again with the old rows is a no-op on the branch
    tip = git("rev-parse", BRANCH, cwd=bare_remote)
    again = prune_runs(store, rows_of(runs), NOW, "90d")
    assert not again.problems
    assert git("rev-parse", BRANCH, cwd=bare_remote) == tip


# --- agentv-results prune ------------------------------------------------------------------------


def test_cli_prune_dry_run_then_prune_as_json(tmp_path: Path, bare_remote: Path):
    root = tmp_path / "project"
    root.mkdir()
    settings = Settings(rootdir=root, backend="git", remote=str(bare_remote))
    now = datetime.now(UTC)
    runs = [run_at(days, now) for days in (400, 100, 10)]
    store = GitArtifactStore(settings)
    for run in runs:
        assert store.write(run).delivered
    where = ("--backend", "git", "--remote", str(bare_remote))
    tip = git("rev-parse", BRANCH, cwd=bare_remote)

    dry = agentv(root, "prune", "--older-than", "90d", "--dry-run", *where)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith("would prune 2 run(s) started before ")
    assert f"  {runs[0].run_id}  {runs[0].summary.timestamp}" in dry.stdout
    assert "2 run(s)" in dry.stdout and "1 run(s) stay on branch" in dry.stdout
    assert git("rev-parse", BRANCH, cwd=bare_remote) == tip

    done = agentv(root, "prune", "--older-than", "90d", "--keep-last", "2", "--json", *where)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [entry["run_id"] for entry in report["pruned"]] == [runs[0].run_id]
    assert report["kept"] == 2 and report["keep_last"] == 2 and not report["dry_run"]
    assert report["pushed"] is True and report["problems"] == []
    assert report["commit"] == git("rev-parse", BRANCH, cwd=bare_remote)

    listed = agentv(root, "list", "--json", *where)
    assert listed.returncode == 0, listed.stderr
    assert {run["summary"]["runId"] for run in json.loads(listed.stdout)} == {
        r.run_id for r in runs[1:]
    }
    shown = agentv(root, "show", runs[0].run_id, *where)
    assert shown.returncode == 1


def test_cli_prune_errors_are_one_line(tmp_path: Path, bare_remote: Path):
    bad = agentv(tmp_path, "prune", "--older-than", "90", "--backend", "git")
    assert bad.returncode == 2
    assert "use a positive number and a unit: 12h, 90d or 6w" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    local = agentv(tmp_path, "prune", "--older-than", "90d", "--backend", "local")
    assert local.returncode == 2
    assert "prune removes runs from a git results branch" in local.stderr

"""The local backend: layout, atomic writes, immutability, reading back."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_agentv.store import RunExists, RunNotFound, StoreError
from pytest_agentv.store.local import LocalArtifactStore
from pytest_agentv.store.paths import new_run_id, shard_path
from tests.runs import local_run as make_run


def test_layout(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path / "runs")
    run = make_run("a3b2c4d5e6f78901")
    result = store.write(run)
    run_dir = tmp_path / "runs" / "a3" / "b2c4d5e6f78901"
    assert result.location == str(run_dir)  # outside the working directory: absolute
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "metadata.json",
        "summary.json",
        "transcript.jsonl",
    ]
    for name, data in run.files.items():
        assert (run_dir / name).read_bytes() == data
    # no staging directory left behind
    assert [p.name for p in (tmp_path / "runs" / "a3").iterdir()] == ["b2c4d5e6f78901"]


def test_existing_run_is_never_overwritten(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    first = make_run("00112233aabbccdd")
    store.write(first)
    with pytest.raises(RunExists, match="00112233aabbccdd already exists"):
        store.write(make_run("00112233aabbccdd", minutes=5))
    assert store.read("00112233aabbccdd", "summary.json") == first.files["summary.json"]


def test_failed_write_leaves_nothing_half_written(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    run = make_run("ffeeddccbbaa0011")
    # a file in the way of the shard directory makes the write fail part-way
    (tmp_path / "ff").write_text("not a directory")
    with pytest.raises(StoreError, match="cannot create"):
        store.write(run)
    assert not list(tmp_path.glob("ff*/*"))


def test_list_newest_first_and_read(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    ids = [store.write(make_run(minutes=m)).run_id for m in (1, 3, 2)]
    listed = [run.summary.run_id for run in store.list()]
    assert listed == [ids[1], ids[2], ids[0]]
    assert all(not run.pending for run in store.list())
    with pytest.raises(RunNotFound):
        store.read("0000000000000000", "summary.json")
    with pytest.raises(ValueError, match="not a run id"):
        store.read("../../etc", "summary.json")
    with pytest.raises(ValueError, match="not a run file"):
        store.read(ids[0], "secrets.txt")


def test_list_skips_junk(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    store.write(make_run())
    (tmp_path / "zz" / "notarun").mkdir(parents=True)
    (tmp_path / "zz" / "notarun" / "summary.json").write_text("{}")
    (tmp_path / "ab" / "cdef0123456789").mkdir(parents=True)
    (tmp_path / "ab" / "cdef0123456789" / "summary.json").write_text("not json")
    assert len(list(store.list())) == 1


def test_shard_path() -> None:
    assert shard_path("a3b2c4d5e6f78901") == "a3/b2c4d5e6f78901"
    assert shard_path("a3b2c4d5e6f78901", "evals/runs") == "evals/runs/a3/b2c4d5e6f78901"
    with pytest.raises(ValueError):
        shard_path("A3B2C4D5E6F78901")


def test_run_ids_are_random_hex() -> None:
    ids = {new_run_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 16 and int(i, 16) >= 0 and i == i.lower() for i in ids)

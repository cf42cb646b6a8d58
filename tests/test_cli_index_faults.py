"""The CLI copes where the plugin copes: a corrupt or unusable index, a cache that lost objects."""

from __future__ import annotations

import shutil
from pathlib import Path

from pytest_agentv.settings import Settings
from pytest_agentv.store import open_store
from tests.cli_support import agentv
from tests.git_fixtures import git
from tests.runs import make_run

GIT = ("--backend", "git")


def _runs(root: Path, count: int, **settings: str) -> list[str]:
    store = open_store(Settings(rootdir=root, backend="git", **settings))  # type: ignore[arg-type]
    runs = [make_run() for _ in range(count)]
    for run in runs:
        assert store.write(run).delivered
    return [run.run_id for run in runs]


def _clean(result: object) -> None:
    out = getattr(result, "stdout", "") + getattr(result, "stderr", "")
    assert "Traceback" not in out, out


def test_a_corrupt_index_is_rebuilt(source_repo: Path) -> None:
    run_ids = _runs(source_repo, 150)
    assert agentv(source_repo, "list", *GIT).returncode == 0
    (index,) = (source_repo / ".agentv" / "cache").glob("runs-*.sqlite3")
    data = bytearray(index.read_bytes())
    data[4096 * 3 : 4096 * 6] = b"Z" * (4096 * 3)  # pages of the runs table
    index.write_bytes(bytes(data))
    for suffix in ("-wal", "-shm"):
        Path(f"{index}{suffix}").unlink(missing_ok=True)

    listed = agentv(source_repo, "list", *GIT, "--json", "--limit", "0")
    shown = agentv(source_repo, "show", "latest~3", *GIT)

    _clean(listed)
    _clean(shown)
    assert listed.returncode == 0 and shown.returncode == 0, listed.stderr + shown.stderr
    assert listed.stdout.count('"commit"') == len(run_ids)


def test_an_index_that_cannot_be_a_file_is_kept_in_memory(source_repo: Path) -> None:
    run_ids = _runs(source_repo, 3)
    assert agentv(source_repo, "list", *GIT).returncode == 0
    (index,) = (source_repo / ".agentv" / "cache").glob("runs-*.sqlite3")
    index.unlink()
    index.mkdir()  # sqlite cannot open a directory

    listed = agentv(source_repo, "list", *GIT)

    _clean(listed)
    assert listed.returncode == 0, listed.stderr
    assert all(run_id[:8] in listed.stdout for run_id in run_ids)


def test_list_no_fetch_with_a_lost_pack(source_repo: Path, bare_remote: Path) -> None:
    remote = str(bare_remote)
    run_ids = _runs(source_repo, 2, remote=remote)
    (cache,) = (source_repo / ".agentv" / "cache").glob("*.git")
    git("repack", "-a", "-d", "-q", cwd=cache)
    for pack in (cache / "objects" / "pack").iterdir():
        pack.unlink()

    listed = agentv(source_repo, "list", *GIT, "--remote", remote, "--no-fetch")
    shown = agentv(source_repo, "show", run_ids[0][:8], *GIT, "--remote", remote, "--no-fetch")

    _clean(listed)
    _clean(shown)
    assert listed.returncode == 0  # the ref to a missing commit is dropped: nothing to list
    assert shown.returncode != 0
    assert shown.stderr.startswith("agentv-results: error: no run starting with")
    healed = agentv(source_repo, "list", *GIT, "--remote", remote)
    assert healed.returncode == 0, healed.stderr
    assert all(run_id[:8] in healed.stdout for run_id in run_ids)
    shutil.rmtree(cache)

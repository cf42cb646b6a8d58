"""Keeping a repository's packs few: geometric consolidation, the way ``git repack --geometric``
does it.

Every commit the writer makes is one small pack, every fetch and every push into a path remote
adds one more; left alone, a branch of 100k runs would sit in 100k packs, and every lookup, fetch
and push (dulwich opens the index of each pack) would grow with them. After a write, the
smallest packs are rolled into one whenever they break a geometric progression (each pack at
least twice the objects of the next smaller one), so a repository keeps O(log n) packs and each
object is rewritten O(log n) times over its life: the cost per write stays flat.

Packs are only ever added, then the rolled-up ones removed once the new pack (index last) is in
place, so a concurrent reader finds every object at any moment (dulwich and git both rescan the
pack directory when a pack they opened is gone). Only one process consolidates a repository at
a time; the others skip it (:func:`consolidate` is an optimisation, never a requirement).
"""

from __future__ import annotations

import contextlib
import os
import struct
from pathlib import Path

import filelock
from dulwich.objects import ShaFile
from dulwich.pack import Pack, load_pack_index
from dulwich.repo import Repo

from pytest_agentv.git.objects import RawEntry, write_pack, write_raw_pack

#: below this many packs nothing is consolidated (listing them is the only cost)
MIN_PACKS = 12
#: the same after a write that lost push races: it should finish quickly and let the next
#: writer in (every fetch adds a pack; a quieter write rolls them up)
BUSY_MIN_PACKS = 3 * MIN_PACKS
FACTOR = 2
#: packs bigger than this (a huge transcript) are left alone
MAX_ROLLUP_BYTES = 32 * 1024 * 1024
_LOCK = "agentv-consolidate.lock"


def rollup_count(sizes: list[int], factor: int = FACTOR) -> int:
    """How many of the smallest packs (``sizes`` ascending, in objects) to roll into one so the
    rest keep a geometric progression, each at least ``factor`` times the one below (pure).

    Example: ``[1, 1, 1, 1, 40]`` -> 4 (the four singles become one pack of 4; 40 ≥ 2x4);
    ``[1, 2, 4, 8]`` -> 0 (already a progression).
    """
    split = len(sizes) - 1
    while split > 0 and sizes[split] >= factor * sizes[split - 1]:
        split -= 1
    if split == 0:
        return 0
    count = split + 1  # the pack breaking the progression rolls up with everything below it
    total = sum(sizes[:count])
    while count < len(sizes) and sizes[count] < factor * total:
        total += sizes[count]
        count += 1
    return count if count >= 2 else 0


def consolidate(repo: Repo, min_packs: int = MIN_PACKS) -> int:
    """Roll the smallest packs of ``repo`` into one when they break the progression; return
    how many packs were rolled up (0 when there was nothing to do or another process is at it)."""
    pack_dir = Path(repo.object_store.path) / "pack"
    try:
        names = [name[:-4] for name in os.listdir(pack_dir) if name.endswith(".idx")]
    except FileNotFoundError:
        return 0
    if len(names) < min_packs:
        return 0
    guard = filelock.FileLock(str(pack_dir / _LOCK), timeout=0)
    try:
        guard.acquire()
    except filelock.Timeout:
        return 0
    try:
        return _rollup(repo, pack_dir)
    finally:
        guard.release()


def _rollup(repo: Repo, pack_dir: Path) -> int:
    packs: list[tuple[int, str]] = []
    for name in sorted(os.listdir(pack_dir)):
        base = name[:-4]
        if not name.endswith(".idx") or (pack_dir / f"{base}.keep").exists():
            continue  # a .keep pack is never repacked (git's rule)
        try:
            if (pack_dir / f"{base}.pack").stat().st_size > MAX_ROLLUP_BYTES:
                continue  # a big transcript stays in its own pack: no copy held in memory
            packs.append((index_count(pack_dir / name), base))
        except (OSError, ValueError):
            continue  # half-written or unreadable: not ours to touch
    packs.sort()
    count = rollup_count([size for size, _name in packs])
    if count < 2:
        return 0
    chosen = [name for _size, name in packs[:count]]
    try:
        written = write_raw_pack(repo, _raw_entries(repo, pack_dir, chosen))
    except _HasDeltas:
        written = _repack_objects(repo, pack_dir, chosen)
    for name in chosen:
        if name == written:
            continue  # the rolled-up pack came out byte-identical to one of them
        for suffix in (".idx", ".pack"):  # index first: nobody opens the pack after
            with contextlib.suppress(FileNotFoundError):
                (pack_dir / f"{name}{suffix}").unlink()
    return count


def index_count(idx: Path) -> int:
    """Objects in a version 2 pack index, read from its fan-out table (no index load)."""
    with open(idx, "rb") as handle:
        head = handle.read(8 + 256 * 4)
    if len(head) < 8 + 256 * 4 or head[:4] != b"\377tOc":
        raise ValueError(f"{idx} is not a version 2 pack index")
    return int(struct.unpack(">I", head[-4:])[0])


class _HasDeltas(Exception):
    """A pack holds deltified entries (a fetched pack): they cannot be copied as they are."""


_OFS_DELTA, _REF_DELTA = 6, 7


def _raw_entries(repo: Repo, pack_dir: Path, names: list[str]) -> list[RawEntry]:
    """Every entry of the packs ``names`` as stored (sha, bytes, crc32), each object once."""
    entries: dict[bytes, RawEntry] = {}
    for name in names:
        index = load_pack_index(
            str(pack_dir / f"{name}.idx"), object_format=repo.object_store.object_format
        )
        try:
            located = sorted((offset, sha, crc) for sha, offset, crc in index.iterentries())
        finally:
            index.close()
        data = (pack_dir / f"{name}.pack").read_bytes()
        ends = [offset for offset, _sha, _crc in located[1:]] + [len(data) - 20]
        for (offset, sha, crc), end in zip(located, ends, strict=True):
            if (data[offset] >> 4) & 7 in (_OFS_DELTA, _REF_DELTA) or crc is None:
                raise _HasDeltas(name)
            entries.setdefault(sha, (sha, data[offset:end], crc))
    return list(entries.values())


def _repack_objects(repo: Repo, pack_dir: Path, names: list[str]) -> str | None:
    """The packs ``names`` inflated and written again as one (deltas resolved)."""
    objects: dict[bytes, ShaFile] = {}
    for name in names:
        pack = Pack(str(pack_dir / name), object_format=repo.object_store.object_format)
        try:
            for obj in pack.iterobjects():
                objects[obj.id] = obj
        finally:
            pack.close()
    return write_pack(repo, list(objects.values()))

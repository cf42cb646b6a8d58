"""A fast pack reader for first-parent walks (one mmap lookup and one inflate per object)."""

from __future__ import annotations

import mmap
import struct
import zlib
from bisect import bisect_left
from collections.abc import Callable, Iterator
from pathlib import Path

from dulwich.objects import ObjectID
from dulwich.pack import apply_delta
from dulwich.repo import Repo

from pytest_agentv.git.errors import GitError


class _PackIndex:
    """One pack (v2 index) read with mmap: object lookups without dulwich's per-call layers."""

    def __init__(self, idx_path: Path) -> None:
        with open(idx_path, "rb") as handle:
            self.idx = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        with open(idx_path.with_suffix(".pack"), "rb") as handle:
            self.pack = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        if self.idx[:8] != b"\xfftOc\x00\x00\x00\x02":
            raise ValueError("not a version 2 pack index")
        self.fanout = struct.unpack_from(">256I", self.idx, 8)
        self.count = self.fanout[255]
        self.names = 8 + 1024
        self.offsets = self.names + 24 * self.count
        self.large = self.offsets + 4 * self.count
        # per fan-out bucket: (first position, sorted names), built on first use so that
        # lookups bisect in C instead of probing the mmap from Python
        self._buckets: dict[int, tuple[int, list[bytes]]] = {}

    def close(self) -> None:
        self.idx.close()
        self.pack.close()

    def offset(self, binsha: bytes) -> int | None:
        first = binsha[0]
        bucket = self._buckets.get(first)
        if bucket is None:
            low = self.fanout[first - 1] if first else 0
            block = self.idx[self.names + 20 * low : self.names + 20 * self.fanout[first]]
            bucket = (low, [block[at : at + 20] for at in range(0, len(block), 20)])
            self._buckets[first] = bucket
        low, names = bucket
        position = bisect_left(names, binsha)
        if position == len(names) or names[position] != binsha:
            return None
        idx = self.idx
        index = low + position
        (offset,) = struct.unpack_from(">I", idx, self.offsets + 4 * index)
        if offset & 0x80000000:
            (offset,) = struct.unpack_from(">Q", idx, self.large + 8 * (offset & 0x7FFFFFFF))
        return int(offset)

    def read(
        self, offset: int, resolve: Callable[[bytes], tuple[int, bytes] | None]
    ) -> tuple[int, bytes]:
        pack = self.pack
        byte = pack[offset]
        kind = (byte >> 4) & 7
        size = byte & 15
        shift = 4
        position = offset + 1
        while byte & 0x80:
            byte = pack[position]
            position += 1
            size |= (byte & 0x7F) << shift
            shift += 7
        base: tuple[int, bytes] | None = None
        if kind == 6:  # OFS_DELTA: base at a relative offset in this pack
            byte = pack[position]
            position += 1
            distance = byte & 0x7F
            while byte & 0x80:
                byte = pack[position]
                position += 1
                distance = ((distance + 1) << 7) | (byte & 0x7F)
            base = self.read(offset - distance, resolve)
        elif kind == 7:  # REF_DELTA: base named by sha
            base = resolve(bytes(pack[position : position + 20]))
            position += 20
            if base is None:
                raise KeyError("missing delta base")
        data = _inflate(pack, position, size)
        if base is None:
            return kind, data
        return base[0], b"".join(apply_delta(base[1], data))


def _inflate(buffer: mmap.mmap, position: int, size: int) -> bytes:
    window = size + 64
    try:  # one call for the usual case: zlib stops at the stream's end and ignores what follows
        return zlib.decompress(buffer[position : position + window])
    except zlib.error:
        pass  # the stream is longer than the window (incompressible data): grow it
    while True:
        inflater = zlib.decompressobj()
        data = inflater.decompress(buffer[position : position + window])
        if inflater.eof or position + window >= len(buffer):
            return data
        window *= 4


class ObjectReader:
    """Reads raw objects straight from a repository's packs, falling back to dulwich.

    Used for walks: one mmap'd lookup and one inflate per object. Loose objects, alternates and
    packs written after opening are served by the object store's own ``get_raw``.
    """

    def __init__(self, repo: Repo) -> None:
        self._store = repo.object_store
        self._packs: list[_PackIndex] = []
        pack_dir = Path(repo.commondir()) / "objects" / "pack"
        for idx_path in sorted(pack_dir.glob("*.idx")):
            try:
                self._packs.append(_PackIndex(idx_path))
            except (OSError, ValueError):
                continue  # unreadable or unusual pack: the fallback still finds its objects

    def close(self) -> None:
        """Release the mmaps."""
        for pack in self._packs:
            pack.close()
        self._packs = []

    def __enter__(self) -> ObjectReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _packed(self, binsha: bytes) -> tuple[int, bytes] | None:
        packs = self._packs
        for number, pack in enumerate(packs):
            offset = pack.offset(binsha)
            if offset is not None:
                if number:  # consecutive objects tend to share a pack; try it first next time
                    packs.insert(0, packs.pop(number))
                try:
                    return pack.read(offset, self._packed)
                except (KeyError, ValueError, IndexError, zlib.error):
                    return None
        return None

    def raw(self, hexsha: bytes) -> tuple[int, bytes]:
        """``(type number, raw bytes)`` of an object; KeyError if absent."""
        found = self._packed(bytes.fromhex(hexsha.decode("ascii"))) if self._packs else None
        if found is not None:
            return found
        kind, data = self._store.get_raw(ObjectID(hexsha))
        return int(kind), data


def walk_first_parent(
    reader: ObjectReader, tip: str, stop_at: str | None = None
) -> Iterator[tuple[str, bytes, int]]:
    """``(sha, message, commit time)`` along first parents from ``tip``, before ``stop_at``.

    Never reads trees: the first parent sits right after the ``tree`` line of a commit.
    """
    stop = stop_at.encode("ascii") if stop_at else None
    sha: bytes | None = tip.encode("ascii")
    while sha is not None and sha != stop:
        kind, raw = reader.raw(sha)
        if kind != 1:
            raise GitError(f"{sha.decode()} is not a commit")
        header_end = raw.find(b"\n\n")
        if header_end < 0:
            header_end = len(raw)
        next_sha = raw[53:93] if raw[46:53] == b"parent " else None
        committer = raw.rfind(b"\ncommitter ", 0, header_end)
        line_end = raw.find(b"\n", committer + 1)
        fields = raw[committer:line_end].rsplit(b" ", 2)
        commit_time = int(fields[-2]) if len(fields) == 3 else 0
        yield sha.decode("ascii"), raw[header_end + 2 :], commit_time
        sha = next_sha

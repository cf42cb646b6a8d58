"""Blobs, trees and commits: writing a set of file changes as one commit, reading paths back.

A change touches only the trees on the changed paths, so the cost of a commit does not grow with
the number of files on the branch. Everything a commit adds (its blobs, trees and the commit)
is written as one small pack, not as one loose object file each: two files per commit instead
of seven, and :mod:`.maintenance` keeps the number of packs small.
"""

from __future__ import annotations

import hashlib
import os
import struct
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO

from dulwich.objects import Blob, Commit, ObjectID, ShaFile, Tree
from dulwich.pack import iter_sha1, write_pack_index, write_pack_objects
from dulwich.repo import Repo

from pytest_agentv.git.errors import GitError

DIR_MODE = 0o040000
FILE_MODE = 0o100644
_GITLINK_MODE = 0o160000


@dataclass(frozen=True)
class CommitMeta:
    """Message and identities of a commit (times in seconds since the epoch, always UTC)."""

    message: bytes
    author: str
    committer: str
    author_time: int
    commit_time: int


def commit_object(repo: Repo, sha: str | ObjectID) -> Commit:
    key = sha if isinstance(sha, bytes) else sha.encode("ascii")
    obj = repo.object_store[ObjectID(key)]
    if not isinstance(obj, Commit):
        raise GitError(f"{key.decode()} is not a commit")
    return obj


def tree_object(repo: Repo, sha: ObjectID) -> Tree:
    obj = repo.object_store[sha]
    if not isinstance(obj, Tree):
        raise GitError(f"{sha.decode()} is not a tree")
    return obj


def read_blob_id(repo: Repo, sha: str) -> bytes:
    """The bytes of the blob ``sha``."""
    obj = repo.object_store[ObjectID(sha.encode("ascii"))]
    if not isinstance(obj, Blob):
        raise GitError(f"{sha} is not a blob")
    return obj.as_raw_string()


def commit_changes(
    repo: Repo,
    parent: str | None,
    changes: Mapping[str, str | bytes | None],
    meta: CommitMeta,
) -> str:
    """Commit ``parent``'s tree with ``changes`` applied, as one pack; return the commit's sha.

    A change maps a path to a blob sha (``str``, an object already stored), to new file contents
    (``bytes``, stored now) or to None (delete). Directories left empty by deletions disappear, as
    in git. Raises :class:`GitError` when a path needs a directory where the branch has a file,
    or the other way round.
    """
    new: list[ShaFile] = []
    base: ObjectID | None = commit_object(repo, parent).tree if parent is not None else None
    nested: dict[tuple[bytes, ...], ObjectID | None] = {}
    for path, change in changes.items():
        parts = tuple(part.encode("utf-8") for part in path.split("/"))
        if isinstance(change, bytes):
            blob = Blob.from_string(change)
            new.append(blob)
            nested[parts] = blob.id
        else:
            nested[parts] = ObjectID(change.encode("ascii")) if change is not None else None
    root = _edit_tree(repo, base, nested, "", new)
    if root is None:
        empty = Tree()
        new.append(empty)
        root = empty.id
    commit = Commit()
    commit.tree = root
    commit.parents = [ObjectID(parent.encode("ascii"))] if parent else []
    commit.author = meta.author.encode("utf-8")
    commit.committer = meta.committer.encode("utf-8")
    commit.author_time = meta.author_time
    commit.commit_time = meta.commit_time
    commit.author_timezone = commit.commit_timezone = 0
    commit.message = meta.message
    new.append(commit)
    write_pack(repo, new)
    return commit.id.decode("ascii")


def write_pack(repo: Repo, objects: list[ShaFile]) -> str | None:
    """Store ``objects`` as one new pack; return its name (``pack-<sha>``, no extension).

    Written here rather than through dulwich's ``add_objects``: that one compares the new
    pack's name with the name of every existing pack, hashing every object id of the
    repository on each call, so a commit would cost more as the branch grows. The pack and then
    its index are renamed into place, so readers see all of a pack or none of it.
    """
    unique = list({obj.id: obj for obj in objects}.values())
    if not unique:
        return None
    object_format = repo.object_store.object_format

    def body(out: IO[bytes]) -> tuple[list[tuple[bytes, int, int]], bytes]:
        found, checksum = write_pack_objects(
            out, [(obj, None) for obj in unique], object_format=object_format
        )
        entries = [(sha, offset, crc) for sha, (offset, crc) in found.items()]
        return entries, checksum

    return _store_pack(repo, body)


#: a pack entry copied as it is: ``(object id, the entry's bytes, their crc32)``
RawEntry = tuple[bytes, bytes, int]


def write_raw_pack(repo: Repo, entries: list[RawEntry]) -> str | None:
    """Store already-compressed whole-object pack entries (no deltas) as one new pack, without
    inflating and deflating them again: what rolling small packs into one needs."""
    if not entries:
        return None

    def body(out: IO[bytes]) -> tuple[list[tuple[bytes, int, int]], bytes]:
        digest = hashlib.sha1(usedforsecurity=False)
        header = b"PACK" + struct.pack(">II", 2, len(entries))
        out.write(header)
        digest.update(header)
        offset = len(header)
        index = []
        for sha, raw, crc in entries:
            index.append((sha, offset, crc))
            out.write(raw)
            digest.update(raw)
            offset += len(raw)
        checksum = digest.digest()
        out.write(checksum)
        return index, checksum

    return _store_pack(repo, body)


def _store_pack(
    repo: Repo, body: Callable[[IO[bytes]], tuple[list[tuple[bytes, int, int]], bytes]]
) -> str:
    """Write a pack with ``body`` (returning its index entries and checksum) to a temp file,
    then its index, both fsynced, then rename the pack and last the index into place.

    Both are fsynced before the caller moves a ref to what they hold (git's own default for
    packs): a commit is the only copy of a run once the branch points at it.
    """
    store = repo.object_store
    pack_dir = str(store.pack_dir)
    os.makedirs(pack_dir, exist_ok=True)
    fd, pack_tmp = tempfile.mkstemp(dir=pack_dir, prefix="tmp_pack_")  # git gc's temp name
    idx_tmp = None
    try:
        with os.fdopen(fd, "wb") as out:
            found, checksum = body(out)
            out.flush()
            os.fsync(out.fileno())
        entries = sorted(found)
        name = "pack-" + iter_sha1(sha for sha, _offset, _crc in entries).decode("ascii")
        base = os.path.join(pack_dir, name)
        if os.path.exists(base + ".idx"):  # these very objects are packed already
            os.unlink(pack_tmp)
            return name
        fd, idx_tmp = tempfile.mkstemp(dir=pack_dir, prefix="tmp_idx_")
        with os.fdopen(fd, "wb") as out:
            write_pack_index(out, entries, checksum)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(pack_tmp, 0o444)
        os.chmod(idx_tmp, 0o444)
        os.replace(pack_tmp, base + ".pack")
        os.replace(idx_tmp, base + ".idx")
        return name
    except BaseException:
        for leftover in (pack_tmp, idx_tmp):
            if leftover is not None and os.path.exists(leftover):
                os.unlink(leftover)
        raise


def _edit_tree(
    repo: Repo,
    tree_id: ObjectID | None,
    changes: Mapping[tuple[bytes, ...], ObjectID | None],
    where: str,
    new: list[ShaFile],
) -> ObjectID | None:
    """The tree ``tree_id`` with ``changes`` applied (new trees go to ``new``); None when
    nothing is left in it."""
    tree = Tree()
    if tree_id is not None:
        for entry in tree_object(repo, tree_id).iteritems():
            tree.add(entry.path, entry.mode, entry.sha)
    below: dict[bytes, dict[tuple[bytes, ...], ObjectID | None]] = {}
    for parts, sha in changes.items():
        name = parts[0]
        if len(parts) > 1:
            below.setdefault(name, {})[parts[1:]] = sha
            continue
        existing = tree[name] if name in tree else None  # noqa: SIM401 (a Tree has no .get)
        if existing is not None and existing[0] == DIR_MODE:
            raise GitError(f"cannot write the file {where}{name.decode()}: it is a directory")
        if sha is None:
            if existing is not None:
                del tree[name]
        else:
            tree.add(name, FILE_MODE, sha)
    for name, sub_changes in below.items():
        existing = tree[name] if name in tree else None  # noqa: SIM401
        if existing is not None and existing[0] != DIR_MODE:
            raise GitError(f"cannot write under {where}{name.decode()}: it is a file")
        child = _edit_tree(
            repo, existing[1] if existing else None, sub_changes, f"{where}{name.decode()}/", new
        )
        if child is None:
            if existing is not None:
                del tree[name]
        else:
            tree.add(name, DIR_MODE, child)
    if not len(tree):
        return None
    if tree_id is not None and tree.id == tree_id:
        return tree_id  # unchanged (a delete of a path that was not there)
    new.append(tree)
    return tree.id


def tree_entry(repo: Repo, commit: str, path: str) -> tuple[int, str] | None:
    """``(mode, sha)`` of ``path`` in ``commit``'s tree (``""`` is the root); None if absent."""
    mode = DIR_MODE
    sha: ObjectID = commit_object(repo, commit).tree
    for part in path.split("/") if path else ():
        if mode != DIR_MODE:
            return None
        tree = tree_object(repo, sha)
        name = part.encode("utf-8")
        if name not in tree:
            return None
        mode, sha = tree[name]
    return mode, sha.decode("ascii")


def tree_entries(repo: Repo, commit: str, paths: list[str]) -> dict[str, tuple[int, str] | None]:
    """:func:`tree_entry` of each of ``paths``, every tree on the way read and parsed once
    (the paths of one change share their directories)."""
    root: ObjectID = commit_object(repo, commit).tree
    trees: dict[ObjectID, Tree] = {}
    out: dict[str, tuple[int, str] | None] = {}
    for path in paths:
        mode, sha = DIR_MODE, root
        found = True
        for part in path.split("/") if path else ():
            if mode != DIR_MODE:
                found = False
                break
            tree = trees.get(sha)
            if tree is None:
                tree = trees[sha] = tree_object(repo, sha)
            name = part.encode("utf-8")
            if name not in tree:
                found = False
                break
            mode, sha = tree[name]
        out[path] = (mode, sha.decode("ascii")) if found else None
    return out


def blob_at(repo: Repo, commit: str, path: str) -> str | None:
    """The blob sha of the file at ``path`` in ``commit``, or None if there is no such file."""
    entry = tree_entry(repo, commit, path)
    if entry is None or entry[0] in (DIR_MODE, _GITLINK_MODE):
        return None
    return entry[1]


def list_dir(repo: Repo, commit: str, path: str) -> list[str]:
    """The entry names of the directory ``path`` in ``commit``, sorted; [] if it is none."""
    entry = tree_entry(repo, commit, path)
    if entry is None or entry[0] != DIR_MODE:
        return []
    tree = tree_object(repo, ObjectID(entry[1].encode("ascii")))
    return sorted(item.path.decode("utf-8") for item in tree.iteritems())


def changed_files(repo: Repo, sha: str) -> dict[str, tuple[str | None, str | None]]:
    """``path -> (blob before, blob after)`` for every file ``sha`` changed vs its first parent."""
    commit = commit_object(repo, sha)
    old = commit_object(repo, commit.parents[0]).tree if commit.parents else None
    out: dict[str, tuple[str | None, str | None]] = {}
    _diff_trees(repo, old, commit.tree, "", out)
    return out


def _files(repo: Repo, tree_id: ObjectID | None) -> dict[bytes, tuple[int, ObjectID]]:
    if tree_id is None:
        return {}
    return {entry.path: (entry.mode, entry.sha) for entry in tree_object(repo, tree_id).iteritems()}


def _diff_trees(
    repo: Repo,
    old: ObjectID | None,
    new: ObjectID | None,
    prefix: str,
    out: dict[str, tuple[str | None, str | None]],
) -> None:
    if old == new:
        return
    before, after = _files(repo, old), _files(repo, new)
    for name in sorted(set(before) | set(after)):
        was, now = before.get(name), after.get(name)
        if was == now:
            continue
        path = prefix + name.decode("utf-8")
        old_dir = was[1] if was is not None and was[0] == DIR_MODE else None
        new_dir = now[1] if now is not None and now[0] == DIR_MODE else None
        if old_dir is not None or new_dir is not None:
            _diff_trees(repo, old_dir, new_dir, path + "/", out)
        old_blob = was[1].decode("ascii") if was is not None and was[0] != DIR_MODE else None
        new_blob = now[1].decode("ascii") if now is not None and now[0] != DIR_MODE else None
        if old_blob != new_blob:
            out[path] = (old_blob, new_blob)


def commit_meta(repo: Repo, sha: str) -> CommitMeta:
    """The message, identities and times of a commit, to rebuild it elsewhere."""
    commit = commit_object(repo, sha)
    return CommitMeta(
        message=commit.message,
        author=commit.author.decode("utf-8", "replace"),
        committer=commit.committer.decode("utf-8", "replace"),
        author_time=commit.author_time,
        commit_time=commit.commit_time,
    )


def commit_parents(repo: Repo, sha: str) -> list[str]:
    """The parents of a commit, first parent first."""
    return [parent.decode("ascii") for parent in commit_object(repo, sha).parents]


# The root commit of every new branch. Its tree, identity and date are fixed and its message and
# README come from the branch's kind, so two machines creating the same branch at the same time
# make the same commit and never diverge.
GENESIS_IDENTITY = "AgentV <agentv@localhost>"
GENESIS_TIME = 1704067200  # 2024-01-01T00:00:00Z


def _genesis_objects(message: bytes, readme: bytes) -> tuple[Blob, Tree, Commit]:
    blob = Blob.from_string(readme)
    tree = Tree()
    tree.add(b"README.md", FILE_MODE, blob.id)
    commit = Commit()
    commit.tree = tree.id
    commit.parents = []
    commit.author = commit.committer = GENESIS_IDENTITY.encode("utf-8")
    commit.author_time = commit.commit_time = GENESIS_TIME
    commit.author_timezone = commit.commit_timezone = 0
    commit.message = message
    return blob, tree, commit


def genesis_sha(message: bytes, readme: bytes) -> str:
    """The sha of the genesis commit with this message and README (the same everywhere)."""
    return _genesis_objects(message, readme)[2].id.decode("ascii")


def genesis_commit(repo: Repo, message: bytes, readme: bytes) -> str:
    """Write the deterministic root commit of a new branch; return its sha."""
    objects = _genesis_objects(message, readme)
    if not has_object(repo, objects[2].id.decode("ascii")):
        write_pack(repo, list(objects))
    return objects[2].id.decode("ascii")


def has_object(repo: Repo, sha: str) -> bool:
    """True if the object store holds ``sha``."""
    return ObjectID(sha.encode("ascii")) in repo.object_store


def is_ancestor(repo: Repo, ancestor: str, descendant: str) -> bool:
    """True if ``ancestor`` is reachable from ``descendant`` (or is it)."""
    from dulwich.graph import can_fast_forward

    return bool(
        can_fast_forward(
            repo, ObjectID(ancestor.encode("ascii")), ObjectID(descendant.encode("ascii"))
        )
    )

"""The one module that speaks dulwich: source provenance and the git plumbing stores use.

Imported lazily (dulwich is a heavy import) and only by code that needs git. Everything here takes
and returns plain types (hex strings, bytes, paths); :mod:`pytest_agentv.store.git` holds the store
logic. Error messages never contain URL credentials (:func:`scrub`).
"""

from __future__ import annotations

import mmap
import os
import re
import struct
import time
import zlib
from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from dulwich.config import StackedConfig
from dulwich.errors import HangupException, NotGitRepository
from dulwich.file import FileLocked
from dulwich.objects import Blob, Commit, ObjectID, ShaFile, Tree
from dulwich.pack import apply_delta, pack_objects_to_data
from dulwich.refs import Ref
from dulwich.repo import Repo
from dulwich.trailers import Trailer, format_trailers, parse_trailers

if TYPE_CHECKING:
    # dulwich.client (transports) loads only when something is fetched or pushed
    from dulwich.client import FetchPackResult, GitClient, LsRemoteResult

    from pytest_agentv.payload import Provenance

_SCP_LIKE = re.compile(r"^(?:[^@/]+@)?[^:/]+:(?P<path>[^/].*)$")


def repo_slug(url: str) -> str | None:
    """``org/repo`` from a remote URL (https, ssh, scp-like or a path); credentials never kept."""
    url = url.strip()
    if not url:
        return None
    if "://" in url:
        path = urlsplit(url).path
    elif match := _SCP_LIKE.match(url):
        path = match.group("path")
    else:
        path = url
    parts = [part for part in path.replace("\\", "/").split("/") if part]
    if not parts:
        return None
    parts[-1] = parts[-1].removesuffix(".git")
    return "/".join(parts[-2:]) if parts[-1] else None


def find_source_repo(start: Path) -> Repo | None:
    """The git repository containing ``start``, or None outside one."""
    try:
        return Repo.discover(str(start))
    except NotGitRepository:
        return None


def _provenance(**fields: Any) -> Provenance:
    from pytest_agentv.payload import Provenance  # payload loads pydantic: only when recording

    return Provenance(**fields)


def read_provenance(start: Path) -> Provenance:
    """Origin slug, HEAD commit and branch, and whether tracked files changed; None outside git."""
    repo = find_source_repo(start)
    if repo is None:
        return _provenance()
    with repo:
        commit: str | None
        try:
            commit = repo.head().decode("ascii")
        except KeyError:  # no commit yet
            commit = None
        branch = None
        head_target = repo.refs.read_ref(Ref(b"HEAD"))
        if head_target and head_target.startswith(b"ref: refs/heads/"):
            branch = head_target[len(b"ref: refs/heads/") :].decode("utf-8", "replace")
        slug = None
        try:
            url = repo.get_config().get((b"remote", b"origin"), b"url")
            slug = repo_slug(url.decode("utf-8", "replace"))
        except KeyError:
            pass
        return _provenance(repo=slug, commit=commit, branch=branch, dirty=_is_dirty(repo, commit))


def _is_dirty(repo: Repo, commit: str | None) -> bool | None:
    from dulwich import porcelain

    if commit is None:
        return None
    try:
        status = porcelain.status(repo, untracked_files="no", optional_locks=False)
    except Exception:  # an unreadable index says nothing about the run; leave the flag unknown
        return None
    staged = any(status.staged[kind] for kind in ("add", "delete", "modify"))
    return bool(staged or status.unstaged)


# --- errors and credential scrubbing ----------------------------------------------------------


class GitError(Exception):
    """A git operation failed; the message is already scrubbed of credentials."""


class TransportError(GitError):
    """The remote could not be reached, refused us, or the connection broke."""


class RunPathExists(GitError):
    """The directory a run would be written to already exists in the tree."""

    def __init__(self, path: str, existing: str) -> None:
        super().__init__(f"{path} already exists")
        self.path = path
        self.existing = existing  # hex sha of the tree already there


_USERINFO = re.compile(
    r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^/@:\s]*)(?P<pw>:[^/@\s]*)?@"
)


def scrub(text: str) -> str:
    """``text`` with URL credentials masked: ``http://user:***@host``, ``https://***@host``.

    A bare user name is kept for ssh-like schemes (``ssh://git@host``) where it is not a secret,
    and masked for http(s) where it is often a token.
    """

    def mask(match: re.Match[str]) -> str:
        scheme, user = match["scheme"], match["user"]
        if match["pw"] is not None:
            return f"{scheme}{user}:***@"
        if user and scheme.lower().startswith("http"):
            return f"{scheme}***@"
        return match.group(0)

    return _USERINFO.sub(mask, text)


# --- repositories and refs ----------------------------------------------------------------------


def open_repo(path: Path) -> Repo:
    """Open the repository at ``path`` (a work tree or a bare repository)."""
    return Repo(str(path))


def init_bare(path: Path) -> Repo:
    """Open the bare repository at ``path``, creating it first (atomically) if missing."""
    if not (path / "HEAD").exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        Repo.init_bare(str(staging), mkdir=True).close()
        try:
            os.rename(staging, path)
        except OSError:  # another process created it first; theirs is as good as ours
            _remove_tree(staging)
    return Repo(str(path))


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def control_dir(repo: Repo) -> Path:
    """The directory holding the repository's refs and objects (``.git`` or the bare repo)."""
    return Path(repo.commondir())


def head_branch(repo: Repo) -> str | None:
    """The branch HEAD points at (checked out, or a bare repo's default), or None if detached."""
    target = repo.refs.read_ref(Ref(b"HEAD"))
    if target and target.startswith(b"ref: refs/heads/"):
        return target[len(b"ref: refs/heads/") :].strip().decode("utf-8", "replace")
    return None


def remote_url(repo: Repo, name: str, *, push: bool = False) -> str | None:
    """The URL configured for remote ``name`` (``pushurl`` first when pushing), or None."""
    config = repo.get_config()
    section = (b"remote", name.encode("utf-8"))
    keys = (b"pushurl", b"url") if push else (b"url",)
    for key in keys:
        try:
            return config.get(section, key).decode("utf-8")
        except KeyError:
            continue
    return None


def user_identity(repo: Repo) -> str | None:
    """``Name <email>`` from ``user.name``/``user.email`` in the git config stack, if both set."""
    config = repo.get_config_stack()
    try:
        name = config.get((b"user",), b"name").decode("utf-8")
        email = config.get((b"user",), b"email").decode("utf-8")
    except KeyError:
        return None
    if not name.strip() or not email.strip():
        return None
    return f"{name.strip()} <{email.strip()}>"


def read_ref(repo: Repo, ref: str) -> str | None:
    """The hex sha a ref points at, or None if it does not exist."""
    try:
        return repo.refs[Ref(ref.encode("utf-8"))].decode("ascii")
    except KeyError:
        return None


def update_ref(repo: Repo, ref: str, new: str | None, old: str | None) -> bool:
    """Compare-and-swap ``ref`` from ``old`` to ``new`` (None: absent); False if it had moved.

    Another git process (the user's ``git fetch``) may briefly hold the ref's ``.lock``; dulwich
    reports that as :class:`FileLocked`, which is retried here rather than surfaced.
    """
    name = Ref(ref.encode("utf-8"))
    delay = 0.02
    for _attempt in range(12):
        try:
            if new is None:
                if old is None:
                    return name not in repo.refs
                return bool(repo.refs.remove_if_equals(name, ObjectID(old.encode("ascii"))))
            new_id = ObjectID(new.encode("ascii"))
            if old is None:
                return bool(repo.refs.add_if_new(name, new_id))
            return bool(repo.refs.set_if_equals(name, ObjectID(old.encode("ascii")), new_id))
        except FileLocked:
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
    raise GitError(f"{ref} stayed locked by another git process; try again")


# --- objects: blobs, trees, commits ------------------------------------------------------------

_DIR_MODE = 0o040000
_FILE_MODE = 0o100644


@dataclass(frozen=True)
class CommitMeta:
    """Message and identities of a commit (times in seconds since the epoch, always UTC)."""

    message: bytes
    author: str
    committer: str
    author_time: int
    commit_time: int


def write_files_tree(repo: Repo, files: Mapping[str, bytes]) -> str:
    """Store ``files`` as blobs in one flat tree; return the tree's hex sha."""
    store = repo.object_store
    tree = Tree()
    for name, data in files.items():
        blob = Blob.from_string(data)
        store.add_object(blob)
        tree.add(name.encode("utf-8"), _FILE_MODE, blob.id)
    store.add_object(tree)
    return tree.id.decode("ascii")


def commit_subtree(
    repo: Repo, parent: str | None, dir_path: str, subtree: str, meta: CommitMeta
) -> str:
    """Commit ``parent``'s tree plus ``subtree`` at ``dir_path``; return the new commit's sha.

    Only the trees on ``dir_path`` are read and rewritten, so the cost does not grow with the
    number of runs on the branch. Raises :class:`RunPathExists` if ``dir_path`` is taken.
    """
    store = repo.object_store
    base_tree: ObjectID | None = None
    if parent is not None:
        base_tree = _commit(repo, parent).tree
    parts = [part.encode("utf-8") for part in dir_path.split("/")]
    root = _insert_subtree(repo, base_tree, parts, ObjectID(subtree.encode("ascii")), dir_path)
    commit = Commit()
    commit.tree = root
    commit.parents = [ObjectID(parent.encode("ascii"))] if parent else []
    commit.author = meta.author.encode("utf-8")
    commit.committer = meta.committer.encode("utf-8")
    commit.author_time = meta.author_time
    commit.commit_time = meta.commit_time
    commit.author_timezone = commit.commit_timezone = 0
    commit.message = meta.message
    store.add_object(commit)
    return commit.id.decode("ascii")


def _insert_subtree(
    repo: Repo, tree_id: ObjectID | None, parts: list[bytes], subtree: ObjectID, full: str
) -> ObjectID:
    tree = Tree()
    if tree_id is not None:
        for entry in _tree(repo, tree_id).iteritems():
            tree.add(entry.path, entry.mode, entry.sha)
    name, rest = parts[0], parts[1:]
    existing = tree[name] if name in tree else None  # noqa: SIM401 (a Tree has no .get)
    if not rest:
        if existing is not None:
            raise RunPathExists(full, existing[1].decode("ascii"))
        tree.add(name, _DIR_MODE, subtree)
    else:
        if existing is not None and existing[0] != _DIR_MODE:
            raise GitError(f"cannot write under {full}: {name.decode()} is a file on the branch")
        child = _insert_subtree(repo, existing[1] if existing else None, rest, subtree, full)
        tree.add(name, _DIR_MODE, child)
    repo.object_store.add_object(tree)
    return tree.id


def _commit(repo: Repo, sha: str | ObjectID) -> Commit:
    key = sha if isinstance(sha, bytes) else sha.encode("ascii")
    obj = repo.object_store[ObjectID(key)]
    if not isinstance(obj, Commit):
        raise GitError(f"{key.decode()} is not a commit")
    return obj


def _tree(repo: Repo, sha: ObjectID) -> Tree:
    obj = repo.object_store[sha]
    if not isinstance(obj, Tree):
        raise GitError(f"{sha.decode()} is not a tree")
    return obj


def tree_entry(repo: Repo, commit: str, path: str) -> tuple[int, str] | None:
    """``(mode, sha)`` of ``path`` in ``commit``'s tree, by path lookup; None if absent."""
    tree_id = _commit(repo, commit).tree
    mode = _DIR_MODE
    sha: ObjectID = tree_id
    for part in path.split("/"):
        if mode != _DIR_MODE:
            return None
        tree = _tree(repo, sha)
        name = part.encode("utf-8")
        if name not in tree:
            return None
        mode, sha = tree[name]
    return mode, sha.decode("ascii")


def read_blob(repo: Repo, commit: str, path: str) -> bytes | None:
    """The bytes of the file at ``path`` in ``commit``, or None if there is no such file."""
    entry = tree_entry(repo, commit, path)
    if entry is None or entry[0] == _DIR_MODE:
        return None
    obj = repo.object_store[ObjectID(entry[1].encode("ascii"))]
    return obj.as_raw_string() if isinstance(obj, Blob) else None


def read_tree_files(repo: Repo, tree: str) -> dict[str, bytes]:
    """The files directly inside ``tree`` (a run directory), by name."""
    files = {}
    for entry in _tree(repo, ObjectID(tree.encode("ascii"))).iteritems():
        obj = repo.object_store[entry.sha]
        if isinstance(obj, Blob):
            files[entry.path.decode("utf-8")] = obj.as_raw_string()
    return files


def commit_parents(repo: Repo, sha: str) -> list[str]:
    """The parents of a commit, first parent first."""
    return [parent.decode("ascii") for parent in _commit(repo, sha).parents]


def commit_meta(repo: Repo, sha: str) -> CommitMeta:
    """The message, identities and times of a commit, to rebuild it elsewhere."""
    commit = _commit(repo, sha)
    return CommitMeta(
        message=commit.message,
        author=commit.author.decode("utf-8", "replace"),
        committer=commit.committer.decode("utf-8", "replace"),
        author_time=commit.author_time,
        commit_time=commit.commit_time,
    )


def added_subtree(repo: Repo, sha: str) -> tuple[str, str] | None:
    """``(path, tree sha)`` of the one directory ``sha`` added relative to its first parent.

    None unless that is all the commit did (so it can be replayed onto another tip by adding the
    same directory there). The path is found by descending the single changed entry, and through
    new directories while they hold a single directory (so a run in a new shard is the run).
    """
    commit = _commit(repo, sha)
    if len(commit.parents) != 1:
        return None
    new: ObjectID | None = commit.tree
    old: ObjectID | None = _commit(repo, commit.parents[0]).tree
    path: list[str] = []
    while new is not None:
        if old is None:
            # a brand-new directory: descend through single-directory levels (a new shard
            # holding only this run) so the replay adds just the run, not the whole shard
            entries = _tree(repo, new).items()
            while len(entries) == 1 and entries[0].mode == _DIR_MODE:
                path.append(entries[0].path.decode("utf-8"))
                new = entries[0].sha
                entries = _tree(repo, new).items()
            return "/".join(path), new.decode("ascii")
        new_tree, old_tree = _tree(repo, new), _tree(repo, old)
        old_entries = {entry.path: (entry.mode, entry.sha) for entry in old_tree.iteritems()}
        changed = [
            entry
            for entry in new_tree.iteritems()
            if old_entries.get(entry.path) != (entry.mode, entry.sha)
        ]
        new_names = {entry.path for entry in new_tree.iteritems()}
        if len(changed) != 1 or changed[0].mode != _DIR_MODE or not set(old_entries) <= new_names:
            return None
        entry = changed[0]
        path.append(entry.path.decode("utf-8"))
        previous = old_entries.get(entry.path)
        if previous is not None and previous[0] != _DIR_MODE:
            return None
        new, old = entry.sha, previous[1] if previous else None
    return None


# The root commit of every new runs branch. Its tree, message, identity and date are fixed, so
# two machines creating the same branch at the same time make the same commit and never diverge.
GENESIS_IDENTITY = "AgentV <agentv@localhost>"
GENESIS_TIME = 1704067200  # 2024-01-01T00:00:00Z
GENESIS_MESSAGE = (
    b"AgentV runs branch\n\nCreated by pytest-agentv; each following commit adds one run.\n"
)
GENESIS_README = (
    b"# pytest-agentv runs\n\n"
    b"Each commit on this branch adds one eval run under <runId[:2]>/<runId[2:]>/\n"
    b"(metadata.json, transcript.jsonl, summary.json). Read them with `git log` and `git show`,\n"
    b"or with `agentv-results list`.\n"
)


def _genesis_objects() -> tuple[Blob, Tree, Commit]:
    readme = Blob.from_string(GENESIS_README)
    tree = Tree()
    tree.add(b"README.md", _FILE_MODE, readme.id)
    commit = Commit()
    commit.tree = tree.id
    commit.parents = []
    commit.author = commit.committer = GENESIS_IDENTITY.encode("utf-8")
    commit.author_time = commit.commit_time = GENESIS_TIME
    commit.author_timezone = commit.commit_timezone = 0
    commit.message = GENESIS_MESSAGE
    return readme, tree, commit


def genesis_sha() -> str:
    """The sha of the genesis commit (the same in every repository)."""
    return _genesis_objects()[2].id.decode("ascii")


def genesis_commit(repo: Repo) -> str:
    """Write the deterministic root commit of a new runs branch; return its sha."""
    objects = _genesis_objects()
    for obj in objects:
        repo.object_store.add_object(obj)
    return objects[2].id.decode("ascii")


def has_object(repo: Repo, sha: str) -> bool:
    """True if the object store holds ``sha``."""
    return ObjectID(sha.encode("ascii")) in repo.object_store


# --- trailers -----------------------------------------------------------------------------------


def format_message(subject: str, trailers: Sequence[tuple[str, str]]) -> bytes:
    """``subject``, a blank line and the trailers, formatted by :mod:`dulwich.trailers`."""
    block = format_trailers([Trailer(key, value) for key, value in trailers])
    return subject.encode("utf-8") + b"\n\n" + block


_TRAILER_LINE = r"[A-Za-z0-9][A-Za-z0-9-]*: [^\n]*"
_SIMPLE_TRAILERS = re.compile(rf"{_TRAILER_LINE}(?:\n{_TRAILER_LINE})*")


def message_trailers(message: bytes) -> dict[str, str]:
    """The trailers of a commit message, by key (the last one wins for repeated keys).

    Messages this package writes are parsed directly (a simple ``Key: value`` block after the
    last blank line); anything else goes to :func:`dulwich.trailers.parse_trailers`, which
    applies git's full rules. The fast path matters for walks over 100k commits.
    """
    end = len(message.rstrip(b"\n"))
    start = message.rfind(b"\n\n", 0, end)
    if start >= 0:
        block = message[start + 2 : end].decode("utf-8", "replace")
        # one C-level check of the whole block instead of a Python test per line and key
        if _SIMPLE_TRAILERS.fullmatch(block):
            return dict(line.split(": ", 1) for line in block.split("\n"))
    _body, parsed = parse_trailers(message)
    return {trailer.key: trailer.value for trailer in parsed}


# --- fast first-parent walks --------------------------------------------------------------------


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
        pack_dir = control_dir(repo) / "objects" / "pack"
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


def is_ancestor(repo: Repo, ancestor: str, descendant: str) -> bool:
    """True if ``ancestor`` is reachable from ``descendant`` (or is it)."""
    from dulwich.graph import can_fast_forward

    return bool(
        can_fast_forward(
            repo, ObjectID(ancestor.encode("ascii")), ObjectID(descendant.encode("ascii"))
        )
    )


# --- remotes --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RemoteBranch:
    """What a remote said about a branch during a fetch."""

    tip: str | None  # None: the branch does not exist there
    default_branch: str | None  # the remote's HEAD symref, when it told us


def _client(url: str, config: StackedConfig, operation: str) -> tuple[GitClient, str]:
    # GIT_SSH_COMMAND / GIT_SSH are read by dulwich's porcelain, not its transport layer
    from dulwich.client import get_transport_and_path

    ssh_command = os.environ.get("GIT_SSH_COMMAND") or os.environ.get("GIT_SSH") or None
    return get_transport_and_path(
        url, config=config, operation=operation, quiet=True, ssh_command=ssh_command
    )


def _transport_error(url: str, action: str, exc: BaseException) -> TransportError:
    from dulwich.client import HTTPProxyUnauthorized, HTTPUnauthorized

    if isinstance(exc, HTTPUnauthorized | HTTPProxyUnauthorized):
        reason = "authentication failed (HTTP 401); check the credentials for this remote"
    elif isinstance(exc, NotGitRepository):
        reason = "no git repository there"
    elif isinstance(exc, HangupException):
        reason = "the remote hung up unexpectedly"
    elif isinstance(exc, ConnectionRefusedError):
        reason = "connection refused"
    else:
        detail = str(exc).strip() or type(exc).__name__
        reason = f"{type(exc).__name__}: {detail}" if isinstance(exc, OSError) else detail
    return TransportError(scrub(f"cannot {action} {url}: {reason}"))


def fetch_branch(repo: Repo, url: str, branch: str) -> RemoteBranch:
    """Fetch only ``branch`` from ``url`` into ``repo``'s object store (refs are left alone)."""
    from dulwich.client import LocalGitClient

    wanted = Ref(b"refs/heads/" + branch.encode("utf-8"))
    store = repo.object_store

    def determine_wants(
        refs: Mapping[Ref, ObjectID | None], depth: int | None = None
    ) -> list[ObjectID]:
        sha = refs.get(wanted)
        return [sha] if sha and sha not in store else []

    try:
        client, path = _client(url, repo.get_config_stack(), "pull")
        try:
            result: LsRemoteResult | FetchPackResult
            if isinstance(client, LocalGitClient):
                # dulwich serves a local fetch in Python and prepares it (bitmaps, reachability)
                # even when nothing is wanted; look at the refs first and skip it when up to date
                result = client.get_refs(path.encode("utf-8"))
                if Ref(b"HEAD") not in result.symrefs:  # an unborn HEAD is not listed
                    with Repo(path) as served:
                        head = served.refs.read_ref(Ref(b"HEAD"))
                    if head and head.startswith(b"ref: "):
                        result.symrefs[Ref(b"HEAD")] = Ref(head[5:].strip())
                if determine_wants(result.refs):
                    result = client.fetch(
                        path.encode("utf-8"), repo, determine_wants=cast(Any, determine_wants)
                    )
            else:
                result = client.fetch(
                    path.encode("utf-8"), repo, determine_wants=cast(Any, determine_wants)
                )
        finally:
            client.close()
    except Exception as exc:  # socket, urllib3, subprocess, protocol: every failure keeps the run
        raise _transport_error(url, "fetch from", exc) from None
    tip = result.refs.get(wanted)
    head = result.symrefs.get(Ref(b"HEAD")) if result.symrefs else None
    default = None
    if head and head.startswith(b"refs/heads/"):
        default = head[len(b"refs/heads/") :].decode("utf-8", "replace")
    return RemoteBranch(tip=tip.decode("ascii") if tip else None, default_branch=default)


def objects_since(repo: Repo, base: str, tip: str, limit: int = 10_000) -> list[ShaFile] | None:
    """Every object reachable from ``tip`` but not from ``base``, when ``tip`` descends from
    ``base`` by single-parent commits (within ``limit``); else None.

    Each commit is compared with its parent and only changed subtrees are descended, so the cost
    is that of the runs added, not of the branch.
    """
    chain: list[Commit] = []
    sha = tip
    while sha != base:
        if len(chain) >= limit:
            return None
        commit = _commit(repo, sha)
        if len(commit.parents) != 1:
            return None
        chain.append(commit)
        sha = commit.parents[0].decode("ascii")
    objects: list[ShaFile] = []
    seen: set[bytes] = set()
    for commit in chain:
        objects.append(commit)
        parent_tree = _commit(repo, commit.parents[0]).tree
        _new_tree_objects(repo, parent_tree, commit.tree, objects, seen)
    return objects


def _new_tree_objects(
    repo: Repo, old: ObjectID | None, new: ObjectID, out: list[ShaFile], seen: set[bytes]
) -> None:
    if old == new or new in seen:
        return
    seen.add(new)
    tree = _tree(repo, new)
    out.append(tree)
    previous = {}
    if old is not None:
        previous = {entry.path: (entry.mode, entry.sha) for entry in _tree(repo, old).iteritems()}
    for entry in tree.iteritems():
        before = previous.get(entry.path)
        if before is not None and before[1] == entry.sha:
            continue
        if entry.mode == _DIR_MODE:
            older = before[1] if before is not None and before[0] == _DIR_MODE else None
            _new_tree_objects(repo, older, entry.sha, out, seen)
        elif entry.mode != 0o160000 and entry.sha not in seen:  # gitlinks name other repos
            seen.add(entry.sha)
            out.append(repo.object_store[entry.sha])


def push_branch(repo: Repo, url: str, branch: str, old: str | None, new: str) -> str | None:
    """Push ``new`` to ``branch`` at ``url`` only if the remote still has ``old`` there.

    Never forces. Returns None when the remote took it, else why it did not (the remote moved, or
    it refused the update): dulwich reports a rejected ref in ``ref_status`` rather than raising.
    Raises :class:`TransportError` when the remote cannot be reached or the connection breaks.
    """
    wanted = Ref(b"refs/heads/" + branch.encode("utf-8"))
    new_id = ObjectID(new.encode("ascii"))
    moved: list[str] = []

    def update_refs(refs: dict[Ref, ObjectID]) -> dict[Ref, ObjectID]:
        current = refs.get(wanted)
        current_hex = current.decode("ascii") if current and set(current) != {ord("0")} else None
        if current_hex != old:
            moved.append(current_hex or "(deleted)")
            return {}  # nothing to update: the caller fetches and rebuilds on the new tip
        return {wanted: new_id}

    def generate_pack_data(
        have: Any, want: Any, *, ofs_delta: bool = False, progress: Any = None, **_kw: Any
    ) -> Any:
        # update_refs checked that the remote is at `old`, so it has all of old's history:
        # send just what the new commits added (dulwich's generic finder would first list
        # every object of old's tree, and scan whole packs for deltas: O(runs on the branch))
        objects = objects_since(repo, old, new) if old is not None else None
        if objects is not None:
            return pack_objects_to_data(objects, ofs_delta=ofs_delta)
        present = {sha for sha in have if sha in repo.object_store}
        return repo.generate_pack_data(present, set(want), progress=progress, ofs_delta=ofs_delta)

    try:
        client, path = _client(url, repo.get_config_stack(), "push")
        try:
            result = client.send_pack(path.encode("utf-8"), update_refs, generate_pack_data)
        finally:
            client.close()
    except Exception as exc:  # socket, urllib3, subprocess, protocol: every failure keeps the run
        raise _transport_error(url, "push to", exc) from None
    if moved:
        return f"the remote branch moved (now at {moved[0][:12]})"
    status = (result.ref_status or {}).get(wanted)
    if status is not None:
        return scrub(f"the remote rejected the update: {status}")
    return None

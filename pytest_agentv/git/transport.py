"""Fetching and pushing one branch, over any transport dulwich speaks (file, git, ssh, http)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from dulwich.config import StackedConfig
from dulwich.errors import HangupException, NotGitRepository
from dulwich.file import FileLocked
from dulwich.objects import Commit, ObjectID, ShaFile
from dulwich.pack import pack_objects_to_data
from dulwich.refs import Ref
from dulwich.repo import Repo

from pytest_agentv.credentials import mask_credentials as scrub
from pytest_agentv.git.errors import TransportError
from pytest_agentv.git.objects import DIR_MODE, commit_object, tree_object

if TYPE_CHECKING:
    # dulwich.client (transports) loads only when something is fetched or pushed
    from dulwich.client import FetchPackResult, GitClient, LsRemoteResult


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
    """Fetch only ``branch`` from ``url`` into ``repo``'s object store (refs are left alone).

    The tip reported is one whose objects are present here. dulwich's local fetch reads the
    served repository's refs again after sending the pack, so a tip pushed meanwhile by another
    writer can come back although its objects never arrived; recording it would leave a ref to a
    missing commit. The tip that was asked for (and so received) is reported instead.
    """
    from dulwich.client import LocalGitClient

    wanted = Ref(b"refs/heads/" + branch.encode("utf-8"))
    store = repo.object_store
    seen: list[ObjectID] = []

    def determine_wants(
        refs: Mapping[Ref, ObjectID | None], depth: int | None = None
    ) -> list[ObjectID]:
        sha = refs.get(wanted)
        if sha:
            seen.append(sha)
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
    reported = result.refs.get(wanted)
    tip: ObjectID | None = None
    if reported:
        # newest first: what the remote reported last, then what we asked for along the way
        for candidate in (reported, *reversed(seen)):
            if candidate in store:
                tip = candidate
                break
        else:
            raise TransportError(
                scrub(f"fetch from {url} did not bring the objects of branch {branch}; try again")
            )
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
        commit = commit_object(repo, sha)
        if len(commit.parents) != 1:
            return None
        chain.append(commit)
        sha = commit.parents[0].decode("ascii")
    objects: list[ShaFile] = []
    seen: set[bytes] = set()
    for commit in chain:
        objects.append(commit)
        parent_tree = commit_object(repo, commit.parents[0]).tree
        _new_tree_objects(repo, parent_tree, commit.tree, objects, seen)
    return objects


def _new_tree_objects(
    repo: Repo, old: ObjectID | None, new: ObjectID, out: list[ShaFile], seen: set[bytes]
) -> None:
    if old == new or new in seen:
        return
    seen.add(new)
    tree = tree_object(repo, new)
    out.append(tree)
    previous = {}
    if old is not None:
        previous = {
            entry.path: (entry.mode, entry.sha) for entry in tree_object(repo, old).iteritems()
        }
    for entry in tree.iteritems():
        before = previous.get(entry.path)
        if before is not None and before[1] == entry.sha:
            continue
        if entry.mode == DIR_MODE:
            older = before[1] if before is not None and before[0] == DIR_MODE else None
            _new_tree_objects(repo, older, entry.sha, out, seen)
        elif entry.mode != 0o160000 and entry.sha not in seen:  # gitlinks name other repos
            seen.add(entry.sha)
            out.append(repo.object_store[entry.sha])


#: what :func:`push_branch` says when the remote's ref is locked by another writer's update
REMOTE_BUSY = "the remote branch is being updated by another writer"


def _is_local(client: GitClient) -> bool:
    from dulwich.client import LocalGitClient

    return isinstance(client, LocalGitClient)


def _consolidate_served(path: str) -> None:
    """A push into a path remote adds one pack there (dulwich receives in this process, and
    opens every pack index of the remote on each fetch and push): keep that remote's packs few
    too. Never fails the push."""
    from pytest_agentv.git.maintenance import consolidate

    try:
        with Repo(path) as served:
            consolidate(served)
    except Exception:  # an optimisation: every pack stays readable
        return


def _push_into_path(
    path: str, wanted: Ref, old: str, new: str, objects: list[ShaFile]
) -> str | None:
    """A push into a repository on this machine: the new objects as one pack, then a
    compare-and-swap of the ref (its lock file is git's own ``<ref>.lock``).

    dulwich's local receiver would hash every object id of every pack of the remote for each
    push (it compares the new pack's name with theirs), so a push would cost more with every
    run on the branch; this costs what the new commits add.
    """
    from pytest_agentv.git.maintenance import consolidate
    from pytest_agentv.git.objects import write_pack

    with Repo(path) as target:
        current = target.refs.read_ref(wanted)
        current_hex = current.decode("ascii") if current else None
        if current_hex != old:
            return f"the remote branch moved (now at {(current_hex or '(deleted)')[:12]})"
        write_pack(target, objects)
        try:
            old_id, new_id = ObjectID(old.encode("ascii")), ObjectID(new.encode("ascii"))
            if not target.refs.set_if_equals(wanted, old_id, new_id):
                now = target.refs.read_ref(wanted)
                return f"the remote branch moved (now at {(now or b'(deleted)')[:12].decode()})"
        except FileLocked:
            return REMOTE_BUSY
        with contextlib.suppress(Exception):  # an optimisation: every pack stays readable
            consolidate(target)
    return None


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
            objects = objects_since(repo, old, new) if old is not None else None
            if old is not None and objects is not None and _is_local(client):
                return _push_into_path(path, wanted, old, new, objects)
            try:
                result = client.send_pack(path.encode("utf-8"), update_refs, generate_pack_data)
            except FileLocked:
                # a path remote whose ref another writer is updating right now: a lost race
                return REMOTE_BUSY
        finally:
            client.close()
    except Exception as exc:  # socket, urllib3, subprocess, protocol: every failure keeps the run
        raise _transport_error(url, "push to", exc) from None
    if moved:
        return f"the remote branch moved (now at {moved[0][:12]})"
    status = (result.ref_status or {}).get(wanted)
    if status is not None:
        return scrub(f"the remote rejected the update: {status}")
    if _is_local(client):
        _consolidate_served(path)
    return None

"""Fetching and pushing one branch, over any transport dulwich speaks (file, git, ssh, http)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from dulwich.config import ConfigFile, StackedConfig
from dulwich.errors import HangupException, NotGitRepository
from dulwich.file import FileLocked
from dulwich.objects import Commit, ObjectID, ShaFile
from dulwich.pack import pack_objects_to_data
from dulwich.refs import Ref
from dulwich.repo import Repo

from pytest_agentv.credentials import mask_credentials as scrub
from pytest_agentv.fs_locks import inspect_lock
from pytest_agentv.git.deadline import Deadline, network_deadline
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


def _client(
    url: str, config: StackedConfig, operation: str, timeout: float | None = None
) -> tuple[GitClient, str]:
    # GIT_SSH_COMMAND / GIT_SSH are read by dulwich's porcelain, not its transport layer
    from dulwich.client import get_transport_and_path

    if timeout is not None:
        # urllib3 sets each read's timeout itself: hand it ours through git's http.timeout
        overrides = ConfigFile()
        overrides.set((b"http",), b"timeout", str(timeout).encode("ascii"))
        config = StackedConfig([overrides, *config.backends], writable=config.writable)

    ssh_command = os.environ.get("GIT_SSH_COMMAND") or os.environ.get("GIT_SSH") or None
    return get_transport_and_path(
        url, config=config, operation=operation, quiet=True, ssh_command=ssh_command
    )


def _transport_error(
    url: str, action: str, exc: BaseException, deadline: Deadline | None = None
) -> TransportError:
    from dulwich.client import HTTPProxyUnauthorized, HTTPUnauthorized

    text = str(exc)
    if deadline is not None and deadline.timed_out(exc):
        reason = (
            f"{deadline.describe()}; check that the remote is up, or allow more time with "
            "--agentv-network-timeout / AGENTV_NETWORK_TIMEOUT (seconds)"
        )
    elif isinstance(exc, HTTPUnauthorized | HTTPProxyUnauthorized):
        reason = "authentication failed (HTTP 401); check the credentials for this remote"
    elif isinstance(exc, NotGitRepository):
        reason = "no git repository there"
    elif isinstance(exc, HangupException):
        reason = "the remote hung up unexpectedly"
    elif isinstance(exc, ConnectionRefusedError):
        reason = "connection refused"
    elif "http resp 403" in text or "HTTP Error 403" in text:
        reason = "access denied (HTTP 403); check that these credentials may write to it"
    elif match := re.search(r"(?:http resp|HTTP Error) (5\d\d)", text):
        reason = f"the server failed (HTTP {match[1]}); try again later"
    else:
        detail = str(exc).strip() or type(exc).__name__
        reason = f"{type(exc).__name__}: {detail}" if isinstance(exc, OSError) else detail
    return TransportError(scrub(f"cannot {action} {url}: {reason}"))


def fetch_branch(repo: Repo, url: str, branch: str, timeout: float | None = None) -> RemoteBranch:
    """Fetch only ``branch`` from ``url`` into ``repo``'s object store (refs are left alone).

    The tip reported is one whose objects are present here. dulwich's local fetch reads the
    served repository's refs again after sending the pack, so a tip pushed meanwhile by another
    writer can come back although its objects never arrived; recording it would leave a ref to a
    missing commit. The tip that was asked for (and so received) is reported instead.
    """
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

    deadline: Deadline | None = None
    try:
        with network_deadline(timeout) as deadline:
            result = _fetch(repo, url, timeout, determine_wants)
    except Exception as exc:  # socket, urllib3, subprocess, protocol: every failure keeps the run
        raise _transport_error(url, "fetch from", exc, deadline) from None
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


def _fetch(
    repo: Repo, url: str, timeout: float | None, determine_wants: Any
) -> LsRemoteResult | FetchPackResult:
    from dulwich.client import LocalGitClient

    client, path = _client(url, repo.get_config_stack(), "pull", timeout)
    _close_protocols_with(client)
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
    return result


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


def push_branch(
    repo: Repo, url: str, branch: str, old: str | None, new: str, timeout: float | None = None
) -> str | None:
    """Push ``new`` to ``branch`` at ``url`` only if the remote still has ``old`` there.

    Never forces. Returns None when the remote took it, else why it did not (the remote moved, or
    it refused the update): dulwich reports a rejected ref in ``ref_status`` rather than raising.
    Raises :class:`TransportError` when the remote cannot be reached or the connection breaks.

    A repository on this machine (a path or ``file://``) is pushed to through ``git
    receive-pack``, as ``git push`` does, so its hooks run and can refuse; without git on the
    PATH it is written in-process, unless it has hooks that would then be bypassed.
    """
    wanted = Ref(b"refs/heads/" + branch.encode("utf-8"))
    new_id = ObjectID(new.encode("ascii"))
    moved: list[str] = []
    remote_said: list[bytes] = []

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

    deadline: Deadline | None = None
    try:
        with network_deadline(timeout) as deadline:
            client, path = _client(url, repo.get_config_stack(), "push", timeout)
            local = _local_path(client, path)
            if local is not None:
                client.close()
                # git receive-pack when git is there (hooks run); else the pure path
                client = _receive_pack_client(local)
                objects = objects_since(repo, old, new) if old is not None else None
                if _is_local(client) and old is not None and objects is not None:
                    client.close()
                    return _push_into_path(path, wanted, old, new, objects)
            _close_protocols_with(client)
            try:
                try:
                    result = client.send_pack(
                        path.encode("utf-8"),
                        update_refs,
                        generate_pack_data,
                        progress=remote_said.append,
                    )
                except FileLocked:
                    # in-process push to a path remote whose ref another writer is updating
                    return REMOTE_BUSY
            finally:
                client.close()
    except _HooksBypassed as exc:
        raise TransportError(scrub(f"cannot push to {url}: {exc}")) from None
    except Exception as exc:  # socket, urllib3, subprocess, protocol: every failure keeps the run
        raise _transport_error(url, "push to", exc, deadline) from None
    if moved:
        return f"the remote branch moved (now at {moved[0][:12]})"
    status = (result.ref_status or {}).get(wanted)
    if status is None:
        if local is not None:
            _consolidate_served(str(local))
        return None
    said = b"".join(remote_said).decode("utf-8", "replace")
    if local is not None:
        busy = _ref_lock_state(local, wanted, said)
        if busy is not None:
            return busy
    detail = _remote_lines(said)
    return scrub(f"the remote rejected the update: {status}" + (f" ({detail})" if detail else ""))


def _close_protocols_with(client: GitClient) -> None:
    """Make ``client.close()`` close the connections it opened: dulwich leaves a connection
    that failed half-way (a timeout, a hang-up) open, to warn about it when collected."""
    connect = getattr(client, "_connect", None)
    if connect is None:
        return
    opened: list[Any] = []

    def tracked(*args: Any, **kwargs: Any) -> Any:
        result = connect(*args, **kwargs)
        opened.append(result[0])
        return result

    close = client.close

    def close_all() -> None:
        for protocol in opened:
            with suppress(Exception):
                protocol.close()
        close()

    client._connect = tracked  # type: ignore[attr-defined]
    client.close = close_all  # type: ignore[method-assign]


class _HooksBypassed(Exception):
    """A local remote has hooks, and without git they cannot run."""


#: hooks `git receive-pack` runs; a push that skipped them would skip the remote's policy
_RECEIVE_HOOKS = ("pre-receive", "update", "proc-receive", "reference-transaction")


def _local_path(client: GitClient, path: str) -> Path | None:
    from dulwich.client import LocalGitClient

    return Path(path) if isinstance(client, LocalGitClient) else None


def _receive_pack_client(path: Path) -> GitClient:
    """A client running ``git receive-pack`` on ``path``; the in-process one without git."""
    from dulwich.client import LocalGitClient

    git = shutil.which("git")
    if git is None:
        with Repo(str(path)) as served:
            hooks = Path(served.controldir()) / "hooks"
        active = [name for name in _RECEIVE_HOOKS if os.access(hooks / name, os.X_OK)]
        if active:
            raise _HooksBypassed(
                f"it has {', '.join(active)} hook(s), which only git can run, and git is not on "
                "the PATH; install git, or serve the repository over git:// or ssh"
            )
        return LocalGitClient(quiet=True)
    return _receive_pack_class()(git)


def _receive_pack_class() -> Callable[[str], GitClient]:
    from dulwich.client import SubprocessGitClient, SubprocessWrapper
    from dulwich.protocol import Protocol

    class ReceivePackClient(SubprocessGitClient):
        """``git receive-pack`` in a subprocess, with the environment of a plain ``git push``:
        variables naming the caller's repository (set inside a git hook) are dropped."""

        def __init__(self, git: str) -> None:
            super().__init__(quiet=True)
            self.git = git

        def _connect(
            self, cmd: bytes, path: bytes | str, protocol_version: int | None = None
        ) -> tuple[Protocol, Any, Any]:
            where = path.decode("utf-8") if isinstance(path, bytes) else path
            env = {k: v for k, v in os.environ.items() if k not in _LOCAL_GIT_ENV}
            process = subprocess.Popen(
                # keep each push as one pack (git unpacks small ones into loose objects, which
                # every later read of the remote would pay for); packs are rolled up after
                [self.git, "-c", "receive.unpackLimit=1", cmd.decode("ascii"), where],
                bufsize=0,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
            )
            wrapper = SubprocessWrapper(process)
            protocol = Protocol(
                wrapper.read, wrapper.write, wrapper.close, report_activity=self._report_activity
            )
            return protocol, wrapper.can_read, process.stderr

    return ReceivePackClient


#: what `git rev-parse --local-env-vars` lists: they would point receive-pack elsewhere
_LOCAL_GIT_ENV = frozenset(
    {
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_CONFIG",
        "GIT_CONFIG_PARAMETERS",
        "GIT_CONFIG_COUNT",
        "GIT_OBJECT_DIRECTORY",
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_IMPLICIT_WORK_TREE",
        "GIT_GRAFT_FILE",
        "GIT_INDEX_FILE",
        "GIT_NO_REPLACE_OBJECTS",
        "GIT_REPLACE_REF_BASE",
        "GIT_PREFIX",
        "GIT_INTERNAL_SUPER_PREFIX",
        "GIT_SHALLOW_FILE",
        "GIT_COMMON_DIR",
        "GIT_QUARANTINE_PATH",
        "GIT_NAMESPACE",
    }
)

_LOCKED = re.compile(r"Unable to create '([^']+\.lock)': File exists")


def _ref_lock_state(remote: Path, ref: bytes, said: str) -> str | None:
    """When receive-pack could not lock the ref: :data:`REMOTE_BUSY` while another writer
    may hold the lock, or what to do about a stale one; None if the lock was not the cause."""
    match = _LOCKED.search(said)
    if match is None:
        return None
    lock = Path(match[1])
    if not lock.is_absolute():
        lock = remote / lock
    state = inspect_lock(lock)
    if state is None or not state.stale:
        return REMOTE_BUSY  # a writer is updating it right now, or just finished: retry
    return (
        f"the remote's ref lock {lock} was left by a writer that stopped {state.age:.0f}s ago "
        f"(nothing holds it open); if no git process is using {remote}, remove {lock} and run "
        "`agentv-results sync`"
    )


def _remote_lines(said: str) -> str:
    """The last lines the remote (its hooks) printed, for a refusal message."""
    lines = [line.strip() for line in said.replace("\r", "\n").splitlines() if line.strip()]
    return "; ".join(lines[-3:])[:500]

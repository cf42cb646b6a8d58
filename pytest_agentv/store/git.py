"""The git backend: one commit per run on a branch, pushed to a remote, never lost.

docs/storage.md describes the layout, the commit trailers, the branch rules, the retry algorithm
and what happens on failure. All git plumbing lives in :mod:`pytest_agentv.gitrepo`.
"""

from __future__ import annotations

import hashlib
import random
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import filelock

from pytest_agentv import gitrepo
from pytest_agentv.store.base import (
    RunArtifacts,
    RunExists,
    RunNotFound,
    StoredRun,
    StoreError,
    WriteResult,
    load_summary,
)
from pytest_agentv.store.paths import RUN_FILES, SUMMARY_FILE, check_run_id, is_run_id, shard_path
from pytest_agentv.store.spool import (
    SYNC_HINT,
    make_ignored_dir,
    project_spool,
    writable_dir,
)

if TYPE_CHECKING:
    from dulwich.repo import Repo

    from pytest_agentv.models import RunSummary
    from pytest_agentv.settings import Settings

FALLBACK_IDENTITY = "AgentV <agentv@localhost>"
_ALWAYS_DEFAULT = frozenset({"main", "master"})
_REMOTE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_SCP_LIKE = re.compile(r"^(?:[^@/]+@)?[^:/]{2,}:")


@dataclass(frozen=True)
class RunCommit:
    """One commit of a first-parent walk; ``run_id`` is None for commits that are not runs.

    Trailers and text are parsed from ``raw_message`` on first use: an index built from a 100k
    commit walk reads the raw message directly and never needs them.
    """

    commit: str
    raw_message: bytes
    commit_time: int

    @cached_property
    def trailers(self) -> dict[str, str]:
        """The message's trailers, by key."""
        return gitrepo.message_trailers(self.raw_message)

    @cached_property
    def run_id(self) -> str | None:
        """The ``AgentV-Run`` trailer, when it is a run id."""
        run_id = self.trailers.get("AgentV-Run")
        return run_id if run_id is not None and is_run_id(run_id) else None

    @cached_property
    def message(self) -> str:
        """The whole commit message."""
        return self.raw_message.decode("utf-8", "replace")


@dataclass(frozen=True)
class SyncReport:
    """What :meth:`GitArtifactStore.sync` did."""

    pushed: tuple[str, ...] = ()  # run ids delivered now
    pending: tuple[str, ...] = ()  # run ids still only local
    problems: tuple[str, ...] = ()

    @property
    def delivered(self) -> bool:
        """True when nothing is left to deliver."""
        return not self.pending and not self.problems


@dataclass(frozen=True)
class _Target:
    """Where the branch lives and where it is pushed."""

    kind: Literal["source", "cache"]
    repo_dir: Path
    lock_path: Path
    branch: str
    tracking_ref: str | None  # refs/remotes/<name>/<branch>; None without a remote
    fetch_url: str | None
    push_url: str | None
    remote_label: str | None  # scrubbed, for messages
    where: str  # scrubbed description of the repository holding the branch
    source_head: str | None  # the source repository's HEAD branch, a default-branch fallback
    identity: str
    notes: tuple[str, ...] = ()
    #: why runs may not be committed here (reading is still fine), e.g. the branch is checked out
    write_refusal: str | None = None

    @property
    def local_ref(self) -> str:
        return f"refs/heads/{self.branch}"


@dataclass
class _Delivery:
    """The outcome of one commit-and-push pass."""

    committed: list[str] = field(default_factory=list)
    spooled: list[str] = field(default_factory=list)
    pushed: bool = False
    problems: list[str] = field(default_factory=list)


class GitArtifactStore:
    """Commits each run to ``settings.branch`` and pushes it to ``settings.remote``."""

    #: push attempts before giving up into "kept locally", and the backoff between them
    attempts = 10
    backoff_base = 0.05
    backoff_cap = 2.0
    #: how long to wait for another local writer of the same repository
    lock_timeout = 300.0

    def __init__(self, settings: Settings):
        self.settings = settings
        self.branch = settings.branch
        self.prefix = settings.path
        self._target: _Target | None = None
        self.spool = project_spool(settings.rootdir)

    # --- where things go ---------------------------------------------------------------------

    def target(self) -> _Target:
        """Resolve (once) which repository holds the branch and where it is pushed."""
        if self._target is None:
            self._target = self._resolve()
        return self._target

    def _resolve(self) -> _Target:
        settings = self.settings
        remote = settings.remote
        source = gitrepo.find_source_repo(settings.rootdir)
        source_head = identity = None
        source_dir: Path | None = None
        remotes: list[str] = []
        if source is not None:
            with source:
                source_head = gitrepo.head_branch(source)
                identity = gitrepo.user_identity(source)
                source_dir = gitrepo.control_dir(source)
                remotes = [
                    section[1].decode("utf-8")
                    for section in source.get_config().sections()
                    if len(section) == 2 and section[0] == b"remote"
                ]
        checked_out = source is not None and not source.bare and source_head == self.branch

        if remote and remote in remotes and source is not None and source_dir is not None:
            with gitrepo.open_repo(source_dir) as repo:
                fetch_url = gitrepo.remote_url(repo, remote)
                push_url = gitrepo.remote_url(repo, remote, push=True)
            if fetch_url is None or push_url is None:
                raise StoreError(f"remote {remote!r} of the source repository has no url")
            label = f"{remote} ({gitrepo.scrub(push_url)})"
            if not checked_out:
                return _Target(
                    kind="source",
                    repo_dir=source_dir,
                    lock_path=source_dir / "agentv.lock",
                    tracking_ref=f"refs/remotes/{remote}/{self.branch}",
                    fetch_url=fetch_url,
                    push_url=push_url,
                    remote_label=label,
                    where="the source repository",
                    identity=identity or FALLBACK_IDENTITY,
                    branch=self.branch,
                    source_head=source_head,
                )
            note = (
                f"branch {self.branch} is checked out in the source repository, so runs are "
                "committed in a cache repository instead (your working tree is never touched)"
            )
            return self._cache_target(fetch_url, push_url, label, identity, source_head, (note,))
        if remote:
            url = self._remote_location(remote, remotes)
            return self._cache_target(url, url, gitrepo.scrub(url), identity, source_head, ())

        if source is not None and source_dir is not None:
            refusal = None
            if checked_out:
                refusal = (
                    f"branch {self.branch} is checked out in the source repository; committing "
                    "runs to it would change your working tree. Choose another branch "
                    "(--agentv-branch) or configure a remote (--agentv-remote)"
                )
            return _Target(
                write_refusal=refusal,
                kind="source",
                repo_dir=source_dir,
                lock_path=source_dir / "agentv.lock",
                tracking_ref=None,
                fetch_url=None,
                push_url=None,
                remote_label=None,
                where="the source repository",
                identity=identity or FALLBACK_IDENTITY,
                notes=(
                    f"no remote configured: runs are committed to the local branch "
                    f"{self.branch} of the source repository only",
                ),
                branch=self.branch,
                source_head=source_head,
            )
        cache = writable_dir(settings.rootdir / ".agentv" / "cache", "cache", settings.rootdir)
        return _Target(
            kind="cache",
            repo_dir=cache / "local.git",
            lock_path=cache / "local.git.lock",
            tracking_ref=None,
            fetch_url=None,
            push_url=None,
            remote_label=None,
            where=f"the local repository {cache / 'local.git'}",
            identity=identity or FALLBACK_IDENTITY,
            notes=(
                f"no remote configured and {settings.rootdir} is not in a git repository: "
                f"runs are committed to the local repository {cache / 'local.git'}",
            ),
            branch=self.branch,
            source_head=source_head,
        )

    def _remote_location(self, remote: str, remotes: list[str]) -> str:
        if "://" in remote or _SCP_LIKE.match(remote):
            return remote
        path = Path(remote).expanduser()
        if not path.is_absolute():
            path = self.settings.rootdir / path
        if not path.exists() and _REMOTE_NAME.fullmatch(remote):
            known = ", ".join(remotes) or "none"
            raise StoreError(
                f"remote {remote!r} is neither a remote of the source repository (remotes: "
                f"{known}) nor an existing path; use a remote name, a URL or a path"
            )
        return str(path)

    def _cache_target(
        self,
        fetch_url: str,
        push_url: str,
        label: str,
        identity: str | None,
        source_head: str | None,
        notes: tuple[str, ...],
    ) -> _Target:
        cache = writable_dir(
            self.settings.rootdir / ".agentv" / "cache", "cache", self.settings.rootdir
        )
        digest = hashlib.sha256(_strip_userinfo(push_url).encode()).hexdigest()[:12]
        name = f"{_slug(push_url)}-{digest}"
        repo_dir = cache / f"{name}.git"
        return _Target(
            kind="cache",
            repo_dir=repo_dir,
            lock_path=cache / f"{name}.lock",
            branch=self.branch,
            tracking_ref=f"refs/remotes/origin/{self.branch}",
            fetch_url=fetch_url,
            push_url=push_url,
            remote_label=label,
            where=f"the cache repository {repo_dir}",
            source_head=source_head,
            notes=notes,
            identity=identity or FALLBACK_IDENTITY,
        )

    def describe(self) -> str:
        """Where runs go, in words (credentials masked)."""
        try:
            target = self.target()
        except StoreError as exc:
            return f"git branch {self.branch} (unusable: {gitrepo.scrub(str(exc))})"
        where = f"git branch {self.branch}"
        if self.prefix:
            where += f" under {self.prefix}/"
        where += f" in {target.where}"
        if target.remote_label:
            where += f", pushed to {target.remote_label}"
        else:
            where += " (not pushed: no remote configured)"
        return where

    # --- locking and opening -----------------------------------------------------------------

    @contextmanager
    def _repo(self, *, lock: bool) -> Iterator[tuple[_Target, Repo]]:
        target = self.target()
        if target.kind == "cache":
            make_ignored_dir(target.lock_path.parent)
        if lock:
            guard = filelock.FileLock(str(target.lock_path), timeout=self.lock_timeout)
            try:
                guard.acquire()
            except filelock.Timeout:
                raise StoreError(
                    f"another process held the lock {target.lock_path} for {self.lock_timeout:.0f}s"
                ) from None
        try:
            if target.kind == "cache":
                repo = gitrepo.init_bare(target.repo_dir)
            else:
                repo = gitrepo.open_repo(target.repo_dir)
            with repo:
                yield target, repo
        finally:
            if lock:
                guard.release()

    # --- writing ------------------------------------------------------------------------------

    def write(self, run: RunArtifacts) -> WriteResult:
        """Commit ``run`` (and any earlier undelivered runs), then push the branch.

        Returns problems instead of raising whenever the run is safely kept locally; raises
        :class:`RunExists` for a run id already on the branch.
        """
        check_run_id(run.run_id)
        shard = shard_path(run.run_id, self.prefix)
        try:
            with self._repo(lock=True) as (target, repo):
                tip = gitrepo.read_ref(repo, target.local_ref)
                if tip is not None and gitrepo.tree_entry(repo, tip, shard) is not None:
                    raise RunExists(
                        f"run {run.run_id} already exists on branch {self.branch}; "
                        "runs are never overwritten"
                    )
                self.spool.put(run)
                delivery = self._deliver(target, repo)
        except RunExists:
            raise
        except (StoreError, gitrepo.GitError, OSError) as exc:
            return self.spool.keep(run, gitrepo.scrub(str(exc)))
        except Exception as exc:  # a bug must not cost the run: it is safe in the spool
            return self.spool.keep(run, gitrepo.scrub(f"{type(exc).__name__}: {exc}"))
        return self._result(run.run_id, shard, target, delivery)

    def _result(self, run_id: str, shard: str, target: _Target, delivery: _Delivery) -> WriteResult:
        notes = list(target.notes)
        earlier = [other for other in delivery.committed if other != run_id]
        if earlier:
            notes.append(f"also committed {len(earlier)} earlier run(s) waiting in the spool")
        problem = "; ".join(delivery.problems)
        if run_id in delivery.spooled:
            where = self.spool.path(run_id)
            return WriteResult(
                run_id=run_id,
                location=str(where),
                delivered=False,
                notes=tuple(notes),
                problems=(f"{problem}; the run is kept locally in {where}; {SYNC_HINT}",),
            )
        if target.push_url is None:
            return WriteResult(
                run_id=run_id,
                location=f"branch {self.branch} of {target.where}, {shard}",
                delivered=not delivery.problems,
                notes=tuple(notes),
                problems=(problem,) if problem else (),
            )
        if delivery.pushed and not delivery.problems:
            return WriteResult(
                run_id=run_id,
                location=f"{target.remote_label}, branch {self.branch}, {shard}",
                notes=tuple(notes),
            )
        return WriteResult(
            run_id=run_id,
            location=f"local branch {self.branch} of {target.where}, {shard}",
            delivered=False,
            notes=tuple(notes),
            problems=(
                f"{problem or 'not pushed'}; the run is kept locally on branch {self.branch} of "
                f"{target.where} and is pushed with the next run; {SYNC_HINT}",
            ),
        )

    def _deliver(self, target: _Target, repo: Repo) -> _Delivery:
        """Under the lock: fetch, catch up, commit the spool, push. Problems are collected."""
        delivery = _Delivery()
        if target.write_refusal is not None:
            delivery.problems.append(target.write_refusal)
            delivery.spooled.extend(self.spool.run_ids())
            return delivery
        remote_tip: str | None = None
        default_branch: str | None = None
        reachable = target.fetch_url is not None
        if target.fetch_url is not None and target.tracking_ref is not None:
            try:
                state = gitrepo.fetch_branch(repo, target.fetch_url, self.branch)
                default_branch = state.default_branch
                self._set_tracking(repo, target, state.tip)
            except gitrepo.TransportError as exc:
                delivery.problems.append(str(exc))
                reachable = False
            remote_tip = gitrepo.read_ref(repo, target.tracking_ref)
        local = self._catch_up(repo, target, remote_tip)
        # with a remote, "exists" is the remote's answer: a local branch of the same name (the
        # user's own main, say) must not smuggle the default branch onto the remote
        missing_remotely = reachable and remote_tip is None

        for run_id in self.spool.run_ids():
            if local is None or missing_remotely:
                defaults = self._default_branches(target, default_branch)
                if self.branch in defaults:
                    delivery.problems.append(self._refusal(target))
                    delivery.spooled.extend(self.spool.run_ids())
                    return delivery
                if local is None:
                    local = gitrepo.genesis_commit(repo)
                    if not gitrepo.update_ref(repo, target.local_ref, local, None):
                        raise gitrepo.GitError(f"branch {self.branch} changed under us; try again")
            try:
                local = self._commit_spooled(repo, target, local, run_id)
            except (StoreError, gitrepo.GitError) as exc:
                delivery.problems.append(gitrepo.scrub(str(exc)))
                delivery.spooled.append(run_id)
                continue
            delivery.committed.append(run_id)

        if target.push_url is not None and local is not None and local != remote_tip and reachable:
            delivery.pushed = self._push(repo, target, local, remote_tip, delivery.problems)
        elif local is not None and local == remote_tip:
            delivery.pushed = True
        return delivery

    def _default_branches(self, target: _Target, remote_default: str | None) -> set[str]:
        if remote_default:
            return {remote_default}
        if target.source_head:
            return {target.source_head}
        return set(_ALWAYS_DEFAULT)

    def _refusal(self, target: _Target) -> str:
        where = target.remote_label or target.where
        return (
            f"refusing to create branch {self.branch!r}: it is the default branch of {where} and "
            "does not exist yet; choose another branch with --agentv-branch (the default is "
            "agentv/checkpoints/v1) or create the branch first"
        )

    def _commit_spooled(self, repo: Repo, target: _Target, tip: str, run_id: str) -> str:
        run = self.spool.load(run_id)
        shard = shard_path(run_id, self.prefix)
        tree = gitrepo.write_files_tree(repo, {name: run.files[name] for name in RUN_FILES})
        now = int(time.time())
        meta = gitrepo.CommitMeta(
            message=run_message(run.summary),
            author=target.identity,
            committer=target.identity,
            author_time=_epoch(run.summary.timestamp) or now,
            commit_time=now,
        )
        try:
            new = gitrepo.commit_subtree(repo, tip, shard, tree, meta)
        except gitrepo.RunPathExists as exc:
            if exc.existing == tree:  # committed before a crash that left the spool copy behind
                self.spool.remove(run_id)
                return tip
            raise StoreError(
                f"run {run_id} already exists on branch {self.branch} with different files; "
                f"the spooled copy stays in {self.spool.path(run_id)}"
            ) from None
        if not gitrepo.update_ref(repo, target.local_ref, new, tip):
            raise gitrepo.GitError(f"branch {self.branch} changed under us; try again")
        self.spool.remove(run_id)
        return new

    def _set_tracking(self, repo: Repo, target: _Target, tip: str | None) -> None:
        assert target.tracking_ref is not None
        for _attempt in range(5):
            current = gitrepo.read_ref(repo, target.tracking_ref)
            if current == tip or gitrepo.update_ref(repo, target.tracking_ref, tip, current):
                return
        raise gitrepo.GitError(f"cannot update {target.tracking_ref}; try again")

    def _push(
        self, repo: Repo, target: _Target, local: str, remote_tip: str | None, problems: list[str]
    ) -> bool:
        """Push; after a lost race wait, fetch, rebuild on the new tip and push again (bounded)."""
        assert target.push_url is not None and target.fetch_url is not None
        why: str | None = None
        for attempt in range(self.attempts):
            if attempt:
                # full jitter, and before the fetch so the tip we rebuild on is as fresh as it
                # can be when we push: racing writers spread out instead of colliding again
                time.sleep(random.uniform(0, min(self.backoff_cap, self.backoff_base * 2**attempt)))
                try:
                    state = gitrepo.fetch_branch(repo, target.fetch_url, self.branch)
                except gitrepo.TransportError as exc:
                    problems.append(str(exc))
                    return False
                if state.tip == remote_tip:  # it did not move, so it refused: retrying won't help
                    problems.append(f"push to {target.remote_label} was refused: {why}")
                    return False
                self._set_tracking(repo, target, state.tip)
                remote_tip = state.tip
                caught_up = self._catch_up(repo, target, remote_tip)
                assert caught_up is not None
                local = caught_up
                if local == remote_tip:
                    return True  # our runs were already there (an earlier push got through)
            try:
                why = gitrepo.push_branch(repo, target.push_url, self.branch, remote_tip, local)
            except gitrepo.TransportError as exc:
                problems.append(str(exc))
                return False
            if why is None:
                self._set_tracking(repo, target, local)
                return True
        problems.append(
            f"push to {target.remote_label} lost the race {self.attempts} times in a row "
            "(other writers kept moving the branch)"
        )
        return False

    def _catch_up(self, repo: Repo, target: _Target, remote_tip: str | None) -> str | None:
        """Bring the local branch onto ``remote_tip``: fast-forward, or replay unpushed runs."""
        local = gitrepo.read_ref(repo, target.local_ref)
        if remote_tip is None or local == remote_tip:
            return local
        if local is None:
            if not gitrepo.update_ref(repo, target.local_ref, remote_tip, None):
                raise gitrepo.GitError(f"branch {self.branch} changed under us; try again")
            return remote_tip
        unpushed, base = self._unpushed(repo, local, remote_tip)
        if base == local:  # nothing of ours is missing from the remote
            if not gitrepo.update_ref(repo, target.local_ref, remote_tip, local):
                raise gitrepo.GitError(f"branch {self.branch} changed under us; try again")
            return remote_tip
        if base == remote_tip:  # we are simply ahead
            return local
        genesis = gitrepo.genesis_sha()
        tip = remote_tip
        for commit in reversed(unpushed):
            if commit == genesis:
                continue
            added = gitrepo.added_subtree(repo, commit)
            if added is None:
                raise gitrepo.GitError(
                    f"the local branch {self.branch} has commit {commit[:12]} that is not a run "
                    "and cannot be replayed onto the remote branch; push or drop it by hand"
                )
            path, tree = added
            try:
                meta = gitrepo.commit_meta(repo, commit)
                tip = gitrepo.commit_subtree(repo, tip, path, tree, meta)
            except gitrepo.RunPathExists as exc:
                if exc.existing != tree:
                    raise gitrepo.GitError(
                        f"{path} exists on the remote branch with different files"
                    ) from None
                # already delivered (e.g. the connection broke after the remote took it)
        if not gitrepo.update_ref(repo, target.local_ref, tip, local):
            raise gitrepo.GitError(f"branch {self.branch} changed under us; try again")
        return tip

    def _unpushed(self, repo: Repo, local: str, remote: str | None) -> tuple[list[str], str | None]:
        """Commits on ``local``'s first-parent chain missing from ``remote``'s, newest first,
        and where the chains meet (None if never).

        Both chains are walked in lockstep so the cost is the distance to the fork point.
        """
        with gitrepo.ObjectReader(repo) as reader:
            ours = gitrepo.walk_first_parent(reader, local)
            theirs = gitrepo.walk_first_parent(reader, remote) if remote else iter(())
            order: list[str] = []
            seen_ours: set[str] = set()
            seen_theirs: set[str] = set()
            while True:
                mine = next(ours, None)
                if mine is not None:
                    if mine[0] in seen_theirs:
                        return order, mine[0]
                    seen_ours.add(mine[0])
                    order.append(mine[0])
                other = next(theirs, None)
                if other is not None:
                    if other[0] in seen_ours:
                        return order[: order.index(other[0])], other[0]
                    seen_theirs.add(other[0])
                if mine is None and other is None:
                    return order, None

    # --- sync and reading ---------------------------------------------------------------------

    def sync(self) -> SyncReport:
        """Commit spooled runs and push the branch; report what was delivered and what was not."""
        try:
            with self._repo(lock=True) as (target, repo):
                before = self._pending(target, repo)
                delivery = self._deliver(target, repo)
                after = self._pending(target, repo)
        except (StoreError, gitrepo.GitError, OSError) as exc:
            pending = tuple(self.spool.run_ids())
            return SyncReport(pending=pending, problems=(gitrepo.scrub(str(exc)),))
        return SyncReport(
            pushed=tuple(sorted(before - after)),
            pending=tuple(sorted(after)),
            problems=tuple(delivery.problems),
        )

    def fetch(self) -> None:
        """Update the remote-tracking ref and the local branch from the remote (no-op without)."""
        try:
            with self._repo(lock=True) as (target, repo):
                if target.fetch_url is None or target.tracking_ref is None:
                    return
                state = gitrepo.fetch_branch(repo, target.fetch_url, self.branch)
                self._set_tracking(repo, target, state.tip)
                self._catch_up(repo, target, state.tip)
        except (gitrepo.GitError, OSError) as exc:
            raise StoreError(gitrepo.scrub(str(exc))) from None

    def tip(self) -> str | None:
        """Hex sha of the local branch tip (the remote-tracking tip if there is no local branch)."""
        with self._repo(lock=False) as (target, repo):
            return self._tip(target, repo)

    def _tip(self, target: _Target, repo: Repo) -> str | None:
        local = gitrepo.read_ref(repo, target.local_ref)
        if local is None and target.tracking_ref is not None:
            return gitrepo.read_ref(repo, target.tracking_ref)
        return local

    def walk(self, stop_at: str | None = None) -> Iterator[RunCommit]:
        """First-parent history from the tip, newest first, stopping before ``stop_at``."""
        with self._repo(lock=False) as (target, repo):
            tip = self._tip(target, repo)
            if tip is None:
                return
            with gitrepo.ObjectReader(repo) as reader:
                for sha, message, commit_time in gitrepo.walk_first_parent(reader, tip, stop_at):
                    yield RunCommit(sha, message, commit_time)

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """True if ``ancestor`` is ``descendant`` or in its history (False if either is unknown)."""
        with self._repo(lock=False) as (_target, repo):
            if not (gitrepo.has_object(repo, ancestor) and gitrepo.has_object(repo, descendant)):
                return False
            return gitrepo.is_ancestor(repo, ancestor, descendant)

    def read(self, run_id: str, name: str) -> bytes:
        """One file of one run, by path at the tip (or from the spool if not committed yet)."""
        check_run_id(run_id)
        if name not in RUN_FILES:
            raise ValueError(f"{name!r} is not a run file; choose one of {', '.join(RUN_FILES)}")
        with self._repo(lock=False) as (target, repo):
            tip = self._tip(target, repo)
            if tip is not None:
                data = gitrepo.read_blob(repo, tip, f"{shard_path(run_id, self.prefix)}/{name}")
                if data is not None:
                    return data
        try:
            return (self.spool.path(run_id) / name).read_bytes()
        except OSError:
            raise RunNotFound(f"no run {run_id} on branch {self.branch}") from None

    def pending_run_ids(self) -> set[str]:
        """Runs kept locally but not on the remote yet (unpushed commits and spooled runs)."""
        with self._repo(lock=False) as (target, repo):
            return self._pending(target, repo)

    def _pending(self, target: _Target, repo: Repo) -> set[str]:
        pending = set(self.spool.run_ids())
        local = gitrepo.read_ref(repo, target.local_ref)
        if target.tracking_ref is None or local is None:
            return pending
        remote = gitrepo.read_ref(repo, target.tracking_ref)
        if local == remote:
            return pending
        unpushed, _base = self._unpushed(repo, local, remote)
        for commit in unpushed:
            run_id = gitrepo.message_trailers(gitrepo.commit_meta(repo, commit).message).get(
                "AgentV-Run"
            )
            if run_id and is_run_id(run_id):
                pending.add(run_id)
        return pending

    def list(self) -> Iterator[StoredRun]:
        """Spooled runs, then the runs on the branch, newest first; unpushed ones are pending."""
        pending = self.pending_run_ids()
        spooled = []
        for run_id in self.spool.run_ids():
            try:
                spooled.append(StoredRun(summary=self.spool.load(run_id).summary, pending=True))
            except StoreError:
                continue
        spooled.sort(key=lambda run: (run.summary.timestamp, run.summary.run_id), reverse=True)
        yield from spooled
        for commit in self.walk():
            if commit.run_id is None:
                continue
            try:
                summary = load_summary(self.read(commit.run_id, SUMMARY_FILE))
            except (RunNotFound, ValueError):
                continue
            yield StoredRun(summary=summary, pending=commit.run_id in pending)


# --- commit messages ------------------------------------------------------------------------------


def _one_line(value: str | None) -> str:
    """A trailer value: one line, no control characters, ``unknown`` when missing."""
    if value is None:
        return "unknown"
    cleaned = " ".join(re.sub(r"[\x00-\x1f\x7f]", " ", value).split())
    return gitrepo.scrub(cleaned) or "unknown"


def _score_name(name: str) -> str:
    return re.sub(r"[\s=]+", "_", _one_line(name))


def run_trailers(summary: RunSummary) -> list[tuple[str, str]]:
    """The trailers of a run commit, in order; every key is always present (docs/storage.md)."""
    counts = summary.counts
    scores = " ".join(
        f"{_score_name(name)}={aggregate.mean:.12g}" for name, aggregate in summary.scores.items()
    )
    return [
        ("AgentV-Run", summary.run_id),
        ("AgentV-Eval", _one_line(summary.eval_file)),
        ("AgentV-Model", _one_line(summary.model)),
        ("Source-Commit", _one_line(summary.source_commit)),
        ("AgentV-Timestamp", _one_line(summary.timestamp)),
        (
            "AgentV-Tests",
            f"total={counts.total} passed={counts.passed} failed={counts.failed} "
            f"skipped={counts.skipped} errors={counts.errors}",
        ),
        ("AgentV-Scores", scores or "none"),
    ]


def run_message(summary: RunSummary) -> bytes:
    """``Run: <runId>``, a blank line, then :func:`run_trailers`."""
    return gitrepo.format_message(f"Run: {summary.run_id}", run_trailers(summary))


# --- helpers --------------------------------------------------------------------------------------


def _epoch(timestamp: str) -> int | None:
    try:
        return int(datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None


def _slug(url: str) -> str:
    slug = gitrepo.repo_slug(_strip_userinfo(url)) or "remote"
    return re.sub(r"[^A-Za-z0-9._-]+", "-", slug).strip("-.") or "remote"


def _strip_userinfo(url: str) -> str:
    return re.sub(r"(://)[^/@\s]*@", r"\1", url)

"""The branch writer: apply a change set as one commit, compare-and-swap the ref, push.

Algorithm (docs/storage.md): under a file lock, fetch the branch, catch the local branch up with
the remote (fast-forward, or replay unpushed commits on the new tip), commit every pending change
set whose preconditions hold, and push without ever forcing. A lost push race waits (exponential
backoff with full jitter), fetches, replays and pushes again, until a time budget runs out. A
change set is in the spool until it is on the local branch and a commit stays local until
pushed, so nothing is lost when the remote cannot be reached: the next ``apply`` or ``sync``
delivers it.

Pushing, catching up and replaying are :class:`~pytest_agentv.branch.pushing.BranchPusher`'s.
"""

from __future__ import annotations

import time
from pathlib import Path

from pytest_agentv import trailers as trailer_format
from pytest_agentv.branch.changes import (
    PLAIN_GENESIS,
    BranchGenesis,
    ChangeSet,
    MustHaveBlob,
    blob_sha,
)
from pytest_agentv.branch.errors import BranchConflict, BranchError, FileTooLarge
from pytest_agentv.branch.history import describe_entry, unpushed_commits
from pytest_agentv.branch.pushing import CONFLICTS_REF, BranchPusher, WritePass
from pytest_agentv.branch.results import BranchCommit, BranchDelivery, BranchSync
from pytest_agentv.branch.spool import ChangeSpool, PendingChanges, SpoolError, check_key
from pytest_agentv.branch.target import BranchTarget, resolve_target
from pytest_agentv.credentials import mask_credentials
from pytest_agentv.git.errors import GitError, TransportError
from pytest_agentv.git.repository import CommitMeta, GitRepository
from pytest_agentv.layout import ProjectLayout
from pytest_agentv.serial import epoch_seconds

__all__ = [
    "CONFLICTS_REF",
    "BranchCommit",
    "BranchConflict",
    "BranchDelivery",
    "BranchError",
    "BranchSync",
    "BranchWriter",
    "FileTooLarge",
]

_ALWAYS_DEFAULT = frozenset({"main", "master"})
#: seconds after a write that lost push races during which later writes fetch before pushing
CONTENDED_FOR = 60.0


class BranchWriter(BranchPusher):
    """Writes change sets to one branch of one target; see the module docstring."""

    #: push a change committed first without fetching first (see :meth:`_push_first`)
    push_first = True

    def __init__(
        self,
        target: BranchTarget,
        pending: PendingChanges,
        max_file_size: int | None = None,
        genesis: BranchGenesis = PLAIN_GENESIS,
    ) -> None:
        super().__init__(target)
        self.pending = pending
        #: what the root commit says when this writer creates the branch
        self.genesis = genesis
        #: bytes a file may have (None: no limit); a bigger file is refused by :meth:`apply`
        self.max_file_size = max_file_size
        #: until when (monotonic seconds) the remote is taken to be contended: a write here
        #: lost push races lately, so the next one fetches before it pushes
        self._contended_until = 0.0

    @classmethod
    def for_project(
        cls,
        rootdir: Path,
        branch: str,
        remote: str | None = None,
        pending: PendingChanges | None = None,
    ) -> BranchWriter:
        """The writer of ``branch`` for the project at ``rootdir`` (see :func:`resolve_target`);
        change sets wait in ``.agentv/spool/changes`` unless ``pending`` says otherwise."""
        target = resolve_target(rootdir, branch, remote)
        if pending is None:
            pending = ChangeSpool(ProjectLayout(rootdir).changes_spool_dir)
        return cls(target, pending)

    # --- writing ----------------------------------------------------------------------------

    def apply(self, change: ChangeSet) -> BranchDelivery:
        """Commit ``change`` (and any earlier pending change sets), then push.

        Raises :class:`BranchConflict` when a precondition does not hold (nothing is committed
        and the change is not kept), :class:`FileTooLarge` when a file is over
        :attr:`max_file_size` (the change is not kept: it could never be pushed), and
        :class:`BranchError` when it cannot even be kept. Every other trouble is reported in the
        delivery, with the change kept: committed on the local branch, or in the spool.
        """
        check_key(change.key)
        self.check_sizes(change)
        state = WritePass(focus=change.key)
        waited: list[bool] = []

        def keep_before_waiting() -> None:
            self._keep(change)
            waited.append(True)

        try:
            with self._open(lock=True, before_waiting=keep_before_waiting) as repo:
                if waited:  # spooled: the lock's holder may have committed it meanwhile
                    self._find_spooled(repo, change, state)
                    self._deliver(repo, state)
                else:
                    self._deliver(repo, state, change)
                if state.conflict is None:
                    # one pack per commit and per fetch: keep them few, but not while other
                    # writers race for the remote (a later, quieter write rolls them up)
                    repo.consolidate_packs(busy=state.lost_races > 0)
            if state.lost_races:
                self._contended_until = time.monotonic() + CONTENDED_FOR
        except (BranchError, GitError, OSError) as exc:
            return self._kept(change, state, mask_credentials(str(exc)))
        except Exception as exc:  # a bug must not cost the change: it is kept
            return self._kept(change, state, mask_credentials(f"{type(exc).__name__}: {exc}"))
        if state.conflict is not None:
            raise state.conflict
        return BranchDelivery(
            key=change.key,
            commit=state.commits.get(change.key),
            pushed=state.pushed,
            spooled=change.key in state.spooled,
            problems=tuple(state.problems),
            also_committed=tuple(key for key in state.committed if key != change.key),
        )

    def _keep(self, change: ChangeSet) -> None:
        """Put ``change`` in the spool (:class:`BranchError` if it cannot be kept there)."""
        try:
            self.pending.put(change)
        except SpoolError as exc:
            raise BranchError(str(exc)) from None

    def check_sizes(self, change: ChangeSet) -> None:
        """Raise :class:`FileTooLarge` for the first file of ``change`` over the limit."""
        limit = self.max_file_size
        if limit is None:
            return
        for path, data in change.files.items():
            if data is not None and len(data) > limit:
                raise FileTooLarge(change.key, path, len(data), limit)

    def _kept(self, change: ChangeSet, state: WritePass, problem: str) -> BranchDelivery:
        """The delivery of a pass cut short: the change is on the local branch if it got that
        far, else it goes to the spool now."""
        commit = state.commits.get(change.key)
        if commit is None:
            self._keep(change)
        return BranchDelivery(
            key=change.key,
            commit=commit,
            pushed=False,
            spooled=commit is None,
            problems=(*state.problems, problem),
        )

    def sync(self) -> BranchSync:
        """Commit every pending change set and push; report what is delivered and what is not."""
        try:
            with self._open(lock=True) as repo:
                repo.sweep_stale_locks()  # under the lock: no writer of ours is mid-write
                state = WritePass()
                self._deliver(repo, state)
                repo.consolidate_packs()
        except Exception as exc:  # sync reports; a traceback helps no one and loses nothing here
            detail = (
                str(exc)
                if isinstance(exc, BranchError | GitError | OSError)
                else (f"{type(exc).__name__}: {exc}")
            )
            return BranchSync(
                spooled=tuple(self.pending.waiting()), problems=(mask_credentials(detail),)
            )
        return BranchSync(
            committed=tuple(state.committed),
            spooled=tuple(state.spooled),
            pushed=state.pushed,
            problems=tuple(state.problems),
        )

    def fetch(self) -> None:
        """Update the remote-tracking ref and the local branch from the remote (no-op without)."""
        target = self.target
        try:
            with self._open(lock=True) as repo:
                if target.fetch_url is None or target.tracking_ref is None:
                    return
                acknowledged = self._present_ref(repo, target.tracking_ref)
                state = repo.fetch_branch(target.fetch_url, self.branch, self.network_timeout)
                if state.tip is None and acknowledged is not None:
                    raise BranchError(self._deleted(acknowledged))
                self._catch_up(repo, state.tip, WritePass(), acknowledged)
                self._set_tracking(repo, state.tip)
        except (GitError, OSError) as exc:
            raise BranchError(mask_credentials(str(exc))) from None

    def _deliver(
        self, repo: GitRepository, state: WritePass, change: ChangeSet | None = None
    ) -> None:
        """Under the lock: commit ``change``, fetch, catch up, commit the spool, push; the
        outcome and the problems go to ``state``.

        ``change`` is committed on the local tip before anything else (then a fetch that moved
        the remote replays it like any unpushed commit) whenever that is safe: the branch
        exists, nothing older waits in the spool, and with a remote, the remote had the branch
        when last seen. Otherwise it is spooled first and committed with the spool.
        """
        target = self.target
        if change is not None:
            if self._commit_first(repo, change, state):
                if self._push_first(repo, state):
                    return
            elif state.conflict is not None:
                return
            else:
                self._keep(change)
        if target.write_refusal is not None:
            state.problems.append(target.write_refusal)
            state.spooled.extend(self.pending.waiting())
            return
        remote_tip: str | None = None
        default_branch: str | None = None
        reachable = target.fetch_url is not None
        acknowledged: str | None = None
        if target.fetch_url is not None and target.tracking_ref is not None:
            # what the remote last acknowledged: a run on it was delivered, whatever comes next
            acknowledged = remote_tip = self._present_ref(repo, target.tracking_ref)
            try:
                fetched = repo.fetch_branch(target.fetch_url, self.branch, self.network_timeout)
                default_branch = fetched.default_branch
                remote_tip = fetched.tip
            except TransportError as exc:
                state.problems.append(str(exc))
                reachable = False
        if reachable and remote_tip is None and acknowledged is not None:
            # deleted since it acknowledged our runs: recreating it would bring them all back
            state.problems.append(self._deleted(acknowledged))
            state.spooled.extend(self.pending.waiting())
            return
        local = self._catch_up(repo, remote_tip, state, acknowledged)
        if reachable and remote_tip != acknowledged:
            self._set_tracking(repo, remote_tip)
        # with a remote, "exists" is the remote's answer: a local branch of the same name (the
        # user's own main, say) must not smuggle the default branch onto the remote
        missing_remotely = reachable and remote_tip is None

        if self.pending.waiting() and (local is None or missing_remotely):
            if self.branch in self._default_branches(default_branch):
                state.problems.append(self._refusal())
                state.spooled.extend(self.pending.waiting())
                return
            if local is None:
                local = repo.genesis_commit(self.genesis.message, self.genesis.readme)
                self._move(repo, target.local_ref, local, None)
        if local is not None:
            local = self._commit_waiting(repo, local, state)

        if target.push_url is not None and local is not None and local != remote_tip and reachable:
            state.pushed = self._push(repo, local, remote_tip, state)
        elif local is not None and local == remote_tip:
            state.pushed = True

    def _push_first(self, repo: GitRepository, state: WritePass) -> bool:
        """Push without fetching first when the local branch is what the remote last
        acknowledged plus commits of ours (``git push``'s own way: a remote that moved says so
        in its ref advertisement, and the push then goes the lost-race way: fetch, replay, push
        again). One round trip instead of two when nobody else wrote; False when it does not
        apply (then fetch first)."""
        target = self.target
        if not self.push_first or time.monotonic() < self._contended_until:
            return False  # others are writing: the remote has most likely moved
        if target.push_url is None or target.fetch_url is None or target.tracking_ref is None:
            return False
        acknowledged = self._present_ref(repo, target.tracking_ref)
        local = self._present_ref(repo, target.local_ref)
        if acknowledged is None or local is None or local == acknowledged:
            return False
        if unpushed_commits(repo, local, acknowledged)[1] != acknowledged:
            return False  # both moved: replay on a fresh tip first
        state.pushed = self._push(repo, local, acknowledged, state)
        return True

    def _find_spooled(self, repo: GitRepository, change: ChangeSet, state: WritePass) -> None:
        """``change`` was spooled while another writer held the lock, and that writer commits
        what waits in the spool: when it is no longer there, find it on the local branch (or
        put it back, if it is not there either)."""
        if change.key in self.pending.waiting():
            return
        local = self._present_ref(repo, self.target.local_ref)
        if local is not None and _holds(repo, local, change):
            state.commits[change.key] = local
            state.committed.append(change.key)
        else:
            self._keep(change)

    def _commit_waiting(self, repo: GitRepository, local: str, state: WritePass) -> str:
        """Commit every change set waiting in the spool on ``local``, oldest first (those that
        cannot be committed stay, with a problem); return the new tip."""
        for key in self.pending.waiting():
            if key in state.committed or key in state.spooled:
                continue  # seen in this pass already
            try:
                local = self._commit_pending(repo, local, key, state)
            except BranchConflict as exc:
                if key == state.focus:
                    state.conflict = exc
                    self.pending.remove(key)
                else:
                    state.problems.append(f"{exc}; it stays in {self.pending.where(key)}")
                    state.spooled.append(key)
            except (SpoolError, GitError, OSError) as exc:
                state.problems.append(mask_credentials(str(exc)))
                state.spooled.append(key)
            except Exception as exc:  # one change set that trips a bug must not block the rest
                detail = mask_credentials(f"{type(exc).__name__}: {exc}")
                state.problems.append(f"{detail}; it stays in {self.pending.where(key)}")
                state.spooled.append(key)
        return local

    def _commit_first(self, repo: GitRepository, change: ChangeSet, state: WritePass) -> bool:
        """Commit ``change`` on the local tip when that is safe (see :meth:`_deliver`); False
        when it must go through the spool, or conflicts (``state.conflict``)."""
        target = self.target
        if target.write_refusal is not None or self.pending.waiting():
            return False  # refused, or older change sets go first
        local = self._present_ref(repo, target.local_ref)
        if local is None:
            return False  # creating the branch needs the remote's answer (default branch?)
        tracking = target.tracking_ref
        unseen = tracking is not None and self._present_ref(repo, tracking) is None
        if target.fetch_url is not None and unseen:
            return False  # the same: the remote's answer decides when it never had the branch
        try:
            self._commit_change(repo, local, change, state)
        except BranchConflict as exc:
            state.conflict = exc
            return False
        return True

    def _default_branches(self, remote_default: str | None) -> set[str]:
        if remote_default:
            return {remote_default}
        if self.target.source_head:
            return {self.target.source_head}
        return set(_ALWAYS_DEFAULT)

    def _refusal(self) -> str:
        where = self.target.remote_label or self.target.where
        return (
            f"refusing to create branch {self.branch!r}: it is the default branch of {where} and "
            "does not exist yet; choose another branch with --agentv-branch (the default is "
            "agentv/checkpoints/v1) or create the branch first"
        )

    def _commit_pending(self, repo: GitRepository, tip: str, key: str, state: WritePass) -> str:
        change = self.pending.load(key)
        try:
            self.check_sizes(change)  # spooled before the limit was lowered: never commit it
        except FileTooLarge as exc:
            raise SpoolError(f"{exc}; it stays in {self.pending.where(key)}") from None
        if _holds(repo, tip, change):
            # already on the branch (committed before a crash that left the spool copy behind)
            new = tip
            state.commits[key] = tip
            state.committed.append(key)
        else:
            new = self._commit_change(repo, tip, change, state)
        self.pending.remove(key)  # after the ref moved: a crash in between leaves both
        return new

    def _commit_change(
        self, repo: GitRepository, tip: str, change: ChangeSet, state: WritePass
    ) -> str:
        """Commit ``change`` on ``tip`` if its preconditions hold (else :class:`BranchConflict`)
        and move the local branch there; return the new tip."""
        self._check(repo, tip, change)
        now = int(time.time())
        author_time = epoch_seconds(change.timestamp) if change.timestamp else None
        meta = CommitMeta(
            message=trailer_format.format_message(change.subject, change.trailers),
            author=self.target.identity,
            committer=self.target.identity,
            author_time=author_time if author_time is not None else now,
            commit_time=now,
        )
        new = repo.commit(tip, change.files, meta)  # blobs, trees and commit: one pack
        self._move(repo, self.target.local_ref, new, tip)
        state.commits[change.key] = new
        state.committed.append(change.key)
        return new

    def _check(self, repo: GitRepository, tip: str, change: ChangeSet) -> None:
        entries = repo.entries(tip, list(change.preconditions))
        for path, rule in change.preconditions.items():
            entry = entries[path]
            if isinstance(rule, MustHaveBlob):
                if entry is None or entry[0] or entry[1] != rule.sha:
                    raise BranchConflict(
                        change.key, path, f"blob {rule.sha}", describe_entry(entry)
                    )
            elif entry is not None:
                raise BranchConflict(change.key, path, "no such path", describe_entry(entry))


def _holds(repo: GitRepository, tip: str, change: ChangeSet) -> bool:
    """True when every file of ``change`` already holds at ``tip`` what it would write."""
    entries = repo.entries(tip, list(change.files))
    for path, data in change.files.items():
        entry = entries[path]
        if data is None:
            if entry is not None and not entry[0]:
                return False
        elif entry is None or entry[0] or entry[1] != blob_sha(data):
            return False
    return True

"""The branch writer: apply a change set as one commit, compare-and-swap the ref, push.

Algorithm (docs/storage.md): under a file lock, fetch the branch, catch the local branch up with
the remote (fast-forward, or replay unpushed commits on the new tip), commit every pending change
set whose preconditions hold, and push without ever forcing. A lost push race waits (exponential
backoff with full jitter), fetches, replays and pushes again, until a time budget runs out. A
change set is in the spool until it is on the local branch and a commit stays local until
pushed, so nothing is lost when the remote cannot be reached: the next ``apply`` or ``sync``
delivers it.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from pytest_agentv import trailers as trailer_format
from pytest_agentv.branch.changes import ChangeSet, MustHaveBlob, blob_sha
from pytest_agentv.branch.errors import BranchConflict, BranchError, FileTooLarge
from pytest_agentv.branch.history import describe_path, unpushed_commits
from pytest_agentv.branch.reader import BranchReader
from pytest_agentv.branch.results import BranchCommit, BranchDelivery, BranchSync
from pytest_agentv.branch.spool import ChangeSpool, PendingChanges, SpoolError, check_key
from pytest_agentv.branch.target import BranchTarget, resolve_target
from pytest_agentv.credentials import mask_credentials
from pytest_agentv.git.errors import GitError, TransportError
from pytest_agentv.git.repository import REMOTE_BUSY, CommitMeta, GitRepository, genesis_sha
from pytest_agentv.layout import ProjectLayout
from pytest_agentv.options import DEFAULT_NETWORK_TIMEOUT
from pytest_agentv.serial import epoch_seconds

__all__ = [
    "BranchCommit",
    "BranchConflict",
    "BranchDelivery",
    "BranchError",
    "BranchSync",
    "BranchWriter",
    "FileTooLarge",
]

_ALWAYS_DEFAULT = frozenset({"main", "master"})
CONFLICTS_REF = "refs/agentv/conflicts/"


@dataclass
class _Pass:
    """The outcome of one catch-up, commit and push pass, under the lock."""

    focus: str | None = None
    committed: list[str] = field(default_factory=list)
    spooled: list[str] = field(default_factory=list)
    commits: dict[str, str] = field(default_factory=dict)  # key -> local commit
    pushed: bool = False
    problems: list[str] = field(default_factory=list)
    conflict: BranchConflict | None = None


class BranchWriter(BranchReader):
    """Writes change sets to one branch of one target; see the module docstring."""

    #: how long lost push races are retried before the change is left for the next pass
    push_budget = 120.0
    #: seconds a fetch or push may wait to connect or for an answer (None: no limit)
    network_timeout: float | None = DEFAULT_NETWORK_TIMEOUT
    backoff_base = 0.05
    backoff_cap = 2.0

    def __init__(
        self, target: BranchTarget, pending: PendingChanges, max_file_size: int | None = None
    ) -> None:
        super().__init__(target)
        self.pending = pending
        #: bytes a file may have (None: no limit); a bigger file is refused by :meth:`apply`
        self.max_file_size = max_file_size

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
        and the change leaves the spool), :class:`FileTooLarge` when a file is over
        :attr:`max_file_size` (the change is not kept: it could never be pushed), and
        :class:`BranchError` when it cannot even be kept. Every other trouble is reported in the
        delivery, with the change kept.
        """
        check_key(change.key)
        self.check_sizes(change)
        try:
            self.pending.put(change)
        except SpoolError as exc:
            raise BranchError(str(exc)) from None
        try:
            with self._open(lock=True) as repo:
                state = self._deliver(repo, focus=change.key)
                repo.consolidate_packs()  # one pack per commit and per fetch: keep them few
        except (BranchError, GitError, OSError) as exc:
            return self._kept(change.key, mask_credentials(str(exc)))
        except Exception as exc:  # a bug must not cost the change: it is safe in the spool
            return self._kept(change.key, mask_credentials(f"{type(exc).__name__}: {exc}"))
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

    def check_sizes(self, change: ChangeSet) -> None:
        """Raise :class:`FileTooLarge` for the first file of ``change`` over the limit."""
        limit = self.max_file_size
        if limit is None:
            return
        for path, data in change.files.items():
            if data is not None and len(data) > limit:
                raise FileTooLarge(change.key, path, len(data), limit)

    def _kept(self, key: str, problem: str) -> BranchDelivery:
        return BranchDelivery(key=key, commit=None, pushed=False, spooled=True, problems=(problem,))

    def sync(self) -> BranchSync:
        """Commit every pending change set and push; report what is delivered and what is not."""
        try:
            with self._open(lock=True) as repo:
                repo.sweep_stale_locks()  # under the lock: no writer of ours is mid-write
                state = self._deliver(repo, focus=None)
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
                self._catch_up(repo, state.tip, _Pass(), acknowledged)
                self._set_tracking(repo, state.tip)
        except (GitError, OSError) as exc:
            raise BranchError(mask_credentials(str(exc))) from None

    def _deliver(self, repo: GitRepository, focus: str | None) -> _Pass:
        """Under the lock: fetch, catch up, commit the spool, push. Problems are collected."""
        target = self.target
        state = _Pass(focus=focus)
        if target.write_refusal is not None:
            state.problems.append(target.write_refusal)
            state.spooled.extend(self.pending.waiting())
            return state
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
            return state
        local = self._catch_up(repo, remote_tip, state, acknowledged)
        if reachable and remote_tip != acknowledged:
            self._set_tracking(repo, remote_tip)
        # with a remote, "exists" is the remote's answer: a local branch of the same name (the
        # user's own main, say) must not smuggle the default branch onto the remote
        missing_remotely = reachable and remote_tip is None

        for key in self.pending.waiting():
            if local is None or missing_remotely:
                if self.branch in self._default_branches(default_branch):
                    state.problems.append(self._refusal())
                    state.spooled.extend(self.pending.waiting())
                    return state
                if local is None:
                    local = repo.genesis_commit()
                    self._move(repo, target.local_ref, local, None)
            try:
                local = self._commit_pending(repo, local, key, state)
            except BranchConflict as exc:
                if key == focus:
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

        if target.push_url is not None and local is not None and local != remote_tip and reachable:
            state.pushed = self._push(repo, local, remote_tip, state)
        elif local is not None and local == remote_tip:
            state.pushed = True
        return state

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

    def _commit_pending(self, repo: GitRepository, tip: str, key: str, state: _Pass) -> str:
        change = self.pending.load(key)
        try:
            self.check_sizes(change)  # spooled before the limit was lowered: never commit it
        except FileTooLarge as exc:
            raise SpoolError(f"{exc}; it stays in {self.pending.where(key)}") from None
        blobs = {
            path: None if data is None else blob_sha(data) for path, data in change.files.items()
        }
        if all(repo.blob_id(tip, path) == sha for path, sha in blobs.items()):
            # already on the branch (committed before a crash that left the spool copy behind)
            self.pending.remove(key)
            state.commits[key] = tip
            state.committed.append(key)
            return tip
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
        self.pending.remove(key)
        state.commits[key] = new
        state.committed.append(key)
        return new

    def _check(self, repo: GitRepository, tip: str, change: ChangeSet) -> None:
        for path, rule in change.preconditions.items():
            found = repo.blob_id(tip, path)
            if isinstance(rule, MustHaveBlob):
                if found != rule.sha:
                    raise BranchConflict(
                        change.key, path, f"blob {rule.sha}", describe_path(repo, tip, path, found)
                    )
            elif found is not None or repo.exists(tip, path):
                raise BranchConflict(
                    change.key, path, "no such path", describe_path(repo, tip, path, found)
                )

    # --- refs -------------------------------------------------------------------------------

    def _move(self, repo: GitRepository, ref: str, new: str | None, old: str | None) -> None:
        if not repo.update_ref(ref, new, old):
            raise GitError(f"{ref} changed under us (another writer); try again")

    def _set_tracking(self, repo: GitRepository, tip: str | None) -> None:
        ref = self.target.tracking_ref
        assert ref is not None
        for _attempt in range(5):
            current = repo.read_ref(ref)
            if current == tip or repo.update_ref(ref, tip, current):
                return
        raise GitError(f"cannot update {ref}; try again")

    # --- pushing and catching up --------------------------------------------------------------

    def _push(self, repo: GitRepository, local: str, remote_tip: str | None, state: _Pass) -> bool:
        """Push; after a lost race wait, fetch, replay on the new tip and push again, until
        :attr:`push_budget` seconds have passed (a count would run out on a busy machine)."""
        target = self.target
        assert target.push_url is not None and target.fetch_url is not None
        deadline = time.monotonic() + self.push_budget
        why: str | None = None
        attempt = 0
        while True:
            if attempt:
                if time.monotonic() >= deadline:
                    state.problems.append(
                        f"push to {target.remote_label} lost the race {attempt} times in "
                        f"{self.push_budget:.0f}s (other writers kept moving the branch)"
                    )
                    return False
                # full jitter, and before the fetch so the tip we replay on is as fresh as it
                # can be when we push: racing writers spread out instead of colliding again
                ceiling = min(self.backoff_cap, self.backoff_base * 2 ** min(attempt, 16))
                time.sleep(random.uniform(0, ceiling))
                try:
                    fetched = repo.fetch_branch(target.fetch_url, self.branch, self.network_timeout)
                except TransportError as exc:
                    state.problems.append(str(exc))
                    return False
                if fetched.tip == remote_tip and why != REMOTE_BUSY:
                    # it did not move, so it refused the update: retrying will not help
                    state.problems.append(f"push to {target.remote_label} was refused: {why}")
                    return False
                if fetched.tip is None and remote_tip is not None:
                    state.problems.append(self._deleted(remote_tip))
                    return False
                caught_up = self._catch_up(repo, fetched.tip, state, remote_tip)
                assert caught_up is not None
                self._set_tracking(repo, fetched.tip)
                remote_tip = fetched.tip
                local = caught_up
                if local == remote_tip:
                    return True  # everything was already there (an earlier push got through)
            try:
                why = repo.push_branch(
                    target.push_url, self.branch, remote_tip, local, self.network_timeout
                )
            except TransportError as exc:
                state.problems.append(str(exc))
                return False
            if why is None:
                self._set_tracking(repo, local)
                return True
            attempt += 1

    def _catch_up(
        self,
        repo: GitRepository,
        remote_tip: str | None,
        state: _Pass,
        acknowledged: str | None = None,
    ) -> str | None:
        """Bring the local branch onto ``remote_tip``: fast-forward, or replay unpushed commits.

        ``acknowledged`` is the tip the remote had when we last looked. When ``remote_tip`` no
        longer contains it, the branch was rewritten (runs removed on purpose, say a leaked
        secret): the commits it had acknowledged are not replayed, only those never delivered.
        """
        ref = self.target.local_ref
        local = self._present_ref(repo, ref)
        if remote_tip is None or local == remote_tip:
            return local
        if local is None:
            self._move(repo, ref, remote_tip, None)
            return remote_tip
        unpushed, base = unpushed_commits(repo, local, remote_tip)
        if base == local:  # nothing of ours is missing from the remote
            self._move(repo, ref, remote_tip, local)
            return remote_tip
        if base == remote_tip:  # we are simply ahead
            return local
        gone = unpushed_commits(repo, acknowledged, remote_tip)[0] if acknowledged else []
        if gone:
            dropped = set(gone)
            unpushed = [commit for commit in unpushed if commit not in dropped]
            state.problems.append(self._rewritten(repo, gone))
        genesis = genesis_sha()
        tip = remote_tip
        for commit in reversed(unpushed):
            if commit != genesis:
                tip = self._replay(repo, tip, commit, state)
        self._move(repo, ref, tip, local)
        return tip

    def _rewritten(self, repo: GitRepository, gone: list[str]) -> str:
        subjects = [
            repo.commit_info(sha).meta.message.split(b"\n", 1)[0].decode("utf-8", "replace")
            for sha in gone[:3]
            if sha != genesis_sha()
        ]
        more = f" and {len(gone) - 3} more" if len(gone) > 3 else ""
        listed = f" ({', '.join(subjects)}{more})" if subjects else ""
        return (
            f"the remote branch {self.branch} of {self.target.remote_label} was rewritten: "
            f"{len(gone)} commit(s) it had acknowledged are gone{listed}; they are not pushed "
            "again (nothing is forced), and what was recorded here since goes on top of the "
            "new history"
        )

    def _deleted(self, acknowledged: str) -> str:
        return (
            f"the remote branch {self.branch} of {self.target.remote_label} was deleted after "
            f"it had acknowledged {acknowledged[:12]}; it is not recreated (that would push "
            "back what was removed). Runs stay committed locally; to start the branch afresh, "
            f"delete {self.target.local_ref} and {self.target.tracking_ref} in {self.target.where} "
            "(`git update-ref -d`), then run `agentv-results sync`"
        )

    def _replay(self, repo: GitRepository, tip: str, commit: str, state: _Pass) -> str:
        """``commit``'s changes on top of ``tip``, when every path it touched still holds what
        it held before (or already what the commit wrote); else the commit is set aside."""
        todo: dict[str, str | None] = {}
        for path, (before, after) in repo.changed_files(commit).items():
            found = repo.blob_id(tip, path)
            if found == after:
                continue  # already delivered (e.g. the connection broke after the remote took it)
            if found != before:
                self._set_aside(repo, commit, path, before, found, state)
                return tip
            todo[path] = after
        if not todo:
            return tip
        new = repo.commit(tip, todo, repo.commit_info(commit).meta)
        for key, sha in state.commits.items():
            if sha == commit:
                state.commits[key] = new
        return new

    def _set_aside(
        self,
        repo: GitRepository,
        commit: str,
        path: str,
        before: str | None,
        found: str | None,
        state: _Pass,
    ) -> None:
        expected = f"blob {before}" if before else "no such path"
        found_text = f"blob {found}" if found else "no such path"
        focus = [key for key, sha in state.commits.items() if sha == commit]
        if state.focus is not None and state.focus in focus:
            state.commits.pop(state.focus)
            state.committed.remove(state.focus)
            state.conflict = BranchConflict(state.focus, path, expected, found_text)
            return
        ref = f"{CONFLICTS_REF}{commit}"
        repo.update_ref(ref, commit, None)
        subject = (
            repo.commit_info(commit).meta.message.split(b"\n", 1)[0].decode("utf-8", "replace")
        )
        state.problems.append(
            f"unpushed commit {commit[:12]} ({subject}) conflicts with the remote branch at "
            f"{path}: expected {expected}, found {found_text}; it is kept as {ref} and not pushed"
        )

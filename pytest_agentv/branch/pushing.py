"""Pushing a branch without forcing: the compare-and-swap push, lost races, catching up.

After a lost race the pusher waits (exponential backoff with full jitter), fetches, brings
the local branch onto the remote tip (a fast-forward, or its unpushed commits replayed on top)
and pushes again, until a time budget runs out. A commit that no longer applies is set aside
under :data:`CONFLICTS_REF`, never dropped. :class:`~pytest_agentv.branch.writer.BranchWriter`
adds committing on top.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from pytest_agentv.branch.changes import PLAIN_GENESIS, BranchGenesis
from pytest_agentv.branch.errors import BranchConflict
from pytest_agentv.branch.history import unpushed_commits
from pytest_agentv.branch.reader import BranchReader
from pytest_agentv.git.errors import GitError, TransportError
from pytest_agentv.git.repository import REMOTE_BUSY, GitRepository, genesis_sha
from pytest_agentv.options import DEFAULT_NETWORK_TIMEOUT

CONFLICTS_REF = "refs/agentv/conflicts/"


@dataclass
class WritePass:
    """The outcome of one catch-up, commit and push pass, under the lock."""

    focus: str | None = None
    committed: list[str] = field(default_factory=list)
    spooled: list[str] = field(default_factory=list)
    commits: dict[str, str] = field(default_factory=dict)  # key -> local commit
    pushed: bool = False
    problems: list[str] = field(default_factory=list)
    conflict: BranchConflict | None = None
    lost_races: int = 0  # pushes the remote turned down because another writer got there first


class BranchPusher(BranchReader):
    """Pushes one branch of one target and keeps its local branch caught up with the remote."""

    #: how long lost push races are retried before the change is left for the next pass
    push_budget = 120.0
    #: seconds a fetch or push may wait to connect or for an answer (None: no limit)
    network_timeout: float | None = DEFAULT_NETWORK_TIMEOUT
    backoff_base = 0.05
    backoff_cap = 2.0
    #: the root commit of the branch when this pusher's writer creates it
    genesis: BranchGenesis = PLAIN_GENESIS

    def _genesis_sha(self) -> str:
        return genesis_sha(self.genesis.message, self.genesis.readme)

    def _commit_waiting(self, repo: GitRepository, local: str, state: WritePass) -> str:
        """Commit what waits to be committed on ``local`` (between push attempts); return the
        new tip. Nothing waits here: the writer commits its spool."""
        return local

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

    def _push(
        self, repo: GitRepository, local: str, remote_tip: str | None, state: WritePass
    ) -> bool:
        """Push; after a lost race wait, fetch, replay on the new tip and push again, until
        :attr:`push_budget` seconds have passed (a count would run out on a busy machine)."""
        target = self.target
        assert target.push_url is not None and target.fetch_url is not None
        deadline = time.monotonic() + self.push_budget
        why: str | None = None
        attempt = 0
        while True:
            if attempt:
                state.lost_races = attempt
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
                # what other local writers spooled while we raced goes in the same push
                local = self._commit_waiting(repo, caught_up, state)
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
        state: WritePass,
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
        genesis = self._genesis_sha()
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
            if sha != self._genesis_sha()
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

    def _replay(self, repo: GitRepository, tip: str, commit: str, state: WritePass) -> str:
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
        state: WritePass,
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

"""The release store: agent releases on a git branch, one compare-and-swap commit per operation.

Reading turns the branch into :class:`~pytest_agentv.releases.operations.AgentState` and
:class:`~pytest_agentv.releases.verify.Snapshot` s; writing applies a
:class:`~pytest_agentv.releases.operations.Plan` through the branch writer with a precondition on
every file it writes. When another writer got there first the preconditions fail; the store
reads the new tip and plans again, so two concurrent ``create`` s take consecutive versions.
Release changes are never spooled to disk: an operation that cannot be committed fails and
leaves nothing behind, for its user to run again. A commit the remote did not take (a transient
push failure) is synced until it lands or is set aside on a newer tip, and then planned again:
an operation reports success only once the remote has it.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from pytest_agentv.branch.changes import (
    BranchGenesis,
    ChangeSet,
    MustHaveBlob,
    MustNotExist,
    Precondition,
    blob_sha,
)
from pytest_agentv.branch.errors import BranchConflict, BranchError
from pytest_agentv.branch.target import resolve_target
from pytest_agentv.branch.writer import BranchCommit, BranchWriter
from pytest_agentv.credentials import mask_credentials
from pytest_agentv.releases.errors import ArtifactError, ConflictError, Problem, ReleaseError
from pytest_agentv.releases.layout import AGENTS_DIR, agent_dir, current_path, join, locate
from pytest_agentv.releases.loading import load_current, load_release
from pytest_agentv.releases.models import AgentRelease, ReleaseTombstone
from pytest_agentv.releases.operations import (
    TRAILER_AGENT,
    TRAILER_EVAL_RUN,
    TRAILER_EVENT,
    TRAILER_VERSION,
    AgentState,
    Plan,
    Skipped,
    StoredRelease,
)
from pytest_agentv.releases.verify import Snapshot
from pytest_agentv.settings import Settings

#: the root commit of a new releases branch (every releases branch's root: keep these bytes)
RELEASES_GENESIS = BranchGenesis(
    message=(
        b"AgentV releases branch\n\n"
        b"Created by pytest-agentv; each following commit is one operation on an agent's"
        b" releases.\n"
    ),
    readme=(
        b"# pytest-agentv agent releases\n\n"
        b"Each commit on this branch is one operation on an agent's releases (create, deploy,\n"
        b"rollback, delete) under agents/<slug>/: releases/v<N>.yaml, one file per version, and\n"
        b"current.yaml, the active release or a tombstone. Read them with `git log` and\n"
        b"`git show`, or with `agentv-release list` and `agentv-release history <slug>`.\n"
    ),
)

#: how many times an operation re-plans on a newer tip before it gives up
MAX_ATTEMPTS = 50


def now_utc() -> str:
    """ISO 8601 UTC to the second: a release's ``timestamp``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _InMemoryChanges:
    """Pending change sets of this process only (see the module docstring: nothing on disk)."""

    def __init__(self) -> None:
        self._changes: dict[str, ChangeSet] = {}

    def waiting(self) -> list[str]:
        return list(self._changes)

    def load(self, key: str) -> ChangeSet:
        return self._changes[key]

    def put(self, change: ChangeSet) -> None:
        self._changes.setdefault(change.key, change)

    def remove(self, key: str) -> None:
        self._changes.pop(key, None)

    def where(self, key: str) -> str:
        return "memory (not kept)"


@dataclass(frozen=True)
class Applied:
    """An operation that was committed: the plan, the commit, and whether the remote has it."""

    plan: Plan
    commit: str
    pushed: bool
    problems: tuple[str, ...] = ()
    attempts: int = 1


@dataclass(frozen=True)
class HistoryEvent:
    """One commit that touched an agent's files."""

    commit: str
    author: str
    timestamp: str
    subject: str
    event: str | None  # None: a commit not made by agentv-release (a hand edit)
    version: int | None
    eval_run: str | None
    files: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "commit": self.commit,
            "author": self.author,
            "timestamp": self.timestamp,
            "subject": self.subject,
            "event": self.event,
            "version": self.version,
            "eval_run": self.eval_run,
            "files": list(self.files),
        }


class ReleaseStore:
    """Agent releases on one branch, below ``root`` (the ``releases.path`` setting)."""

    #: how long an unpushed commit is re-synced before the operation gives up
    settle_budget = 120.0

    def __init__(self, writer: BranchWriter, root: str = "") -> None:
        self.writer = writer
        self.root = root

    @classmethod
    def for_settings(cls, settings: Settings) -> ReleaseStore:
        remote = settings.releases_remote or settings.remote
        try:
            target = resolve_target(settings.rootdir, settings.releases_branch, remote)
        except BranchError as exc:
            raise ReleaseError(mask_credentials(str(exc))) from None
        writer = BranchWriter(target, _InMemoryChanges(), genesis=RELEASES_GENESIS)
        writer.network_timeout = settings.network_timeout or None
        return cls(writer, settings.releases_path)

    @property
    def identity(self) -> str:
        """The git identity commits are made with: a release's default author."""
        return self.writer.target.identity

    @property
    def branch(self) -> str:
        return self.writer.branch

    def describe(self) -> str:
        target = self.writer.target
        where = f"branch {self.branch}"
        if self.root:
            where += f" under {self.root}/"
        return where + (
            f" of {target.remote_label}" if target.remote_label else f" in {target.where}"
        )

    # --- reading ------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Fetch the branch, so reads see the remote's tip (no-op without a remote)."""
        try:
            self.writer.fetch()
        except BranchError as exc:
            raise ReleaseError(f"cannot read the releases {self.describe()}: {exc}") from None

    def _path(self, relative: str) -> str:
        return join(self.root, relative)

    def agents(self) -> list[str]:
        """Every agent slug with a directory on the branch, sorted."""
        return self.writer.list_dir(self._path(AGENTS_DIR))

    def state(self, slug: str, commit: str | None = None) -> AgentState:
        """One agent's releases and ``current.yaml`` at ``commit`` (default: the tip).

        Raises :class:`ArtifactError` for a file that does not parse: operations refuse to
        build on a branch someone broke (``verify`` says where).
        """
        at = commit or self.writer.tip()
        if at is None:
            return AgentState(slug)
        releases: dict[int, StoredRelease] = {}
        folder = self._path(f"{agent_dir(slug)}/releases")
        for name in self.writer.list_dir(folder, at):
            where = locate(f"{agent_dir(slug)}/releases/{name}")
            if where is None or where.version is None:
                continue
            path = f"{folder}/{name}"
            data = self.writer.read(path, at)
            blob = self.writer.blob_id(path, at)
            if data is None or blob is None:
                continue
            release = load_release(data, path)
            if release.version != where.version or release.slug != slug:
                raise ArtifactError(path, [_mismatch(release, slug, where.version)])
            releases[where.version] = StoredRelease(release, blob)
        current: AgentRelease | ReleaseTombstone | None = None
        path = self._path(current_path(slug))
        data = self.writer.read(path, at)
        current_blob = self.writer.blob_id(path, at) if data is not None else None
        if data is not None:
            current = load_current(data, path)
        return AgentState(slug, releases, current, current_blob)

    def history(self, slug: str) -> list[HistoryEvent]:
        """Every commit that touched the agent's files, oldest first."""
        events = [_event(commit) for commit in self.writer.log(self._path(agent_dir(slug)))]
        return events[::-1]

    def snapshots(self) -> Iterator[Snapshot]:
        """The releases tree at every commit that changed it, oldest first (for ``verify``)."""
        commits = list(self.writer.log(self._path(AGENTS_DIR)))[::-1]
        files: dict[str, bytes] = {}
        prefix = f"{self.root}/" if self.root else ""
        for commit in commits:
            for path in commit.changed:
                if not path.startswith(prefix) or locate(path[len(prefix) :]) is None:
                    continue
                data = self.writer.read(path, commit.sha)
                if data is None:
                    files.pop(path[len(prefix) :], None)
                else:
                    files[path[len(prefix) :]] = data
            yield Snapshot(commit.sha, commit.author, commit.timestamp, dict(files))

    # --- writing ------------------------------------------------------------------------------

    def apply(self, slug: str, build: Callable[[AgentState], Plan | Skipped]) -> Applied | Skipped:
        """Plan on the tip and commit; on a lost race read the new tip and plan again."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            self.refresh()
            result = build(self.state(slug))
            if isinstance(result, Skipped):
                return result
            change = self._change(result)
            try:
                delivery = self.writer.apply(change)
            except BranchConflict:
                continue
            except BranchError as exc:
                raise ReleaseError(f"{slug}: nothing was committed: {exc}") from None
            if delivery.spooled or delivery.commit is None:
                why = "; ".join(delivery.problems) or "the change could not be committed"
                raise ReleaseError(f"{slug}: nothing was committed: {why}")
            if delivery.pushed or self.writer.target.push_url is None:
                return Applied(result, delivery.commit, delivery.pushed, delivery.problems, attempt)
            landed = self._settle(result, delivery.problems)
            if landed is not None:
                return Applied(result, landed, True, (), attempt)
            # set aside on the new tip: someone else took what this plan wanted; plan again
        raise ConflictError(
            f"{slug}: the branch kept changing under this operation ({MAX_ATTEMPTS} attempts); "
            "nothing was committed, try again"
        )

    def _settle(self, plan: Plan, problems: tuple[str, ...]) -> str | None:
        """After a commit that was not pushed (a transient push failure), sync until the
        remote has the branch: the commit that landed, or None when it was set aside on the
        remote's newer tip (a conflict). Raises :class:`ReleaseError` when the remote stays
        out of reach: the commit is then on the local branch only, and the next writing command
        pushes it (or sets it aside if it no longer applies)."""
        deadline = time.monotonic() + self.settle_budget
        delay = 0.05
        while True:
            time.sleep(random.uniform(0, delay))
            delay = min(delay * 2, 2.0)
            synced = self.writer.sync()
            if synced.pushed:
                return self._landed(plan)
            problems = synced.problems or problems
            if time.monotonic() >= deadline:
                raise ReleaseError(
                    f"{plan.slug} v{plan.version}: committed on the local branch {self.branch} "
                    f"of {self.writer.target.where} but not pushed ({'; '.join(problems)}); "
                    "the next agentv-release command that writes pushes it"
                )

    def _landed(self, plan: Plan) -> str | None:
        """The commit of the branch that holds ``plan``'s files as planned, or None."""
        tip = self.writer.tip()
        for path, data in plan.files.items():
            if self.writer.blob_id(self._path(path), tip) != blob_sha(data):
                return None
        first = self._path(next(iter(plan.files)))
        for commit in self.writer.log(first):
            if commit.subject == plan.subject:
                return commit.sha
        return tip

    def _change(self, plan: Plan) -> ChangeSet:
        preconditions: dict[str, Precondition] = {}
        for path, blob in plan.expected.items():
            preconditions[self._path(path)] = MustNotExist() if blob is None else MustHaveBlob(blob)
        return ChangeSet(
            key=f"release-{plan.slug}-v{plan.version}-{uuid.uuid4().hex[:12]}",
            subject=plan.subject,
            files={self._path(path): data for path, data in plan.files.items()},
            preconditions=preconditions,
            trailers=plan.trailers,
        )


def _mismatch(release: AgentRelease, slug: str, version: int) -> Problem:
    return Problem(
        "metadata",
        {"name": release.slug, "version": release.version},
        f"the file is agents/{slug}/releases/v{version}.yaml: name must be {slug!r} and "
        f"version {version}",
    )


def _event(commit: BranchCommit) -> HistoryEvent:
    trailers = commit.trailers
    version = trailers.get(TRAILER_VERSION)
    return HistoryEvent(
        commit=commit.sha,
        author=commit.author,
        timestamp=commit.timestamp,
        subject=commit.subject,
        event=trailers.get(TRAILER_EVENT) if TRAILER_AGENT in trailers else None,
        version=int(version) if version and version.isdigit() else None,
        eval_run=trailers.get(TRAILER_EVAL_RUN),
        files=commit.changed,
    )

"""The git backend: one commit per run on a branch, pushed to a remote, never lost.

A thin layer over :class:`pytest_agentv.branch.writer.BranchWriter`: a run becomes a change set
adding its three files under ``<runId[:2]>/<runId[2:]>/`` with the run trailers; the run spool
(one directory per run) is the writer's pending store. docs/storage.md describes the layout,
the trailers, the branch rules and the retry algorithm.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from pytest_agentv import trailers as trailer_format
from pytest_agentv.branch.changes import BranchGenesis, ChangeSet, MustNotExist
from pytest_agentv.branch.errors import BranchConflict, BranchError, FileTooLarge, describe_size
from pytest_agentv.branch.spool import SpoolError
from pytest_agentv.branch.target import BranchTarget, resolve_target
from pytest_agentv.branch.writer import BranchDelivery, BranchWriter
from pytest_agentv.credentials import mask_credentials
from pytest_agentv.fs import display_path, make_ignored_dir, write_dir_atomically
from pytest_agentv.git.errors import GitError
from pytest_agentv.layout import ProjectLayout
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
from pytest_agentv.store.spool import SYNC_HINT, Destination, Spool, project_spool

if TYPE_CHECKING:
    from pytest_agentv.settings import Settings

RUN_TRAILER = trailer_format.RUN

#: the root commit of a new runs branch (these bytes are every runs branch's root: keep them)
RUNS_GENESIS = BranchGenesis(
    message=(
        b"AgentV runs branch\n\nCreated by pytest-agentv; each following commit adds one run.\n"
    ),
    readme=(
        b"# pytest-agentv runs\n\n"
        b"Each commit on this branch adds one eval run under <runId[:2]>/<runId[2:]>/\n"
        b"(metadata.json, transcript.jsonl, summary.json). Read them with `git log` and"
        b" `git show`,\n"
        b"or with `agentv-results list`.\n"
    ),
)


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
        return trailer_format.parse(self.raw_message)

    @cached_property
    def run_id(self) -> str | None:
        """The ``AgentV-Run`` trailer, when it is a run id."""
        run_id = self.trailers.get(RUN_TRAILER)
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


class RunSpool:
    """The run spool seen as the writer's pending change sets (one run = one change set)."""

    def __init__(self, spool: Spool, prefix: str) -> None:
        self.spool = spool
        self.prefix = prefix

    def waiting(self) -> list[str]:
        return self.spool.run_ids()

    def load(self, key: str) -> ChangeSet:
        try:
            return run_change(self.spool.load(key), self.prefix)
        except StoreError as exc:
            raise SpoolError(str(exc)) from None

    def put(self, change: ChangeSet) -> None:
        if self.spool.path(change.key).exists():
            return
        shard = shard_path(change.key, self.prefix)
        files = {name: change.files[f"{shard}/{name}"] for name in RUN_FILES}
        if any(data is None for data in files.values()):
            raise SpoolError(f"change set {change.key} is not a run")
        data = {name: blob for name, blob in files.items() if blob is not None}
        run = RunArtifacts(run_id=change.key, files=data, summary=load_summary(data[SUMMARY_FILE]))
        try:
            self.spool.put(run)
        except StoreError as exc:
            raise SpoolError(str(exc)) from None

    def remove(self, key: str) -> None:
        self.spool.remove(key)

    def where(self, key: str) -> str:
        return str(self.spool.path(key))


def run_change(run: RunArtifacts, prefix: str = "") -> ChangeSet:
    """The change set of a run: its files under its shard, each new, with the run trailers."""
    shard = shard_path(run.run_id, prefix)
    files: dict[str, bytes | None] = {f"{shard}/{name}": run.files[name] for name in RUN_FILES}
    return ChangeSet(
        key=run.run_id,
        subject=trailer_format.run_subject(run.run_id),
        files=files,
        # the run's directory too: anything already there means the run exists
        preconditions={shard: MustNotExist(), **{path: MustNotExist() for path in files}},
        trailers=tuple(trailer_format.run_trailers(run.summary)),
        timestamp=run.summary.timestamp,
    )


class GitArtifactStore:
    """Commits each run to ``settings.branch`` and pushes it to ``settings.remote``."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.branch = settings.branch
        self.prefix = settings.path
        self.spool = project_spool(
            settings.rootdir, Destination.git(settings.remote, settings.branch, settings.path)
        )
        self._writer: BranchWriter | None = None

    def writer(self) -> BranchWriter:
        """The branch writer, its target resolved once (:class:`BranchError` if unusable)."""
        if self._writer is None:
            settings = self.settings
            target = resolve_target(settings.rootdir, settings.branch, settings.remote)
            self._writer = BranchWriter(
                target,
                RunSpool(self.spool, self.prefix),
                max_file_size=settings.max_file_size,
                genesis=RUNS_GENESIS,
            )
            self._writer.network_timeout = self.settings.network_timeout or None
        return self._writer

    def target(self) -> BranchTarget:
        """Which repository holds the branch and where it is pushed."""
        return self.writer().target

    def describe(self) -> str:
        """Where runs go, in words (credentials masked)."""
        try:
            target = self.target()
        except BranchError as exc:
            return f"git branch {self.branch} (unusable: {mask_credentials(str(exc))})"
        where = f"git branch {self.branch}"
        if self.prefix:
            where += f" under {self.prefix}/"
        where += f" in {target.where}"
        if target.remote_label:
            where += f", pushed to {target.remote_label}"
        else:
            where += " (not pushed: no remote configured)"
        return where

    # --- writing ------------------------------------------------------------------------------

    def write(self, run: RunArtifacts) -> WriteResult:
        """Commit ``run`` (and any earlier undelivered runs), then push the branch.

        Returns problems instead of raising whenever the run is safely kept locally; raises
        :class:`RunExists` for a run id already on the branch.
        """
        check_run_id(run.run_id)
        shard = shard_path(run.run_id, self.prefix)
        try:
            writer = self.writer()
            # committed first, spooled only when it cannot be committed at once (the writer)
            delivery = writer.apply(run_change(run, self.prefix))
        except BranchConflict:
            raise RunExists(
                f"run {run.run_id} already exists on branch {self.branch}; runs are never "
                "overwritten"
            ) from None
        except FileTooLarge as exc:
            return self._refuse(run, exc)
        except (StoreError, BranchError, GitError, OSError) as exc:
            return self.spool.keep(run, mask_credentials(str(exc)))
        except Exception as exc:  # a bug must not cost the run: it is safe in the spool
            return self.spool.keep(run, mask_credentials(f"{type(exc).__name__}: {exc}"))
        return self._result(run.run_id, shard, writer.target, delivery)

    def _refuse(self, run: RunArtifacts, why: FileTooLarge) -> WriteResult:
        """Keep a run that can never be pushed apart from the spool, so later runs get through."""
        refused = ProjectLayout(self.settings.rootdir).refused_dir
        where = refused / run.run_id
        try:
            make_ignored_dir(refused)
            if not where.exists():
                write_dir_atomically(where, run.files)
        except OSError as exc:
            raise StoreError(f"{why}; and the run could not be kept in {where}: {exc}") from None
        name = why.path.rsplit("/", 1)[-1]
        return WriteResult(
            run_id=run.run_id,
            location=str(where),
            delivered=False,
            problems=(
                f"run {run.run_id} was not committed: its {name} is "
                f"{describe_size(why.size)}, over the per-file limit of "
                f"{describe_size(why.limit)} (GitHub refuses files over 100 MiB, and a commit the "
                f"remote refuses would hold up every later run); it is kept in "
                f"{display_path(where)} and is not pushed; record less in this run, or raise "
                "max_file_size (--agentv-max-file-size, AGENTV_MAX_FILE_SIZE) only if your git "
                "host accepts bigger files",
            ),
        )

    def _result(
        self, run_id: str, shard: str, target: BranchTarget, delivery: BranchDelivery
    ) -> WriteResult:
        notes = list(target.notes)
        if delivery.also_committed:
            notes.append(
                f"also committed {len(delivery.also_committed)} earlier run(s) waiting in the spool"
            )
        problem = "; ".join(delivery.problems)
        if delivery.spooled:
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
        if delivery.pushed:  # delivered; problems, if any, are about other commits
            return WriteResult(
                run_id=run_id,
                location=f"{target.remote_label}, branch {self.branch}, {shard}",
                notes=tuple(notes),
                problems=delivery.problems,
            )
        if self.spool.destination is not None:
            self.spool.remember_unpushed(self.spool.destination)
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

    # --- sync and reading ---------------------------------------------------------------------

    def sync(self) -> SyncReport:
        """Commit spooled runs and push the branch; report what was delivered and what was not."""
        try:
            writer = self.writer()
            before = self._pending(writer)
            result = writer.sync()
            after = self._pending(writer)
        except (BranchError, GitError, OSError) as exc:
            pending = tuple(self.spool.run_ids())
            return SyncReport(pending=pending, problems=(mask_credentials(str(exc)),))
        report = SyncReport(
            pushed=tuple(sorted(before - after)),
            pending=tuple(sorted(after)),
            problems=result.problems,
        )
        if report.delivered and self.spool.destination is not None:
            self.spool.forget_unpushed(self.spool.destination)
        return report

    def fetch(self) -> None:
        """Update the remote-tracking ref and the local branch from the remote (no-op without)."""
        try:
            self.writer().fetch()
        except BranchError as exc:
            raise StoreError(str(exc)) from None

    def tip(self) -> str | None:
        """Hex sha of the local branch tip (the remote-tracking tip if there is no local branch)."""
        return self.writer().tip()

    def walk(self, stop_at: str | None = None) -> Iterator[RunCommit]:
        """First-parent history from the tip, newest first, stopping before ``stop_at``."""
        for sha, message, commit_time in self.writer().walk(stop_at):
            yield RunCommit(sha, message, commit_time)

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """True if ``ancestor`` is ``descendant`` or in its history (False if either is unknown)."""
        return self.writer().is_ancestor(ancestor, descendant)

    def read(self, run_id: str, name: str) -> bytes:
        """One file of one run, by path at the tip (or from the spool if not committed yet)."""
        check_run_id(run_id)
        if name not in RUN_FILES:
            raise ValueError(f"{name!r} is not a run file; choose one of {', '.join(RUN_FILES)}")
        data = self.writer().read(f"{shard_path(run_id, self.prefix)}/{name}")
        if data is not None:
            return data
        try:
            return (self.spool.path(run_id) / name).read_bytes()
        except OSError:
            raise RunNotFound(f"no run {run_id} on branch {self.branch}") from None

    def pending_run_ids(self) -> set[str]:
        """Runs kept locally but not on the remote yet (unpushed commits and spooled runs)."""
        return self._pending(self.writer())

    def _pending(self, writer: BranchWriter) -> set[str]:
        pending = set(self.spool.run_ids())
        for commit in writer.unpushed():
            run_id = commit.trailers.get(RUN_TRAILER)
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

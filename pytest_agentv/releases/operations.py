"""The release operations as pure plans: agent state in, the files of one commit out.

Each operation reads an :class:`AgentState` (the agent's files at the branch tip, with their blob
ids) and returns a :class:`Plan`: the files to write, the precondition on every file it writes
(absent, or still the blob it was read as) and the commit subject and trailers. The store
applies the plan as one compare-and-swap commit; when someone else got there first the
preconditions fail, and the store reads the new tip and plans again (so two creators never
take the same version number). Every artifact written here has its checksum recomputed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from pytest_agentv.releases.canonical import (
    canonical_bytes,
    compute_checksum,
    config_digest,
    with_checksum,
)
from pytest_agentv.releases.errors import ArtifactError, NotFoundError, Problem, ReleaseError
from pytest_agentv.releases.layout import current_path, release_path
from pytest_agentv.releases.models import (
    AgentRelease,
    Evaluation,
    Metadata,
    ReleaseDraft,
    ReleaseTombstone,
    Status,
    TombstoneMetadata,
)
from pytest_agentv.releases.transitions import (
    DEPLOYABLE,
    check_transition,
    deleted_changelog,
    rejected_changelog,
)

Event = Literal[
    "ReleaseCreated", "ReleaseActivated", "ReleaseRejected", "ReleaseDeployed", "ReleaseDeleted"
]
EVENTS: tuple[Event, ...] = (
    "ReleaseCreated",
    "ReleaseActivated",
    "ReleaseRejected",
    "ReleaseDeployed",
    "ReleaseDeleted",
)
_VERBS: dict[Event, str] = {
    "ReleaseCreated": "created",
    "ReleaseActivated": "activated",
    "ReleaseRejected": "rejected",
    "ReleaseDeployed": "deployed",
    "ReleaseDeleted": "deleted",
}

TRAILER_AGENT = "AgentV-Agent"
TRAILER_VERSION = "AgentV-Version"
TRAILER_EVENT = "AgentV-Event"
TRAILER_EVAL_RUN = "AgentV-Eval-Run"
TRAILER_CHECKSUM = "AgentV-Checksum"

ABSENT = None
"""The precondition "this file must not exist yet" in :attr:`Plan.expected`."""


@dataclass(frozen=True)
class StoredRelease:
    """A release file as read from the branch."""

    release: AgentRelease
    blob: str


@dataclass(frozen=True)
class AgentState:
    """One agent's files at one commit: its releases by version and its ``current.yaml``."""

    slug: str
    releases: Mapping[int, StoredRelease] = field(default_factory=dict)
    current: AgentRelease | ReleaseTombstone | None = None
    current_blob: str | None = None

    @property
    def latest(self) -> AgentRelease | None:
        return self.releases[max(self.releases)].release if self.releases else None

    @property
    def active(self) -> AgentRelease | None:
        found = [s.release for s in self.releases.values() if s.release.status == "active"]
        return max(found, key=lambda release: release.version) if found else None

    def get(self, version: int) -> AgentRelease:
        stored = self.releases.get(version)
        if stored is None:
            known = ", ".join(f"v{n}" for n in sorted(self.releases)) or "none"
            raise NotFoundError(f"{self.slug} has no release v{version} (releases: {known})")
        return stored.release


@dataclass(frozen=True)
class Plan:
    """One commit: files (relative to the releases root) and what each must be before it."""

    slug: str
    version: int
    event: Event
    subject: str
    trailers: tuple[tuple[str, str], ...]
    files: Mapping[str, bytes]
    #: path -> the blob it must still be, or :data:`ABSENT`; one entry per file written
    expected: Mapping[str, str | None]
    release: AgentRelease | ReleaseTombstone


@dataclass(frozen=True)
class Skipped:
    """An operation with nothing to do (the same config again, an agent already deleted)."""

    slug: str
    version: int | None
    reason: str


def subject(slug: str, version: int, event: Event, detail: str) -> str:
    """``support-agent v5: activated — Updated system prompt``."""
    head = f"{slug} v{version}: {_VERBS[event]}"
    first_line = detail.strip().splitlines()[0] if detail.strip() else ""
    return f"{head} — {first_line}" if first_line else head


def _trailers(
    slug: str, version: int, event: Event, checksum: str, run_id: str | None = None
) -> tuple[tuple[str, str], ...]:
    items = [
        (TRAILER_AGENT, slug),
        (TRAILER_VERSION, str(version)),
        (TRAILER_EVENT, event),
        (TRAILER_CHECKSUM, checksum),
    ]
    if run_id:
        items.append((TRAILER_EVAL_RUN, run_id))
    return tuple(items)


def _with(release: AgentRelease, **changes: object) -> AgentRelease:
    metadata = release.metadata.model_copy(update=changes)
    return with_checksum(release.model_copy(update={"metadata": metadata}))


def _moved(state: AgentState, release: AgentRelease, status: Status) -> AgentRelease:
    check_transition(release.status, status, f"{state.slug} v{release.version}")
    return _with(release, status=status)


def _write(
    state: AgentState,
    files: dict[str, bytes],
    expected: dict[str, str | None],
    release: AgentRelease,
) -> None:
    stored = state.releases[release.version]
    _check_intact(state, stored.release)
    path = release_path(state.slug, release.version)
    files[path] = canonical_bytes(release)
    expected[path] = stored.blob


def _check_intact(state: AgentState, release: AgentRelease) -> None:
    # rewriting a hand-edited file would give it a valid checksum: refuse to launder it
    if release.metadata.checksum != compute_checksum(release):
        raise ReleaseError(
            f"{release_path(state.slug, release.version)}: its checksum does not match its "
            "content (the file was edited by hand); nothing was committed. "
            "`agentv-release verify` shows which commit changed it"
        )


def _write_current(
    state: AgentState,
    files: dict[str, bytes],
    expected: dict[str, str | None],
    artifact: AgentRelease | ReleaseTombstone,
) -> None:
    path = current_path(state.slug)
    files[path] = canonical_bytes(artifact)
    expected[path] = state.current_blob


# --- create -------------------------------------------------------------------------------------


def plan_create(
    state: AgentState,
    draft: ReleaseDraft,
    *,
    file: str,
    author: str,
    timestamp: str,
    changelog: str | None = None,
) -> Plan | Skipped:
    """A new ``pending_eval`` release numbered after the latest, or :class:`Skipped` when its
    config is the latest release's."""
    if draft.metadata.name != state.slug:
        raise ValueError(f"draft {draft.metadata.name!r} planned against {state.slug!r}")
    latest = state.latest
    version = latest.version + 1 if latest else 1
    problems = []
    if draft.metadata.version is not None and draft.metadata.version != version:
        problems.append(
            Problem(
                "metadata.version",
                draft.metadata.version,
                f"the next version of {state.slug} is {version}; remove the field or set it",
            )
        )
    if draft.metadata.previous is not None and draft.metadata.previous != version - 1:
        problems.append(
            Problem(
                "metadata.previous",
                draft.metadata.previous,
                f"the previous version of v{version} is {version - 1}",
            )
        )
    if problems:
        raise ArtifactError(file, problems)
    release = with_checksum(
        AgentRelease(
            metadata=Metadata(
                name=state.slug,
                version=version,
                previous=version - 1,
                author=author,
                timestamp=timestamp,
                changelog=draft.metadata.changelog if changelog is None else changelog,
                status="pending_eval",
            ),
            runtime=draft.runtime,
            agent=draft.agent,
            governance=draft.governance,
            deployment=draft.deployment,
        )
    )
    if latest is not None and config_digest(latest) == config_digest(release):
        return Skipped(
            state.slug,
            latest.version,
            f"the config is identical to {state.slug} v{latest.version} ({latest.status}); "
            "nothing to create",
        )
    path = release_path(state.slug, version)
    return Plan(
        slug=state.slug,
        version=version,
        event="ReleaseCreated",
        subject=subject(state.slug, version, "ReleaseCreated", release.metadata.changelog),
        trailers=_trailers(state.slug, version, "ReleaseCreated", release.metadata.checksum),
        files={path: canonical_bytes(release)},
        expected={path: ABSENT},
        release=release,
    )


# --- the gate -----------------------------------------------------------------------------------


def pending_version(state: AgentState, version: int | None) -> AgentRelease:
    """The release a gate evaluates: ``version``, or the latest ``pending_eval`` one."""
    if version is not None:
        release = state.get(version)
    else:
        pending = [s.release for s in state.releases.values() if s.release.status == "pending_eval"]
        if not pending:
            raise NotFoundError(
                f"{state.slug} has no release waiting for its eval (pending_eval); "
                f"create one with `agentv-release create <file.yaml>`"
            )
        release = max(pending, key=lambda r: r.version)
    if release.status != "pending_eval":
        raise ReleaseError(
            f"{state.slug} v{release.version} is {release.status}, not pending_eval: "
            "only a release waiting for its eval can be gated"
        )
    return release


def plan_gate(
    state: AgentState, version: int, evaluation: Evaluation, passed: bool, reason: str
) -> Plan:
    """Activate (archiving the active one, writing ``current.yaml``) or reject ``version``
    with ``[REJECTED: <reason>]``; the release records ``evaluation`` either way."""
    release = state.get(version)
    files: dict[str, bytes] = {}
    expected: dict[str, str | None] = {}
    if not passed:
        check_transition(release.status, "rejected", f"{state.slug} v{version}")
        rejected = _with(
            release,
            status="rejected",
            changelog=rejected_changelog(release.metadata.changelog, reason),
            evaluation=evaluation,
        )
        _write(state, files, expected, rejected)
        return Plan(
            state.slug,
            version,
            "ReleaseRejected",
            subject(state.slug, version, "ReleaseRejected", reason),
            _trailers(
                state.slug,
                version,
                "ReleaseRejected",
                rejected.metadata.checksum,
                evaluation.run_id,
            ),
            files,
            expected,
            rejected,
        )
    check_transition(release.status, "active", f"{state.slug} v{version}")
    activated = _with(release, status="active", evaluation=evaluation)
    return _activate(
        state,
        activated,
        "ReleaseActivated",
        release.metadata.changelog,
        evaluation.run_id,
        files,
        expected,
    )


def _activate(
    state: AgentState,
    activated: AgentRelease,
    event: Event,
    detail: str,
    run_id: str | None,
    files: dict[str, bytes],
    expected: dict[str, str | None],
) -> Plan:
    for stored in state.releases.values():
        other = stored.release
        if other.status == "active" and other.version != activated.version:
            _write(state, files, expected, _moved(state, other, "archived"))
    _write(state, files, expected, activated)
    _write_current(state, files, expected, activated)
    return Plan(
        state.slug,
        activated.version,
        event,
        subject(state.slug, activated.version, event, detail),
        _trailers(state.slug, activated.version, event, activated.metadata.checksum, run_id),
        files,
        expected,
        activated,
    )


# --- deploy and delete --------------------------------------------------------------------------


def plan_deploy(state: AgentState, version: int) -> Plan | Skipped:
    """Make ``version`` (active or archived: it passed its gate) the one in ``current.yaml``."""
    release = state.get(version)
    if release.status not in DEPLOYABLE:
        why = {
            "rejected": "it failed its eval gate",
            "pending_eval": "it has not been evaluated yet (run the eval gate: "
            f"pytest --agentv-release {state.slug}@{version})",
            "deleted": "it was deleted",
        }.get(release.status, release.status)
        raise ReleaseError(
            f"cannot deploy {state.slug} v{version}: it is {release.status}, {why}; "
            "only active or archived releases can be deployed"
        )
    current = state.current
    if (
        release.status == "active"
        and isinstance(current, AgentRelease)
        and (canonical_bytes(current) == canonical_bytes(release))
    ):
        return Skipped(state.slug, version, f"{state.slug} v{version} is already deployed")
    active = state.active
    detail = (
        f"rollback from v{active.version}"
        if active and active.version > version
        else (f"from v{active.version}" if active else "deployed")
    )
    files: dict[str, bytes] = {}
    expected: dict[str, str | None] = {}
    activated = release if release.status == "active" else _moved(state, release, "active")
    return _activate(state, activated, "ReleaseDeployed", detail, None, files, expected)


def plan_delete(state: AgentState, *, author: str, timestamp: str, reason: str) -> Plan | Skipped:
    """``current.yaml`` becomes a tombstone; the active and pending releases become deleted."""
    if isinstance(state.current, ReleaseTombstone):
        return Skipped(
            state.slug,
            state.current.metadata.version,
            f"{state.slug} is already deleted (at {state.current.metadata.deleted_at})",
        )
    if not state.releases:
        raise NotFoundError(f"no agent {state.slug!r} on the releases branch")
    files: dict[str, bytes] = {}
    expected: dict[str, str | None] = {}
    for stored in state.releases.values():
        if stored.release.status in ("active", "pending_eval"):
            _write(state, files, expected, _moved(state, stored.release, "deleted"))
    last = state.active or state.latest
    assert last is not None
    tombstone = with_checksum(
        ReleaseTombstone(
            metadata=TombstoneMetadata(
                name=state.slug,
                version=last.version,
                previous=last.version - 1,
                author=author,
                timestamp=timestamp,
                changelog=deleted_changelog(reason),
                deleted_at=timestamp,
            )
        )
    )
    _write_current(state, files, expected, tombstone)
    return Plan(
        state.slug,
        last.version,
        "ReleaseDeleted",
        subject(state.slug, last.version, "ReleaseDeleted", reason),
        _trailers(state.slug, last.version, "ReleaseDeleted", tombstone.metadata.checksum),
        files,
        expected,
        tombstone,
    )

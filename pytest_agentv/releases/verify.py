"""Verify releases from their git history: a pure function over snapshots, returning findings.

The store turns the releases branch into :class:`Snapshot` s (oldest first, one per commit);
:func:`verify_history` proves, for every commit, that

- every release file and ``current.yaml`` parses and carries a valid checksum;
- a release file sits at ``agents/<name>/releases/v<version>.yaml`` with ``previous`` = version - 1;
- a release is first committed as ``pending_eval``; afterwards its config sections and its
  identifying metadata never change, its changelog only grows, and every status change is in
  :data:`~pytest_agentv.releases.transitions.ALLOWED`; release files are never removed;
- at most one release of an agent is active, and ``current.yaml`` is exactly that release (or,
  with none active, absent or a tombstone);
- where the caller can look the eval runs up, each gate decision follows from its run.

Each finding names the file, the version, the commit and what changed. A broken invariant is
reported at the commit that broke it, not again at every later commit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pytest_agentv.releases.canonical import canonical_bytes, canonical_data, compute_checksum
from pytest_agentv.releases.diff import diff_data
from pytest_agentv.releases.errors import ArtifactError
from pytest_agentv.releases.layout import Location, current_path, locate, release_path
from pytest_agentv.releases.loading import load_current, load_release
from pytest_agentv.releases.models import AgentRelease, ReleaseTombstone
from pytest_agentv.releases.transitions import allowed_from, is_allowed

# metadata that identifies a release and so is as immutable as its config
_FIXED_METADATA = ("name", "version", "previous", "author", "timestamp")

EvaluationCheck = Callable[[AgentRelease], str | None]
"""Given a release with an evaluation, a problem with its run (missing, wrong verdict) or None."""


@dataclass(frozen=True)
class Snapshot:
    """The releases tree at one commit: paths relative to the releases root -> file bytes."""

    commit: str
    author: str
    time: str
    files: Mapping[str, bytes]


@dataclass(frozen=True)
class Finding:
    """One thing verify proves wrong."""

    file: str
    slug: str
    version: int | None
    commit: str
    message: str

    def __str__(self) -> str:
        version = f" v{self.version}" if self.version is not None else ""
        return f"{self.file}{version} at {self.commit[:12]}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "slug": self.slug,
            "version": self.version,
            "commit": self.commit,
            "message": self.message,
        }


@dataclass
class _History:
    """What verify remembers of one release file between snapshots."""

    first_commit: str
    first: AgentRelease
    last: AgentRelease
    checked_evaluations: set[str] = field(default_factory=set)


def verify_history(
    snapshots: Sequence[Snapshot],
    slug: str | None = None,
    check_evaluation: EvaluationCheck | None = None,
) -> list[Finding]:
    """Every :class:`Finding` in ``snapshots`` (oldest first), for one agent or all of them."""
    findings: list[Finding] = []
    histories: dict[str, _History] = {}
    before: Mapping[str, bytes] = {}
    parsed: dict[str, AgentRelease | ReleaseTombstone | None] = {}
    open_violations: set[tuple[str, str, int | None, str]] = set()

    for snap in snapshots:
        files = {
            path: data
            for path, data in snap.files.items()
            if (where := locate(path)) is not None and (slug is None or where.slug == slug)
        }
        now: dict[str, AgentRelease | ReleaseTombstone | None] = {}
        for path, data in sorted(files.items()):
            where = locate(path)
            assert where is not None
            if before.get(path) == data:
                now[path] = parsed.get(path)
                continue
            now[path] = _check_file(path, where, data, snap, histories, findings, check_evaluation)
        for path in sorted(set(before) - set(files)):
            where = locate(path)
            if where is not None and not where.is_current:
                findings.append(
                    Finding(path, where.slug, where.version, snap.commit, "release file removed")
                )
        violations = _state_violations(now)
        for file, agent, version, message in sorted(violations - open_violations, key=str):
            findings.append(Finding(file, agent, version, snap.commit, message))
        open_violations = violations
        before, parsed = files, now
    return findings


def _check_file(
    path: str,
    where: Location,
    data: bytes,
    snap: Snapshot,
    histories: dict[str, _History],
    findings: list[Finding],
    check_evaluation: EvaluationCheck | None,
) -> AgentRelease | ReleaseTombstone | None:
    def report(message: str) -> None:
        findings.append(Finding(path, where.slug, where.version, snap.commit, message))

    try:
        artifact = load_current(data, path) if where.is_current else load_release(data, path)
    except ArtifactError as exc:
        report("; ".join(str(problem) for problem in exc.problems))
        return None
    expected = compute_checksum(artifact)
    if artifact.metadata.checksum != expected:
        report(
            f"checksum {artifact.metadata.checksum!r} does not match the content "
            f"({expected}): the file was edited by hand"
        )
    if artifact.metadata.name != where.slug:
        report(f"metadata.name {artifact.metadata.name!r} does not match the directory")
    if where.version is None or not isinstance(artifact, AgentRelease):
        return artifact
    release, number = artifact, where.version
    if release.version != number or release.metadata.previous != number - 1:
        report(
            f"metadata.version {release.version} / previous {release.metadata.previous} "
            f"do not match the file name (v{number}, previous {number - 1})"
        )
    history = histories.get(path)
    if history is None:
        histories[path] = history = _History(snap.commit, release, release)
        if release.status != "pending_eval":
            report(f"first committed as {release.status}; a release starts as pending_eval")
    else:
        for message in _changes_after_first(history, release):
            report(message)
        history.last = release
    evaluation = release.metadata.evaluation
    # once per verdict: the same run and score under the same status need no second look
    verdict = f"{release.status} {evaluation.model_dump_json()}" if evaluation else ""
    if check_evaluation and evaluation and verdict not in history.checked_evaluations:
        history.checked_evaluations.add(verdict)
        problem = check_evaluation(release)
        if problem:
            report(problem)
    return release


def _changes_after_first(history: _History, release: AgentRelease) -> list[str]:
    messages = []
    first_data, data = canonical_data(history.first), canonical_data(release)
    changed = [
        change.path
        for change in diff_data(
            {key: value for key, value in first_data.items() if key != "metadata"},
            {key: value for key, value in data.items() if key != "metadata"},
        )
    ]
    changed += [
        f"metadata.{key}"
        for key in _FIXED_METADATA
        if first_data["metadata"][key] != data["metadata"][key]
    ]
    if changed:
        messages.append(
            f"changed after its first commit {history.first_commit[:12]}: {', '.join(changed)}"
        )
    if not release.metadata.changelog.startswith(history.last.metadata.changelog):
        messages.append("metadata.changelog was rewritten; it may only gain a suffix")
    old, new = history.last.status, release.status
    if old != new and not is_allowed(old, new):
        moves = ", ".join(f"{old} -> {status}" for status in allowed_from(old)) or "none"
        messages.append(f"status {old} -> {new} is not an allowed transition (allowed: {moves})")
    return messages


def _state_violations(
    files: Mapping[str, AgentRelease | ReleaseTombstone | None],
) -> set[tuple[str, str, int | None, str]]:
    violations: set[tuple[str, str, int | None, str]] = set()
    agents = {where.slug for path in files if (where := locate(path)) is not None}
    for agent in agents:
        active = sorted(
            (
                artifact
                for path, artifact in files.items()
                if isinstance(artifact, AgentRelease)
                and artifact.status == "active"
                and _is_release_of(path, agent)
            ),
            key=lambda release: release.version,
        )
        current_file = current_path(agent)
        current = files.get(current_file)
        if len(active) > 1:
            versions = ", ".join(f"v{release.version}" for release in active)
            violations.add(
                (current_file, agent, None, f"{len(active)} releases active at once: {versions}")
            )
        elif len(active) == 1:
            release = active[0]
            if current_file not in files:
                message = f"missing while v{release.version} is active"
                violations.add((current_file, agent, release.version, message))
            elif isinstance(current, ReleaseTombstone):
                message = f"is a tombstone while v{release.version} is active"
                violations.add((current_file, agent, release.version, message))
            elif current is not None and canonical_bytes(current) != canonical_bytes(release):
                message = (
                    f"holds v{current.version} ({current.status}), not the active "
                    f"v{release.version} as in {release_path(agent, release.version)}"
                )
                violations.add((current_file, agent, release.version, message))
        elif isinstance(current, AgentRelease):
            message = f"holds v{current.version} but no release of {agent} is active"
            violations.add((current_file, agent, current.version, message))
    return violations


def _is_release_of(path: str, agent: str) -> bool:
    where = locate(path)
    return where is not None and where.slug == agent and not where.is_current

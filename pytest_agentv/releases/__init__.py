"""Agent releases: versioned, checksummed AgentRelease artifacts, gated by an eval run.

The pure core (models, canonical form, transitions, diff, verify) takes and returns data; the
store puts it on a git branch. docs/releases.md describes the format and the operations.
"""

from __future__ import annotations

from pytest_agentv.releases.canonical import (
    canonical_bytes,
    compute_checksum,
    config_digest,
    with_checksum,
)
from pytest_agentv.releases.diff import Change, diff_releases
from pytest_agentv.releases.errors import (
    ArtifactError,
    ConflictError,
    NotFoundError,
    Problem,
    ReleaseError,
    TransitionError,
)
from pytest_agentv.releases.loading import load_current, load_draft, load_release
from pytest_agentv.releases.models import (
    AgentRelease,
    ReleaseDraft,
    ReleaseTombstone,
    Status,
)
from pytest_agentv.releases.transitions import ALLOWED, check_transition
from pytest_agentv.releases.verify import Finding, Snapshot, verify_history

__all__ = [
    "ALLOWED",
    "AgentRelease",
    "ArtifactError",
    "Change",
    "ConflictError",
    "Finding",
    "NotFoundError",
    "Problem",
    "ReleaseDraft",
    "ReleaseError",
    "ReleaseTombstone",
    "Snapshot",
    "Status",
    "TransitionError",
    "canonical_bytes",
    "check_transition",
    "compute_checksum",
    "config_digest",
    "diff_releases",
    "load_current",
    "load_draft",
    "load_release",
    "verify_history",
    "with_checksum",
]

"""The canonical serialisation of release artifacts, used by checksum, diff, verify and storage.

Written once, here: every stored release file is exactly :func:`canonical_bytes` of its model,
so ``checksum`` can be recomputed by anyone from the file itself (docs/releases.md, "Canonical
form"). Its YAML is :func:`pytest_agentv.serial.dump_yaml`, whose rules are a stored format.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pytest_agentv.releases.models import AgentRelease, ReleaseTombstone
from pytest_agentv.serial import dump_yaml, sha256

CHECKSUM_PREFIX = "sha256:"
_A = TypeVar("_A", AgentRelease, ReleaseTombstone)

# --- artifacts ----------------------------------------------------------------------------------


def canonical_data(artifact: AgentRelease | ReleaseTombstone) -> dict[str, Any]:
    """The artifact as plain data, every field present, in the model's field order."""
    return artifact.model_dump(mode="json", by_alias=True)


def canonical_bytes(artifact: AgentRelease | ReleaseTombstone) -> bytes:
    """The bytes a release file holds: :func:`dump_yaml` of :func:`canonical_data`."""
    return dump_yaml(canonical_data(artifact))


def compute_checksum(artifact: AgentRelease | ReleaseTombstone) -> str:
    """``sha256:`` + SHA-256 of the canonical form with ``metadata.checksum`` set to ``""``."""
    data = canonical_data(artifact)
    data["metadata"]["checksum"] = ""
    return CHECKSUM_PREFIX + sha256(dump_yaml(data))


def with_checksum(artifact: _A) -> _A:
    """``artifact`` with its checksum recomputed: call after every change, before writing."""
    metadata = artifact.metadata.model_copy(update={"checksum": compute_checksum(artifact)})
    return artifact.model_copy(update={"metadata": metadata})


def config_digest(release: AgentRelease) -> str:
    """SHA-256 of the canonical form without ``metadata``: equal digests mean the same config."""
    data = canonical_data(release)
    del data["metadata"]
    return CHECKSUM_PREFIX + sha256(dump_yaml(data))

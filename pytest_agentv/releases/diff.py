"""What changed between two releases: every changed leaf of their canonical data, by dotted path."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pytest_agentv.releases.canonical import canonical_data
from pytest_agentv.releases.models import AgentRelease

# the metadata that differs between any two versions, or records a release's life, not its content
IGNORED_PATHS = frozenset(
    {
        "metadata.version",
        "metadata.previous",
        "metadata.timestamp",
        "metadata.checksum",
        "metadata.changelog",
        "metadata.status",
        "metadata.evaluation",
    }
)


@dataclass(frozen=True)
class Change:
    """One changed leaf: mappings are descended into, lists are compared as whole values."""

    path: str
    old: Any
    new: Any

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "from": self.old, "to": self.new}


def diff_releases(old: AgentRelease, new: AgentRelease) -> list[Change]:
    """The changes from ``old`` to ``new``, in the canonical key order."""
    changes: list[Change] = []
    _walk("", canonical_data(old), canonical_data(new), changes)
    return changes


def diff_data(old: Any, new: Any, ignored: frozenset[str] = frozenset()) -> list[Change]:
    """Changed leaves of two JSON-like values (``ignored`` paths and below are skipped)."""
    changes: list[Change] = []
    _walk("", old, new, changes, ignored)
    return changes


def _walk(
    path: str, old: Any, new: Any, out: list[Change], ignored: frozenset[str] = IGNORED_PATHS
) -> None:
    if path in ignored:
        return
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        keys = list(old) + [key for key in new if key not in old]
        for key in keys:
            _walk(f"{path}.{key}" if path else str(key), old.get(key), new.get(key), out, ignored)
    elif old != new:
        out.append(Change(path, old, new))

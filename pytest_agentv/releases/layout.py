"""Where release files live on the releases branch (below the configured ``path``)::

agents/<slug>/current.yaml          the active release, or a tombstone
agents/<slug>/releases/v<N>.yaml    one file per version, never removed
"""

from __future__ import annotations

import re
from dataclasses import dataclass

AGENTS_DIR = "agents"
CURRENT_FILE = "current.yaml"

_RELEASE_FILE = re.compile(r"v([1-9][0-9]*)\.yaml")


@dataclass(frozen=True)
class Location:
    """What a path under the releases root is: an agent's ``current.yaml`` or one version."""

    slug: str
    version: int | None  # None for current.yaml

    @property
    def is_current(self) -> bool:
        return self.version is None


def agent_dir(slug: str) -> str:
    return f"{AGENTS_DIR}/{slug}"


def current_path(slug: str) -> str:
    return f"{AGENTS_DIR}/{slug}/{CURRENT_FILE}"


def release_path(slug: str, version: int) -> str:
    return f"{AGENTS_DIR}/{slug}/releases/v{version}.yaml"


def locate(path: str) -> Location | None:
    """The :class:`Location` of a path relative to the releases root, or None for other files."""
    parts = path.split("/")
    if len(parts) == 3 and parts[0] == AGENTS_DIR and parts[2] == CURRENT_FILE:
        return Location(parts[1], None)
    if len(parts) == 4 and parts[0] == AGENTS_DIR and parts[2] == "releases":
        match = _RELEASE_FILE.fullmatch(parts[3])
        if match:
            return Location(parts[1], int(match.group(1)))
    return None


def join(root: str, path: str) -> str:
    """``path`` below the configured releases root ('' for the top of the branch)."""
    return f"{root}/{path}" if root else path

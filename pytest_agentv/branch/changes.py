"""Change sets: what one commit on a branch should do, as plain data (pure)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class MustNotExist:
    """The path must not exist on the branch (a file added, never overwritten)."""


@dataclass(frozen=True)
class MustHaveBlob:
    """The path must still hold blob ``sha`` (a file replaced or deleted only if unchanged)."""

    sha: str


Precondition = MustNotExist | MustHaveBlob


@dataclass(frozen=True)
class BranchGenesis:
    """What the root commit of a new branch says: its message and its ``README.md``.

    Fixed bytes (with a fixed identity and date) make the same commit on every machine, so two
    writers creating the branch at once never diverge; each kind of branch says what it holds.
    """

    message: bytes
    readme: bytes


#: the root of a branch whose writer did not say what it holds
PLAIN_GENESIS = BranchGenesis(
    message=b"AgentV branch\n\nCreated by pytest-agentv; each following commit is one change.\n",
    readme=b"# pytest-agentv\n\nEach commit on this branch was written by pytest-agentv.\n",
)


@dataclass(frozen=True)
class ChangeSet:
    """Files to write (bytes) or delete (None), one commit, checked against preconditions."""

    key: str  # unique id: the spool key (the run id for runs)
    subject: str  # commit subject
    files: Mapping[str, bytes | None]  # branch-root-relative path -> new bytes; None deletes
    preconditions: Mapping[str, Precondition] = field(default_factory=dict)
    trailers: tuple[tuple[str, str], ...] = ()
    #: the author date (ISO 8601); None: the time of the commit
    timestamp: str | None = None

    def __post_init__(self) -> None:
        if not self.files:
            raise ValueError(f"change set {self.key!r} changes no file")
        for path in (*self.files, *self.preconditions):
            check_path(path)


def check_path(path: str) -> str:
    """``path`` if it is a clean branch-relative file path, else ``ValueError`` saying why."""
    parts = path.split("/")
    if not path or path.startswith("/") or any(part in ("", ".", "..", ".git") for part in parts):
        raise ValueError(
            f"{path!r} is not a branch path: use a relative path like 'dir/file.yaml' "
            "without '.', '..', '.git' or empty parts"
        )
    return path


def blob_sha(data: bytes) -> str:
    """The git blob id of ``data`` (what :class:`MustHaveBlob` compares against)."""
    digest = hashlib.sha1(b"blob %d\x00" % len(data), usedforsecurity=False)
    digest.update(data)  # not header + data: that would copy a big file once more
    return digest.hexdigest()

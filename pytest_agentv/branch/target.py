"""Which repository holds the branch, and where it is pushed: resolved once, frozen.

The rules (docs/storage.md): a remote of the source repository is used through the source
repository itself, unless the branch is checked out there (then a cache repository is used, so
the working tree is never touched); a URL or path gets a cache repository; without a remote the
branch lives in the source repository (or, outside git, in ``.agentv/cache/local.git``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pytest_agentv.branch.errors import BranchError
from pytest_agentv.credentials import mask_credentials, strip_credentials
from pytest_agentv.git.repository import repo_slug, source_info
from pytest_agentv.layout import ProjectLayout

FALLBACK_IDENTITY = "AgentV <agentv@localhost>"
_REMOTE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_SCP_LIKE = re.compile(r"^(?:[^@/]+@)?[^:/]{2,}:")


@dataclass(frozen=True)
class BranchTarget:
    """Where the branch lives and where it is pushed."""

    kind: Literal["source", "cache"]
    repo_dir: Path
    lock_path: Path
    branch: str
    tracking_ref: str | None  # refs/remotes/<name>/<branch>; None without a remote
    fetch_url: str | None
    push_url: str | None
    remote_label: str | None  # credentials masked, for messages
    where: str  # credentials masked: the repository holding the branch
    source_head: str | None  # the source repository's HEAD branch, a default-branch fallback
    identity: str
    notes: tuple[str, ...] = ()
    #: why nothing may be committed here (reading is still fine), e.g. the branch is checked out
    write_refusal: str | None = None

    @property
    def local_ref(self) -> str:
        return f"refs/heads/{self.branch}"


def resolve_target(rootdir: Path, branch: str, remote: str | None) -> BranchTarget:
    """The target for ``branch`` of the project at ``rootdir``, pushed to ``remote`` (a remote
    name of the source repository, a URL or a path; None: not pushed)."""
    layout = ProjectLayout(rootdir)
    source = source_info(rootdir)
    source_head = source.head_branch if source else None
    identity = (source.identity if source else None) or FALLBACK_IDENTITY
    checked_out = source is not None and not source.bare and source_head == branch

    def cache_target(
        fetch_url: str, push_url: str, label: str, notes: tuple[str, ...]
    ) -> BranchTarget:
        cache = layout.cache_dir
        digest = hashlib.sha256(strip_credentials(push_url).encode()).hexdigest()[:12]
        name = f"{_slug(push_url)}-{digest}"
        repo_dir = cache / f"{name}.git"
        return BranchTarget(
            kind="cache",
            repo_dir=repo_dir,
            lock_path=cache / f"{name}.lock",
            branch=branch,
            tracking_ref=f"refs/remotes/origin/{branch}",
            fetch_url=fetch_url,
            push_url=push_url,
            remote_label=label,
            where=f"the cache repository {repo_dir}",
            source_head=source_head,
            notes=notes,
            identity=identity,
        )

    if remote and source is not None and remote in source.remotes:
        configured = source.remotes[remote]
        fetch_url, push_url = configured.fetch_url, configured.push_url
        if fetch_url is None or push_url is None:
            raise BranchError(f"remote {remote!r} of the source repository has no url")
        label = f"{remote} ({mask_credentials(push_url)})"
        if not checked_out:
            return BranchTarget(
                kind="source",
                repo_dir=source.control_dir,
                lock_path=source.control_dir / "agentv.lock",
                tracking_ref=f"refs/remotes/{remote}/{branch}",
                fetch_url=fetch_url,
                push_url=push_url,
                remote_label=label,
                where="the source repository",
                identity=identity,
                branch=branch,
                source_head=source_head,
            )
        note = (
            f"branch {branch} is checked out in the source repository, so runs are "
            "committed in a cache repository instead (your working tree is never touched)"
        )
        return cache_target(fetch_url, push_url, label, (note,))
    if remote:
        url = _remote_location(rootdir, remote, list(source.remotes) if source else [])
        return cache_target(url, url, mask_credentials(url), ())

    if source is not None:
        refusal = None
        if checked_out:
            refusal = (
                f"branch {branch} is checked out in the source repository; committing "
                "runs to it would change your working tree. Choose another branch "
                "(--agentv-branch) or configure a remote (--agentv-remote)"
            )
        return BranchTarget(
            write_refusal=refusal,
            kind="source",
            repo_dir=source.control_dir,
            lock_path=source.control_dir / "agentv.lock",
            tracking_ref=None,
            fetch_url=None,
            push_url=None,
            remote_label=None,
            where="the source repository",
            identity=identity,
            notes=(
                f"no remote configured: runs are committed to the local branch "
                f"{branch} of the source repository only",
            ),
            branch=branch,
            source_head=source_head,
        )
    cache = layout.cache_dir
    return BranchTarget(
        kind="cache",
        repo_dir=cache / "local.git",
        lock_path=cache / "local.git.lock",
        tracking_ref=None,
        fetch_url=None,
        push_url=None,
        remote_label=None,
        where=f"the local repository {cache / 'local.git'}",
        identity=identity,
        notes=(
            f"no remote configured and {rootdir} is not in a git repository: "
            f"runs are committed to the local repository {cache / 'local.git'}",
        ),
        branch=branch,
        source_head=source_head,
    )


def _remote_location(rootdir: Path, remote: str, remotes: list[str]) -> str:
    if "://" in remote or _SCP_LIKE.match(remote):
        return remote
    path = Path(remote).expanduser()
    if not path.is_absolute():
        path = rootdir / path
    if not path.exists() and _REMOTE_NAME.fullmatch(remote):
        known = ", ".join(remotes) or "none"
        raise BranchError(
            f"remote {remote!r} is neither a remote of the source repository (remotes: "
            f"{known}) nor an existing path; use a remote name, a URL or a path"
        )
    return str(path)


def _slug(url: str) -> str:
    slug = repo_slug(strip_credentials(url)) or "remote"
    return re.sub(r"[^A-Za-z0-9._-]+", "-", slug).strip("-.") or "remote"

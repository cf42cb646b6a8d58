"""Provenance of a run: the project's source repository (origin slug, HEAD, dirtiness)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from dulwich.errors import NotGitRepository
from dulwich.refs import Ref
from dulwich.repo import Repo

if TYPE_CHECKING:
    from pytest_agentv.payload import Provenance

_SCP_LIKE = re.compile(r"^(?:[^@/]+@)?[^:/]+:(?P<path>[^/].*)$")


def repo_slug(url: str) -> str | None:
    """``org/repo`` from a remote URL (https, ssh, scp-like or a path); credentials never kept."""
    url = url.strip()
    if not url:
        return None
    if "://" in url:
        path = urlsplit(url).path
    elif match := _SCP_LIKE.match(url):
        path = match.group("path")
    else:
        path = url
    parts = [part for part in path.replace("\\", "/").split("/") if part]
    if not parts:
        return None
    parts[-1] = parts[-1].removesuffix(".git")
    return "/".join(parts[-2:]) if parts[-1] else None


def find_source_repo(start: Path) -> Repo | None:
    """The git repository containing ``start``, or None outside one."""
    try:
        return Repo.discover(str(start))
    except NotGitRepository:
        return None


def _provenance(**fields: Any) -> Provenance:
    from pytest_agentv.payload import Provenance  # payload loads pydantic: only when recording

    return Provenance(**fields)


def read_provenance(start: Path) -> Provenance:
    """Origin slug, HEAD commit and branch, and whether tracked files changed; None outside git."""
    repo = find_source_repo(start)
    if repo is None:
        return _provenance()
    with repo:
        commit: str | None
        try:
            commit = repo.head().decode("ascii")
        except KeyError:  # no commit yet
            commit = None
        branch = None
        head_target = repo.refs.read_ref(Ref(b"HEAD"))
        if head_target and head_target.startswith(b"ref: refs/heads/"):
            branch = head_target[len(b"ref: refs/heads/") :].decode("utf-8", "replace")
        slug = None
        try:
            url = repo.get_config().get((b"remote", b"origin"), b"url")
            slug = repo_slug(url.decode("utf-8", "replace"))
        except KeyError:
            pass
        return _provenance(repo=slug, commit=commit, branch=branch, dirty=_is_dirty(repo, commit))


def _is_dirty(repo: Repo, commit: str | None) -> bool | None:
    from dulwich import porcelain

    if commit is None:
        return None
    try:
        status = porcelain.status(repo, untracked_files="no", optional_locks=False)
    except Exception:  # an unreadable index says nothing about the run; leave the flag unknown
        return None
    staged = any(status.staged[kind] for kind in ("add", "delete", "modify"))
    return bool(staged or status.unstaged)

"""Refs (compare-and-swap updates) and the configuration of a repository."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from dulwich.file import FileLocked
from dulwich.objects import ObjectID
from dulwich.refs import Ref
from dulwich.repo import Repo

from pytest_agentv.fs_locks import LOCK_STALE_AFTER, inspect_lock, remove_if_stale
from pytest_agentv.git.errors import GitError


def open_repo(path: Path) -> Repo:
    """Open the repository at ``path`` (a work tree or a bare repository)."""
    return Repo(str(path))


def init_bare(path: Path) -> Repo:
    """Open the bare repository at ``path``, creating it first (atomically) if missing."""
    if not (path / "HEAD").exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        Repo.init_bare(str(staging), mkdir=True).close()
        try:
            os.rename(staging, path)
        except OSError:  # another process created it first; theirs is as good as ours
            _remove_tree(staging)
    return Repo(str(path))


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def control_dir(repo: Repo) -> Path:
    """The directory holding the repository's refs and objects (``.git`` or the bare repo)."""
    return Path(repo.commondir())


def head_branch(repo: Repo) -> str | None:
    """The branch HEAD points at (checked out, or a bare repo's default), or None if detached."""
    target = repo.refs.read_ref(Ref(b"HEAD"))
    if target and target.startswith(b"ref: refs/heads/"):
        return target[len(b"ref: refs/heads/") :].strip().decode("utf-8", "replace")
    return None


def remote_url(repo: Repo, name: str, *, push: bool = False) -> str | None:
    """The URL configured for remote ``name`` (``pushurl`` first when pushing), or None."""
    config = repo.get_config()
    section = (b"remote", name.encode("utf-8"))
    keys = (b"pushurl", b"url") if push else (b"url",)
    for key in keys:
        try:
            return config.get(section, key).decode("utf-8")
        except KeyError:
            continue
    return None


def remote_names(repo: Repo) -> list[str]:
    """The names of the remotes configured in the repository (``[remote "<name>"]`` sections)."""
    return [
        section[1].decode("utf-8")
        for section in repo.get_config().sections()
        if len(section) == 2 and section[0] == b"remote"
    ]


def user_identity(repo: Repo) -> str | None:
    """``Name <email>`` from ``user.name``/``user.email`` in the git config stack, if both set."""
    return _identity(repo.get_config_stack())


def global_identity() -> str | None:
    """``Name <email>`` from the user's global and system git config (no repository needed:
    runs committed outside a git repository carry the user's identity too)."""
    from dulwich.config import StackedConfig

    try:
        return _identity(StackedConfig.default())
    except (OSError, ValueError):
        return None


def _identity(config: Any) -> str | None:
    try:
        name = config.get((b"user",), b"name").decode("utf-8")
        email = config.get((b"user",), b"email").decode("utf-8")
    except KeyError:
        return None
    if not name.strip() or not email.strip():
        return None
    return f"{name.strip()} <{email.strip()}>"


def read_ref(repo: Repo, ref: str) -> str | None:
    """The hex sha a ref points at, or None if it does not exist."""
    try:
        return repo.refs[Ref(ref.encode("utf-8"))].decode("ascii")
    except KeyError:
        return None


def update_ref(repo: Repo, ref: str, new: str | None, old: str | None) -> bool:
    """Compare-and-swap ``ref`` from ``old`` to ``new`` (None: absent); False if it had moved.

    Another git process (the user's ``git fetch``) may briefly hold the ref's ``.lock``; dulwich
    reports that as :class:`FileLocked`. A lock is waited for until it is released, or removed
    once it is stale (left by a killed writer: see :mod:`pytest_agentv.fs_locks`).
    """
    name = Ref(ref.encode("utf-8"))
    removed: set[Path] = set()
    while True:
        try:
            if new is None:
                if old is None:
                    return name not in repo.refs
                return bool(repo.refs.remove_if_equals(name, ObjectID(old.encode("ascii"))))
            new_id = ObjectID(new.encode("ascii"))
            if old is None:
                return bool(repo.refs.add_if_new(name, new_id))
            return bool(repo.refs.set_if_equals(name, ObjectID(old.encode("ascii")), new_id))
        except FileLocked as exc:
            lock = Path(os.fsdecode(exc.lockfilename))
            if lock in removed or not remove_if_stale(lock, wait=LOCK_STALE_AFTER + 2):
                raise GitError(stuck_lock_message(f"cannot update {ref}", lock)) from None
            removed.add(lock)


def stuck_lock_message(action: str, lock: Path) -> str:
    """``action`` failed because of ``lock``: why it was not taken for stale, and the fix."""
    state = inspect_lock(lock)
    why = state.describe() if state is not None else f"{lock} was in the way"
    return (
        f"{action}: {why}; if no git or pytest-agentv process is using this repository, "
        f"remove {lock} and run `agentv-results sync`"
    )

"""The console script run like a user, for the ``agentv-results`` tests."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

from pytest_agentv.store.base import RunArtifacts
from pytest_agentv.store.local import LocalArtifactStore


def write_local(root: Path, runs: Iterable[RunArtifacts]) -> Path:
    """Write runs into the default local store under project ``root``; return the store dir."""
    store = LocalArtifactStore(root / ".agentv" / "runs")
    for run in runs:
        store.write(run)
    return store.directory


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment without AGENTV_* settings or user git configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTV_")}
    env.update(
        {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_TERMINAL_PROMPT": "0"}
    )
    env.update(extra or {})
    return env


def agentv(
    cwd: Path, *args: str, env: Mapping[str, str] | None = None, binary: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run the installed console script like a user would."""
    return subprocess.run(
        ["agentv-results", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=clean_env(env),
        timeout=120,
        check=False,
    )


def agentv_bytes(
    cwd: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Like :func:`agentv` but stdout as bytes (for byte-for-byte checks)."""
    return subprocess.run(
        ["agentv-results", *args],
        cwd=cwd,
        capture_output=True,
        env=clean_env(env),
        timeout=120,
        check=False,
    )

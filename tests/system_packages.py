"""Debian packages some tests need (``sshd``, Chromium), installed on first use.

The README's test command is plain ``python -m pytest`` on a fresh machine, so the suite brings
what it needs instead of skipping: when a program is missing and the tests run as root on a
Debian-like system, ``apt-get`` installs its package once (xdist workers wait on one lock);
otherwise the test fails with the command that would install it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from filelock import FileLock

_LOCK = Path(tempfile.gettempdir()) / "pytest-agentv-apt.lock"
_APT_TIMEOUT = 900  # seconds; a cold `apt-get update` plus Chromium is a few hundred MB


def ensure_program(program: Path, package: str) -> Path:
    """Return ``program``, installing Debian's ``package`` first when it is missing."""
    if program.exists():
        return program
    how = f"apt-get update && apt-get install -y {package}"
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.fail(f"{program} is missing: install the {package} package ({how})")
    with FileLock(str(_LOCK), timeout=_APT_TIMEOUT):
        if not program.exists():  # another worker may have installed it meanwhile
            _apt_install(package)
    if not program.exists():
        pytest.fail(f"installing {package} did not provide {program}; try: {how}")
    return program


def _apt_install(package: str) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", package],
    ):
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=_APT_TIMEOUT
        )
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            pytest.fail(f"`{' '.join(command)}` failed: {' / '.join(tail)}")

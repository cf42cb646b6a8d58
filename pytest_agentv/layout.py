"""Where a project keeps its pytest-agentv files: the one place ``.agentv/...`` paths are built.

Directories the plugin writes to (spool, cache) fall back to a per-project user cache directory
when ``.agentv/`` cannot be written (a read-only checkout), see :func:`fs.writable_dir`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pytest_agentv.fs import writable_dir

AGENTV_DIR = ".agentv"
CONFIG_FILE = Path(AGENTV_DIR) / "config.yaml"
DEFAULT_RUNS_DIR = f"{AGENTV_DIR}/runs"


@dataclass(frozen=True)
class ProjectLayout:
    """The ``.agentv/`` directory of the project at ``rootdir``."""

    rootdir: Path

    @property
    def agentv_dir(self) -> Path:
        return self.rootdir / AGENTV_DIR

    @property
    def config_file(self) -> Path:
        """``.agentv/config.yaml``."""
        return self.rootdir / CONFIG_FILE

    @property
    def spool_dir(self) -> Path:
        """Runs and change sets waiting for delivery: ``.agentv/spool`` (or the user cache)."""
        return writable_dir(self.agentv_dir / "spool", "spool", self.rootdir)

    @property
    def changes_spool_dir(self) -> Path:
        """Pending change sets other than runs: ``.agentv/spool/changes``."""
        return self.spool_dir / "changes"

    @property
    def refused_dir(self) -> Path:
        """Runs refused before any commit (a file over the per-file limit), never delivered:
        ``.agentv/spool/refused``; not a run id, so the spool never picks them up."""
        return self.spool_dir / "refused"

    @property
    def cache_dir(self) -> Path:
        """Cache repositories and the run index: ``.agentv/cache`` (or the user cache)."""
        return writable_dir(self.agentv_dir / "cache", "cache", self.rootdir)

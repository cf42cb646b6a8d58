"""Where a run's files live inside a store (pure functions); run ids come from :mod:`run_ids`."""

from __future__ import annotations

from pytest_agentv.run_ids import check_run_id, is_run_id, new_run_id

__all__ = [
    "METADATA_FILE",
    "RUN_FILES",
    "SUMMARY_FILE",
    "TRANSCRIPT_FILE",
    "check_run_id",
    "is_run_id",
    "new_run_id",
    "shard_path",
]

METADATA_FILE = "metadata.json"
TRANSCRIPT_FILE = "transcript.jsonl"
SUMMARY_FILE = "summary.json"
#: the files of every run, in the order they are written
RUN_FILES: tuple[str, ...] = (METADATA_FILE, TRANSCRIPT_FILE, SUMMARY_FILE)


def shard_path(run_id: str, prefix: str = "") -> str:
    """``[prefix/]<runId[:2]>/<runId[2:]>``: the directory of a run inside a store."""
    check_run_id(run_id)
    shard = f"{run_id[:2]}/{run_id[2:]}"
    return f"{prefix}/{shard}" if prefix else shard

"""Run groups as one logical run, for the commands that read runs (docs/gates.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_agentv.cli.common import EXIT_FINDINGS, CliError, load_metadata, resolve
from pytest_agentv.index import RunRow
from pytest_agentv.sources import RunSource

if TYPE_CHECKING:
    from pytest_agentv.models import RunMetadata

#: ``group:ID`` names run group ID where a command takes a run
GROUP_PREFIX = "group:"


def load_group(source: RunSource, group: str) -> tuple[RunMetadata, list[str]]:
    """The group's parts merged into one run, and their run ids (exit 1 when there are none)."""
    from pytest_agentv.baseline import BaselineError
    from pytest_agentv.gate_run import load_group as merged

    try:
        return merged(source, group)
    except BaselineError as exc:
        raise CliError(str(exc), EXIT_FINDINGS) from None


def run_or_group(source: RunSource, ref: str) -> RunMetadata:
    """A run's metadata, or (``group:ID``) a run group's parts merged into one run."""
    if ref.startswith(GROUP_PREFIX):
        return load_group(source, ref.removeprefix(GROUP_PREFIX))[0]
    return load_metadata(source, resolve(source, ref))


def in_group(source: RunSource, rows: list[RunRow], group: str) -> list[RunRow]:
    """The rows whose run is a part of ``group`` (each run's summary is read)."""
    from pytest_agentv.gate_run import read_summary
    from pytest_agentv.store.base import StoreError

    kept = []
    for row in rows:
        try:
            if read_summary(source, row.run_id).run_group == group:
                kept.append(row)
        except (StoreError, ValueError):
            continue
    return kept

"""The interface ``agentv-results`` reads runs through, and run references (``latest~2``, a
prefix) resolved against it; the adapters are :mod:`.sources_local` and :mod:`.sources_git`."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from pytest_agentv.index import RunQuery, RunRow
from pytest_agentv.run_ids import is_run_id, is_run_id_prefix

_LATEST = re.compile(r"latest(?:~(\d+))?")
_TOO_MANY = 10**18
_MAX_CANDIDATES = 10


class RefError(LookupError):
    """A run reference names no run, or more than one."""


class RefSyntaxError(ValueError):
    """A run reference is not a run id, a prefix of one, ``latest`` or ``latest~N``."""


@dataclass(frozen=True)
class SyncOutcome:
    """What ``sync`` did."""

    message: str
    pushed: tuple[str, ...] = ()
    pending: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()


class RunSource(Protocol):
    """What the CLI needs from a backend."""

    backend: str

    def describe(self) -> str:
        """Where runs are read from, in one phrase."""
        ...

    def has_remote(self) -> bool:
        """True if there is a remote to fetch from and push to."""
        ...

    def fetch(self) -> None:
        """Update from the remote (StoreError on failure)."""
        ...

    def query(self, query: RunQuery) -> list[RunRow]:
        """Rows matching ``query``, newest first."""
        ...

    def matching(self, prefix: str, limit: int) -> list[str]:
        """Run ids that start with ``prefix``."""
        ...

    def nth_latest(self, n: int) -> str | None:
        """The run id ``n`` places before the newest."""
        ...

    def abbrev(self, run_ids: Sequence[str]) -> dict[str, str]:
        """The shortest unique prefix of each run id."""
        ...

    def read(self, run_id: str, name: str) -> bytes:
        """The stored bytes of one file of one run (RunNotFound if absent)."""
        ...

    def read_each(self, run_ids: Sequence[str], name: str) -> dict[str, bytes]:
        """One file of each of ``run_ids`` (runs without it are left out): what a listing
        reads, in one go where the backend can."""
        ...

    def exists(self, run_id: str) -> bool:
        """True if a run with this exact id is stored."""
        ...

    def row(self, run_id: str) -> RunRow | None:
        """The list row of one run, if the source has one without reading blobs."""
        ...

    def pending(self) -> set[str]:
        """Runs committed locally but not on the remote."""
        ...

    def run_ids(self) -> list[str]:
        """Every stored run id, newest first."""
        ...

    def layout_problems(self, run_id: str | None) -> list[str]:
        """What is out of place in one run's directory (or, with None, in the store itself)."""
        ...

    def close(self) -> None:
        """Release what the source holds open (the run index's database)."""
        ...

    def sync(self) -> SyncOutcome:
        """Push what is pending."""
        ...


def resolve_ref(source: RunSource, ref: str) -> str:
    """A full run id from a run id, a unique prefix, ``latest`` or ``latest~N``."""
    text = ref.strip()
    if latest := _LATEST.fullmatch(text):
        digits = latest.group(1) or "0"
        n = int(digits) if len(digits) <= 18 else _TOO_MANY  # SQLite's OFFSET is 64-bit
        run_id = source.nth_latest(n) if n < _TOO_MANY else None
        if run_id is None and n >= _TOO_MANY:
            raise RefError(f"{ref!r}: there are fewer than {digits} runs in {source.describe()}")
        if run_id is None:
            raise RefError(f"{ref!r}: there are fewer than {n + 1} runs in {source.describe()}")
        return run_id
    lowered = text.lower()
    if not is_run_id_prefix(lowered):
        raise RefSyntaxError(
            f"{ref!r} is not a run reference; use a run id or a unique prefix of one "
            "(hex digits), 'latest' or 'latest~N'"
        )
    if is_run_id(lowered):
        if source.exists(lowered):
            return lowered
        raise RefError(f"no run {lowered} in {source.describe()}")
    candidates = source.matching(lowered, _MAX_CANDIDATES + 1)
    if not candidates:
        raise RefError(f"no run starting with {lowered!r} in {source.describe()}")
    if len(candidates) > 1:
        listed = ", ".join(candidates[:_MAX_CANDIDATES])
        more = " and more" if len(candidates) > _MAX_CANDIDATES else ""
        raise RefError(f"run prefix {lowered!r} is ambiguous: {listed}{more}; type more digits")
    return candidates[0]


def read_one_by_one(
    read: Callable[[str, str], bytes], run_ids: Sequence[str], name: str
) -> dict[str, bytes]:
    """:meth:`RunSource.read_each` for a backend without a batch read."""
    from pytest_agentv.store.base import RunNotFound

    found = {}
    for run_id in run_ids:
        try:
            found[run_id] = read(run_id, name)
        except RunNotFound:
            continue
    return found

"""Index rows from commit messages: the ingest half of the run index (pure; stdlib only).

Whatever reads the branch — the store's own walk or one ``git log`` process — hands each
first-parent commit here as ``(sha, raw message)`` (or as a :class:`CommitLike` carrying parsed
trailers), newest first, and gets back the row tuples :class:`pytest_agentv.index.RunIndex`
inserts. Both readers share these functions, so they build the same rows by construction.
A first index calls :func:`values_from_raw` 100k times: it builds no object per commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pytest_agentv.retention import PRUNED_TRAILER, pruned_ids
from pytest_agentv.run_ids import is_run_id
from pytest_agentv.trailers import RUN, RUN_BLOCK, UNKNOWN, parse, parse_pairs

#: the row's columns, in the order the tuples hold them (``RunIndex`` inserts them so)
COLUMNS = (
    "run_id, timestamp, model, eval_file, total, passed, failed, skipped, errors, "
    "scores, source_commit, commit_id"
)


class CommitLike(Protocol):
    """What the index reads of a commit: the git store's ``RunCommit`` has these too."""

    @property
    def commit(self) -> str: ...
    @property
    def run_id(self) -> str | None: ...
    @property
    def trailers(self) -> Mapping[str, str]: ...


@dataclass(frozen=True)
class IndexedCommit:
    """One first-parent commit of the branch, as the index stores it."""

    commit: str
    run_id: str | None
    trailers: Mapping[str, str]
    commit_time: int = 0


def _trailer(trailers: Mapping[str, str], name: str) -> str | None:
    value = trailers.get(name)
    if value is None:
        # git trailer keys are case-insensitive; the store writes them exactly, so this is rare
        lowered = name.lower()
        value = next((v for k, v in trailers.items() if k.lower() == lowered), None)
    if value is None:
        return None
    return value.strip() or None


def _int(value: str | None) -> int:
    try:
        return int(value) if value is not None else 0
    except ValueError:
        return 0


def _known(value: str | None) -> str | None:
    return None if value == UNKNOWN else value


def _fast_values(raw: bytes, commit: str) -> tuple[Any, ...] | None:
    match = RUN_BLOCK.search(raw)
    if match is None:
        return None
    run_id, eval_file, model, source, timestamp, total, passed, failed, skipped, errors, scores = (
        match.groups()
    )
    # inline on purpose: this runs once per commit of a first index
    model_text = model.decode("utf-8", "replace").strip()
    eval_text = eval_file.decode("utf-8", "replace").strip()
    source_text = source.decode("utf-8", "replace").strip()
    return (
        run_id.decode("ascii"),
        timestamp.decode("utf-8", "replace").strip(),
        model_text if model_text and model_text != UNKNOWN else None,
        eval_text if eval_text and eval_text != UNKNOWN else None,
        int(total),
        int(passed),
        int(failed),
        int(skipped),
        int(errors),
        scores.decode("utf-8", "replace").strip(),
        source_text if source_text and source_text != UNKNOWN else None,
        commit,
    )


def _trailer_values(
    commit: str, run_id: str | None, trailers: Mapping[str, str]
) -> tuple[Any, ...] | None:
    run_id = run_id or _trailer(trailers, RUN)
    if not run_id or not is_run_id(run_id):
        return None
    counts = parse_pairs(_trailer(trailers, "AgentV-Tests"))
    return (
        run_id,
        _trailer(trailers, "AgentV-Timestamp") or "",
        _known(_trailer(trailers, "AgentV-Model")),
        _known(_trailer(trailers, "AgentV-Eval")),
        _int(counts.get("total")),
        _int(counts.get("passed")),
        _int(counts.get("failed")),
        _int(counts.get("skipped")),
        _int(counts.get("errors")),
        _trailer(trailers, "AgentV-Scores") or "",
        _known(_trailer(trailers, "Source-Commit")),
        commit,
    )


def values_from_raw(commit: str, raw: bytes) -> tuple[Any, ...] | None:
    """The row of a run commit from its raw message; None for a commit that carries no run.

    The store's own trailer block is one regex match; anything else (trailers written by hand,
    reordered, lower-cased) goes through the general trailer parser.
    """
    fast = _fast_values(raw, commit)
    if fast is not None:
        return fast
    trailers = parse(raw)
    run_id = trailers.get(RUN)
    return _trailer_values(commit, run_id if run_id and is_run_id(run_id) else None, trailers)


def values(entry: CommitLike) -> tuple[Any, ...] | None:
    """The row of a run commit (:data:`COLUMNS` order); None for commits with no run."""
    raw = getattr(entry, "raw_message", None)
    if isinstance(raw, bytes):
        return values_from_raw(entry.commit, raw)
    return _trailer_values(entry.commit, entry.run_id, entry.trailers)


class RowFeed:
    """The rows of a first-parent walk, newest first, built while they are iterated.

    Rows of runs a newer commit pruned are left out; :attr:`pruned` collects every run id the
    prune commits seen so far name (complete once the iteration ends). Iterating it once is
    the whole walk: the index inserts the rows as they come, while a ``git log`` process is
    still writing the older ones.
    """

    def __init__(self, messages: Iterable[tuple[str, bytes] | CommitLike]) -> None:
        """``messages``: ``(sha, raw message)`` pairs (``git log``), or commits (the store)."""
        self._messages = messages
        self.pruned: set[str] = set()

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        pruned = self.pruned
        for message in self._messages:
            if isinstance(message, tuple):  # the hot path of a first index: no object per commit
                sha, raw = message
                row = values_from_raw(sha, raw)
                if row is None:
                    pruned.update(pruned_ids(raw))
                elif row[0] not in pruned:
                    yield row
                continue
            row = values(message)
            if row is not None:
                if row[0] not in pruned:
                    yield row
                continue
            raw_message = getattr(message, "raw_message", None)
            if isinstance(raw_message, bytes):
                pruned.update(pruned_ids(raw_message))
            elif PRUNED_TRAILER in message.trailers:
                pruned.update(message.trailers[PRUNED_TRAILER].split())

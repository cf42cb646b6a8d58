"""Retention: which runs a prune removes from the tip of a results branch, and how its commit
says so (pure; stdlib only, since the run index reads prune commits on its warm path).

A prune is one commit deleting the files of the chosen runs; history keeps them. Its message
lists the run ids in the ``AgentV-Pruned`` trailer, so the index can drop them without reading
a tree, and a later walk of the branch (a rebuilt index, another clone) never lists them again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

PRUNE_TRAILER = "AgentV-Prune"
PRUNED_TRAILER = "AgentV-Pruned"
_AGE = re.compile(r"(\d+)([hdw])")
_UNIT = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
_PRUNED = re.compile(rb"\nAgentV-Pruned: ([0-9a-f ]*)")
_RUN_ID = re.compile(r"[0-9a-f]{16}")


def parse_age(text: str) -> timedelta:
    """``"90d"`` -> 90 days (units ``h``, ``d``, ``w``); ``ValueError`` saying what is accepted."""
    match = _AGE.fullmatch(text.strip())
    if match is None or int(match[1]) == 0:
        raise ValueError(
            f"{text!r} is not an age; use a positive number and a unit: 12h, 90d or 6w"
        )
    return int(match[1]) * _UNIT[match[2]]


@dataclass(frozen=True)
class PrunePlan:
    """The runs a prune removes, and the rule that chose them."""

    prune: tuple[str, ...]  # run ids, oldest first
    keep: int  # runs left on the tip
    cutoff: datetime  # runs started before this are old
    older_than: str  # the age as given (``90d``)
    keep_last: int | None


def plan_prune(
    runs: Iterable[tuple[str, str]],
    now: datetime,
    older_than: str,
    keep_last: int | None = None,
) -> PrunePlan:
    """Choose from ``(run_id, ISO timestamp)`` pairs the runs started before ``now - older_than``,
    sparing the ``keep_last`` newest runs whatever their age.

    Example: runs of 100, 50 and 1 days ago, ``older_than="90d"`` prunes the first; with
    ``keep_last=3`` nothing is pruned.
    """
    if keep_last is not None and keep_last < 0:
        raise ValueError(f"keep_last must be 0 or more, not {keep_last}")
    cutoff = now - parse_age(older_than)
    newest_first = sorted(runs, key=lambda run: (run[1], run[0]), reverse=True)
    spared = newest_first[:keep_last] if keep_last is not None else []
    candidates = newest_first[len(spared) :]
    prune = [run_id for run_id, stamp in candidates if _parse(stamp) < cutoff]
    return PrunePlan(
        prune=tuple(reversed(prune)),
        keep=len(newest_first) - len(prune),
        cutoff=cutoff,
        older_than=older_than,
        keep_last=keep_last,
    )


def _parse(stamp: str) -> datetime:
    """An ISO timestamp as runs store them (``...Z``), as an aware datetime."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def prune_subject(plan: PrunePlan) -> str:
    return f"Prune {len(plan.prune)} run(s) older than {plan.older_than}"


def prune_trailers(plan: PrunePlan) -> list[tuple[str, str]]:
    """The trailers of a prune commit: the rule, then every pruned run id on one line."""
    rule = f"older-than={plan.older_than} cutoff={plan.cutoff.strftime('%Y-%m-%dT%H:%M:%SZ')}"
    if plan.keep_last is not None:
        rule += f" keep-last={plan.keep_last}"
    return [
        (PRUNE_TRAILER, f"{rule} runs={len(plan.prune)}"),
        (PRUNED_TRAILER, " ".join(plan.prune)),
    ]


def pruned_ids(raw_message: bytes) -> Sequence[str]:
    """The run ids a commit pruned ([] for any other commit)."""
    match = _PRUNED.search(raw_message)
    if match is None:
        return []
    return [token for token in match[1].decode("ascii").split() if _RUN_ID.fullmatch(token)]

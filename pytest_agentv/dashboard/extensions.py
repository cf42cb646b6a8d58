"""Where the dashboard grows: run markers (gate verdicts) and extra sections (releases).

* A :data:`RunMarker` reads a run's ``metadata.json`` and returns :class:`Mark` s; marks are
  cached with the run's record, shown in the runs table, on trend points and on the run page.
  Gates record their verdict in the run's metadata, so a gate marker is one small function.
* A :data:`ComparePanel` gets the two runs of a compare page and returns a :class:`Table`
  shown under the verdict (the paired-statistics verdict of a baseline gate is one), or None.
* A :class:`Section` adds a page: it gets every run record and returns a :class:`Table` (data
  only; the site renders every section the same way, sortable and filterable), or None to add
  no page. :class:`ReleasesSection` is the releases page, fed with :class:`ReleaseRow` s by
  whatever reads the releases branch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from pytest_agentv.dashboard.records import Mark, RunRecord
from pytest_agentv.models import RunMetadata

RunMarker = Callable[[RunMetadata], Sequence[Mark]]
ComparePanel = Callable[[RunMetadata, RunMetadata], "Table | None"]  # (base, new)


def marks_of(metadata: RunMetadata, markers: Sequence[RunMarker]) -> tuple[Mark, ...]:
    """Every marker's marks for one run, in marker order."""
    return tuple(mark for marker in markers for mark in marker(metadata))


@dataclass(frozen=True)
class Cell:
    """One cell of a section table: text, an optional link (relative to the site root) and a
    sort key (numbers sort as numbers)."""

    text: str
    href: str | None = None
    sort: float | str | None = None
    status: str | None = None  # a CSS status word: passed, failed, active, rejected...


@dataclass(frozen=True)
class Table:
    """A section page: a title, an introduction and one table."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    intro: str = ""
    filters: tuple[int, ...] = field(default=())  # columns offered as filters


class Section(Protocol):
    """An extra page of the site."""

    @property
    def slug(self) -> str:
        """The file name without .html; also the navigation label's key."""
        ...

    @property
    def title(self) -> str:
        """The navigation label."""
        ...

    def build(self, records: Sequence[RunRecord]) -> Table | None:
        """The page's table, or None to leave the page out."""
        ...


@dataclass(frozen=True)
class ReleaseRow:
    """One version of one agent, as the releases page lists it."""

    agent: str
    version: int
    status: str
    timestamp: str
    changelog: str = ""
    eval_run: str | None = None  # the run that gated it
    score: float | None = None
    threshold: float | None = None
    metric: str | None = None  # what the score measures: pass_rate or a metric's mean
    deployed: bool = False  # current.yaml is this version


@dataclass(frozen=True)
class ReleasesSection:
    """The releases page: versions, status and the eval run that gated each."""

    releases: Sequence[ReleaseRow]
    slug: str = "releases"
    title: str = "Releases"
    where: str = ""  # which branch the rows were read from, for the introduction

    def build(self, records: Sequence[RunRecord]) -> Table | None:
        if not self.releases:
            return None
        pages = {r.run_id: f"runs/{r.run_id[:2]}/{r.run_id}.html" for r in records}
        rows = []
        for rel in sorted(self.releases, key=lambda r: (r.agent, -r.version)):
            run = rel.eval_run
            gate = (
                "-"
                if rel.score is None
                else (
                    f"{rel.score:g}"
                    + (f" / {rel.threshold:g}" if rel.threshold is not None else "")
                )
            )
            if rel.score is not None and rel.metric:
                gate += f" ({rel.metric})"
            rows.append(
                (
                    Cell(rel.agent),
                    Cell(f"v{rel.version}", sort=rel.version),
                    Cell(rel.status + (" · deployed" if rel.deployed else ""), status=rel.status),
                    Cell(rel.timestamp),
                    Cell(run[:12] if run else "-", href=pages.get(run) if run else None),
                    Cell(gate, sort=rel.score),
                    Cell(rel.changelog),
                )
            )
        return Table(
            "Releases",
            ("agent", "version", "status", "time", "eval run", "score / min", "changelog"),
            tuple(rows),
            intro="Every version of every agent, newest first"
            + (f", from the releases {self.where}" if self.where else "")
            + "; the eval run that gated a release links to its run page when the run is on "
            "this site (docs/releases.md).",
            filters=(0, 2),
        )

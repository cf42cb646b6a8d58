"""``build_site``: read runs through a :class:`~pytest_agentv.sources.RunSource`, write the site.

The I/O edge of the dashboard: what to read and what to remake; :mod:`.pages` shapes each
page. A run's files are read only when the run is new to this output directory (its cache key,
the results-branch commit or the summary's checksum, is not in the manifest) or its page must be
remade; everything else comes from the manifest. Run and compare pages of runs that did not
change are kept as they are, so one more run costs one run page, one compare page and the
overview pages.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pytest_agentv.dashboard import html
from pytest_agentv.dashboard.extensions import ComparePanel, RunMarker, Section, marks_of
from pytest_agentv.dashboard.output import SiteWriter, read_manifest
from pytest_agentv.dashboard.pages import (
    SiteOptions,
    write_compare_page,
    write_run_page,
    write_top_pages,
)
from pytest_agentv.dashboard.records import (
    RunRecord,
    SeriesLinker,
    record_from_json,
    record_of,
    record_to_json,
)
from pytest_agentv.dashboard.verdicts import gate_marks, paired_statistics
from pytest_agentv.dashboard.views import check_link_template
from pytest_agentv.index import RunQuery
from pytest_agentv.models import RunMetadata, TranscriptEvent
from pytest_agentv.sources import RunSource
from pytest_agentv.trends import RunPoints, run_points

#: called as ``progress(phase, done, total)``; the phase is "runs"
Progress = Callable[[str, int, int], None]
#: every site marks the gate verdict its session recorded, and compares pairs statistically
DEFAULT_MARKERS: tuple[RunMarker, ...] = (gate_marks,)
DEFAULT_COMPARE_PANELS: tuple[ComparePanel, ...] = (paired_statistics,)
DEFAULT_OPTIONS = SiteOptions()
_FINGERPRINT_MODULES = (
    "html.py",
    "html_run.py",
    "svg.py",
    "views.py",
    "records.py",
    "build.py",
    "pages.py",
    "verdicts.py",
)


@dataclass(frozen=True)
class BuildReport:
    """What a build did."""

    out_dir: Path
    runs: int
    read: int  # runs whose files were read from the source in this build
    written: tuple[str, ...]
    unchanged: int
    removed: tuple[str, ...]
    seconds: float
    problems: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The report as ``--json`` prints it."""
        return {
            "outDir": str(self.out_dir),
            "runs": self.runs,
            "read": self.read,
            "written": len(self.written),
            "unchanged": self.unchanged,
            "removed": len(self.removed),
            "seconds": round(self.seconds, 3),
            "writtenFiles": list(self.written),
            "removedFiles": list(self.removed),
            "problems": list(self.problems),
        }


@dataclass
class _Run:
    """One run during a build: its record, and its parsed files once read."""

    key: str
    record: RunRecord
    metadata: RunMetadata | None = None
    points: RunPoints | None = None
    cached: dict[str, Any] = field(default_factory=dict)


class _Reader:
    """Reads and parses run files; counts how many runs it touched."""

    def __init__(self, source: RunSource):
        self.source = source
        self.touched: set[str] = set()

    def summary_bytes(self, run_id: str) -> bytes:
        return self._read(run_id, "summary.json")

    def metadata(self, run_id: str) -> RunMetadata:
        return RunMetadata.model_validate_json(self._read(run_id, "metadata.json"))

    def transcript(self, run_id: str) -> list[TranscriptEvent]:
        from pytest_agentv.export import parse_transcript

        return parse_transcript(self._read(run_id, "transcript.jsonl"))

    def _read(self, run_id: str, name: str) -> bytes:
        self.touched.add(run_id)
        return self.source.read(run_id, name)


def _fingerprint(
    link_template: str | None, options: SiteOptions, extensions: Sequence[Callable[..., Any]]
) -> str:
    """Changes when anything that shapes a run's page changes, so old pages get remade."""
    here = Path(__file__).parent
    h = hashlib.sha256()
    for name in _FINGERPRINT_MODULES:
        h.update((here / name).read_bytes())
    h.update(html.resource("page.html"))
    h.update(
        json.dumps(
            [
                link_template,
                options.tolerance,
                options.title,
                [f"{m.__module__}.{m.__qualname__}" for m in extensions],
            ]
        ).encode()
    )
    return h.hexdigest()


def build_site(
    source: RunSource,
    out_dir: Path,
    *,
    progress: Progress | None = None,
    link_template: str | None = None,
    compare: Iterable[tuple[str, str]] = (),
    markers: Sequence[RunMarker] = DEFAULT_MARKERS,
    compare_panels: Sequence[ComparePanel] = DEFAULT_COMPARE_PANELS,
    sections: Sequence[Section] = (),
    options: SiteOptions = DEFAULT_OPTIONS,
) -> BuildReport:
    """Write (or bring up to date) the static site of every run ``source`` has.

    ``link_template`` links provenance to the source commit (``{repo}``, ``{commit}``,
    ``{branch}``); ``compare`` adds compare pages for more pairs (base, new) of run ids beyond
    each run against the previous run of its model and eval. ``markers``, ``compare_panels``
    and ``sections`` extend the site (:mod:`pytest_agentv.dashboard.extensions`).
    """
    started = time.perf_counter()
    if link_template is not None:
        check_link_template(link_template)
    report = progress or (lambda phase, done, total: None)
    previous = read_manifest(out_dir)
    fingerprint = _fingerprint(link_template, options, [*markers, *compare_panels])
    fresh_pages = previous.fingerprint == fingerprint
    # another version or other markers may derive other records (marks) from the same run
    cached_runs = previous.runs if fresh_pages else {}
    reader = _Reader(source)
    panels = tuple(compare_panels)
    problems: list[str] = []

    rows = list(reversed(source.query(RunQuery())))  # oldest first
    # one pass, oldest first: a run's compare base is known when it is reached, and a run's
    # parsed files are dropped as soon as the next run of its series has used them
    writer = SiteWriter(out_dir, previous)
    linker = SeriesLinker()
    runs: list[_Run] = []
    by_id: dict[str, _Run] = {}
    history_from = len(rows) - options.history_runs
    for seq, row in enumerate(rows):
        report("runs", seq, len(rows))
        run = None
        try:
            run = _load(reader, row.run_id, row.commit, row.pending, seq, cached_runs, markers)
            run.record = linker.link(run.record)
            by_id[row.run_id] = run
            _run_pages(writer, reader, run, by_id, fresh_pages, link_template, panels, options)
        except ValueError as exc:  # includes pydantic's ValidationError
            first = str(exc).splitlines()[0]
            problems.append(
                f"run {row.run_id}: left out, its files cannot be read ({first}); "
                f"run 'agentv-results verify {row.run_id}'"
            )
            if run is not None and by_id.pop(row.run_id, None) is not None:
                linker.drop(run.record)
            continue
        runs.append(run)
        if run.record.prev is not None:
            by_id[run.record.prev].metadata = None
        if seq < history_from:
            run.points = None  # per-test history looks at the newest runs only
    report("runs", len(rows), len(rows))
    for base, new in compare:
        if base in by_id and new in by_id:
            _write_compare(writer, reader, by_id[base], by_id[new], panels, options)
        else:
            problems.append(f"compare {base} {new}: no such run on the site")

    records = [run.record for run in runs]
    window = runs[-options.history_runs :]
    for run in window:
        if run.points is None:
            run.points = run_points(run.metadata or reader.metadata(run.record.run_id))
    write_top_pages(
        writer,
        records,
        [(r.record, r.points) for r in window if r.points is not None],
        compare,
        sections,
        options,
    )

    cache = {}
    for run in runs:
        entry = {
            "key": run.key,
            "record": record_to_json(run.record),
            "page": run.cached.get("page"),
        }
        if run.points is not None:
            entry["points"] = run.points.to_json()
        cache[run.record.run_id] = entry
    removed = writer.finish(cache, fingerprint)
    return BuildReport(
        out_dir,
        len(runs),
        len(reader.touched),
        tuple(writer.written),
        writer.unchanged,
        tuple(removed),
        time.perf_counter() - started,
        tuple(problems),
    )


def _load(
    reader: _Reader,
    run_id: str,
    commit: str | None,
    pending: bool,
    seq: int,
    cached_runs: Mapping[str, Mapping[str, Any]],
    markers: Sequence[RunMarker],
) -> _Run:
    cached = cached_runs.get(run_id)
    if commit is not None and cached and cached.get("key") == commit:
        record = record_from_json(cached["record"])
        points = RunPoints.from_json(cached["points"]) if "points" in cached else None
        return _Run(
            commit, replace(record, seq=seq, pending=pending), points=points, cached=dict(cached)
        )
    key = commit
    if key is None:
        # the summary carries the checksums of the other two files: its digest names the run
        key = hashlib.sha256(reader.summary_bytes(run_id)).hexdigest()
        if cached and cached.get("key") == key:
            record = record_from_json(cached["record"])
            points = RunPoints.from_json(cached["points"]) if "points" in cached else None
            return _Run(
                key, replace(record, seq=seq, pending=pending), points=points, cached=dict(cached)
            )
    # metadata.json holds everything summary.json does, and the run page needs it anyway
    metadata = reader.metadata(run_id)
    marks = marks_of(metadata, markers)
    record = record_of(metadata, seq=seq, pending=pending, marks=marks)
    return _Run(key, record, metadata=metadata)


def _page_key(run: _Run) -> str:
    return hashlib.sha256(json.dumps([run.key, run.record.prev]).encode()).hexdigest()


def _run_pages(
    writer: SiteWriter,
    reader: _Reader,
    run: _Run,
    by_id: dict[str, _Run],
    fresh_pages: bool,
    link_template: str | None,
    panels: Sequence[ComparePanel],
    options: SiteOptions,
) -> None:
    record = run.record
    page_path = html.run_href(record.run_id)
    compare_path = html.compare_href(record.prev, record.run_id) if record.prev else None
    key = _page_key(run)
    if (
        fresh_pages
        and run.cached.get("page") == key
        and writer.keep(page_path)
        and (compare_path is None or writer.keep(compare_path))
    ):
        run.cached["page"] = key
        return
    metadata = run.metadata or reader.metadata(record.run_id)
    run.metadata = metadata
    run.points = run_points(metadata)
    events = reader.transcript(record.run_id)
    write_run_page(writer, record, metadata, events, link_template, options)
    if record.prev is not None:
        base = by_id[record.prev]
        _write_compare(writer, reader, base, run, panels, options)
        base.metadata = None  # each run is the base of one compare page at most: free it
    run.cached["page"] = key


def _write_compare(
    writer: SiteWriter,
    reader: _Reader,
    base: _Run,
    new: _Run,
    panels: Sequence[ComparePanel],
    options: SiteOptions,
) -> None:
    before = base.metadata or reader.metadata(base.record.run_id)
    after = new.metadata or reader.metadata(new.record.run_id)
    write_compare_page(writer, (base.record, before), (new.record, after), panels, options)

"""The site's pages, written through a :class:`~pytest_agentv.dashboard.output.SiteWriter` from
runs already read: a run's page, a compare page, and the overview pages (runs, trends, tests,
extra sections, the data files and assets).

What to read and what to remake is :mod:`.build`'s business; this module only shapes pages
from data (:mod:`.views`) into markup (:mod:`.html`, :mod:`.html_run`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pytest_agentv.dashboard import html, html_run
from pytest_agentv.dashboard.extensions import ComparePanel, Section
from pytest_agentv.dashboard.output import SiteWriter
from pytest_agentv.dashboard.records import RunRecord
from pytest_agentv.dashboard.views import (
    chunks,
    compare_runs,
    facets,
    histories_of,
    message_counts,
    metric_trends,
    newest,
    run_detail,
    transcript_view,
)
from pytest_agentv.models import RunMetadata, TranscriptEvent
from pytest_agentv.trends import RunPoints


@dataclass(frozen=True)
class SiteOptions:
    """Sizes that keep a site of 10 000 runs light."""

    title: str = "pytest-agentv"
    index_rows: int = 100  # runs on the first page before any filter loads the rest
    chunk_size: int = 1000  # runs per archive page and per data file
    trend_points: int = 200  # newest points per model in each chart
    history_runs: int = 200  # newest runs that per-test history looks at
    history_points: int = 30  # newest outcomes per test
    tolerance: float = 0.0  # as diff --tolerance, for compare pages


def write_run_page(
    writer: SiteWriter,
    record: RunRecord,
    metadata: RunMetadata,
    events: Sequence[TranscriptEvent],
    link_template: str | None,
    options: SiteOptions,
) -> None:
    """The run's own page: its detail and its transcript."""
    detail = run_detail(
        metadata, record, link_template=link_template, messages=message_counts(events)
    )
    body = html_run.run_body(detail, transcript_view(events))
    writer.write(
        html.run_href(record.run_id),
        html.page(
            title=f"run {record.run_id[:8]}",
            site=options.title,
            page_id="run",
            root="../../",
            body=body,
        ).encode(),
    )


def write_compare_page(
    writer: SiteWriter,
    base: tuple[RunRecord, RunMetadata],
    new: tuple[RunRecord, RunMetadata],
    panels: Sequence[ComparePanel],
    options: SiteOptions,
) -> None:
    """The page comparing run ``new`` with its ``base``, with each panel's table."""
    (base_record, before), (new_record, after) = base, new
    diff = compare_runs(before, after, options.tolerance)
    tables = [t for t in (panel(before, after) for panel in panels) if t is not None]
    body = html_run.compare_body(diff, base_record, new_record, tables)
    title = f"compare {base_record.run_id[:8]} → {new_record.run_id[:8]}"
    writer.write(
        html.compare_href(base_record.run_id, new_record.run_id),
        html.page(
            title=title, site=options.title, page_id="compare", root="../", body=body
        ).encode(),
    )


def _data_js(key: str, value: Any) -> bytes:
    # script files, not JSON: a page opened from file:// may load scripts but not fetch()
    payload = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return f"agentvData({json.dumps(key)},{payload});\n".encode()


def write_top_pages(
    writer: SiteWriter,
    records: Sequence[RunRecord],
    window: Sequence[tuple[RunRecord, RunPoints]],
    compare: Iterable[tuple[str, str]],
    sections: Sequence[Section],
    options: SiteOptions,
) -> None:
    """The overview pages (made again in every build): the runs pages and their data files,
    trends, per-test history over ``window``, extra sections, assets."""
    found = facets(records)
    extra = [(s, s.build(records)) for s in sections]
    nav = [(s.slug, s.title) for s, table in extra if table is not None]

    def top(page_id: str, title: str, body: str) -> bytes:
        return html.page(
            title=title, site=options.title, page_id=page_id, root="", body=body, sections=nav
        ).encode()

    parts = chunks(records, options.chunk_size)
    archives, names = [], []
    for number, part in enumerate(parts):
        name = f"runs-{number:04d}"
        rows = [html.run_row(r) for r in reversed(part)]
        writer.write(f"data/{name}.js", _data_js(name, "".join(rows)))
        names.append(name)
        if part:
            label = f"{part[0].seq + 1} to {part[-1].seq + 1}"
            archives.append((f"all-{name}.html", label))
            writer.write(
                f"all-{name}.html",
                top(
                    "index",
                    f"runs {label}",
                    html.runs_page_body(
                        rows,
                        facets=found,
                        total=len(part),
                        archives=(),
                        heading=f"Runs {label}",
                        complete=True,
                    ),
                ),
            )
    writer.write(
        "data/overview.js",
        _data_js(
            "overview",
            {
                "chunks": names,
                "total": len(records),
                "pairs": [f"{base}-{new}" for base, new in compare],
            },
        ),
    )
    rows = [html.run_row(r) for r in newest(records, options.index_rows)]
    writer.write(
        "index.html",
        top(
            "index",
            "Runs",
            html.runs_page_body(rows, facets=found, total=len(records), archives=archives),
        ),
    )
    trends = metric_trends(records, options.trend_points)
    writer.write("trends.html", top("trends", "Trends", html.trends_body(trends, found)))
    histories = histories_of(window, options.history_points)
    writer.write(
        "tests.html", top("tests", "Tests", html.tests_body(histories, found, len(window)))
    )
    for section, table in extra:
        if table is not None:
            writer.write(
                f"{section.slug}.html", top(section.slug, table.title, html.section_body(table))
            )
    for name in html.ASSETS:
        writer.write(f"assets/{name}", html.resource(name))
    writer.write(".nojekyll", b"")  # GitHub Pages: serve the files as they are

"""Markup: the views' data in, HTML text out (pure; the page skeleton is a package resource).

Every table is complete HTML, so the site reads without JavaScript; ``assets/app.js`` only sorts,
filters and selects rows it finds in the page, reading their ``data-*`` attributes. The runs
table's rows are made here once (:func:`run_row`) and reused by the archive pages and by the
data files the script loads on demand, so there is one renderer of a run row. One run's pages
(run, transcript, compare) are in :mod:`.html_run`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from html import escape
from importlib.resources import files
from string import Template

from pytest_agentv.dashboard.extensions import Table
from pytest_agentv.dashboard.records import Mark, RunRecord
from pytest_agentv.dashboard.svg import sparkline, tags_attr, trend_chart
from pytest_agentv.dashboard.views import (
    Facets,
    TestHistory,
    Trend,
    pass_rate_text,
)

ASSETS = ("style.css", "app.js")
TOP_PAGES = (("index", "Runs"), ("trends", "Trends"), ("tests", "Tests"))


def e(value: object) -> str:
    """Escape text for HTML content and attribute values."""
    return escape(str(value), quote=True)


@cache
def resource(name: str) -> bytes:
    """One file of ``assets/``, as packaged."""
    return (files("pytest_agentv.dashboard") / "assets" / name).read_bytes()


def run_href(run_id: str, root: str = "") -> str:
    """Where a run's page is, relative to a page at ``root``."""
    return f"{root}runs/{run_id[:2]}/{run_id}.html"


def compare_href(base: str, new: str, root: str = "") -> str:
    """Where the compare page of a pair is (only pairs the build computed have one)."""
    return f"{root}compare/{base}-{new}.html"


def page(
    *,
    title: str,
    site: str,
    page_id: str,
    root: str,
    body: str,
    sections: Sequence[tuple[str, str]] = (),
) -> str:
    """A whole document around ``body``; ``sections`` extend the navigation of top pages."""
    links = [*TOP_PAGES, *sections]
    nav = "".join(
        f'<a href="{root}{slug}.html"'
        + (' aria-current="page"' if slug == page_id else "")
        + f">{e(label)}</a>"
        for slug, label in links
    )
    template = Template(resource("page.html").decode("utf-8"))
    return template.substitute(
        title=e(title), site=e(site), page=e(page_id), root=root, nav=nav, body=body
    )


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def marks(marks: Iterable[Mark]) -> str:
    return "".join(
        f'<span class="mark {"ok" if m.ok else "bad" if m.ok is False else "info"}" '
        f'data-kind="{e(m.kind)}">{e(m.label)}</span>'
        for m in marks
    )


def _filter_attrs(
    model: str | None, eval_file: str | None, branch: str | None, tags: Iterable[str], search: str
) -> str:
    tag_text = tags_attr(tags)
    return (
        f' data-model="{e(model or "-")}" data-eval="{e(eval_file or "-")}"'
        f' data-branch="{e(branch or "-")}" data-tags="{e(tag_text)}"'
        f' data-search="{e(search.lower())}"'
    )


def filter_form(
    facets: Facets,
    *,
    fields: Sequence[str] = ("model", "eval", "branch", "tag"),
    placeholder: str = "run id, model, eval, tag, commit",
) -> str:
    """The filter bar; its values live in the page URL (``?model=…&q=…``)."""
    options = {
        "model": facets.models,
        "eval": facets.evals,
        "branch": facets.branches,
        "tag": facets.tags,
    }
    labels = {"model": "Model", "eval": "Eval", "branch": "Source branch", "tag": "Tag"}
    parts = ['<form class="filters" id="filters" role="search" method="get">']
    for name in fields:
        choices = "".join(f'<option value="{e(v)}">{e(v)}</option>' for v in options[name])
        parts.append(
            f'<label>{labels[name]} <select name="{name}"><option value="">all</option>'
            f"{choices}</select></label>"
        )
    parts.append(
        f'<label>Search <input type="search" name="q" placeholder="{e(placeholder)}"></label>'
    )
    parts.append('<output id="shown" aria-live="polite"></output></form>')
    return "".join(parts)


def th(label: str, kind: str = "text") -> str:
    return (
        f'<th scope="col" data-kind="{kind}"><button type="button" class="sort">{e(label)}'
        "</button></th>"
    )


# --- runs -----------------------------------------------------------------------------------------

RUN_COLUMNS = (
    '<th scope="col"><span class="sr">select</span></th>'
    + th("run")
    + th("time")
    + th("model")
    + th("eval")
    + th("branch")
    + th("tags")
    + th("passed", "num")
    + th("pass rate", "num")
    + th("scores")
    + th("verdicts")
    + th("source")
)


def run_row(r: RunRecord) -> str:
    """One row of the runs table (the same markup on every page that lists runs)."""
    search = " ".join(
        filter(None, (r.run_id, r.model, r.eval_file, r.source_branch, r.source_commit, *r.tags))
    )
    scores = " · ".join(f"{name} {num(value)}" for name, value in r.scores.items())
    prev = f' data-prev="{r.prev}"' if r.prev else ""
    pending = ' <span class="mark info">unpushed</span>' if r.pending else ""
    return (
        f'<tr data-id="{r.run_id}" data-seq="{r.seq}"{prev}'
        + _filter_attrs(r.model, r.eval_file, r.source_branch, r.tags, search)
        + ">"
        f'<td><input type="checkbox" class="pick" value="{r.run_id}" '
        f'aria-label="select run {r.run_id[:8]} for compare"></td>'
        f'<td><a href="{run_href(r.run_id)}"><code>{r.run_id[:8]}</code></a>{pending}</td>'
        f'<td data-v="{r.seq}">{e(r.timestamp[:16].replace("T", " "))}</td>'
        f"<td>{e(r.model or '-')}</td><td>{e(r.eval_file or '-')}</td>"
        f"<td>{e(r.source_branch or '-')}</td><td>{e(', '.join(r.tags))}</td>"
        f'<td data-v="{r.passed}">{r.passed}/{r.total}</td>'
        f'<td data-v="{r.pass_rate if r.pass_rate is not None else -1}" '
        f'title="{e(pass_rate_text(r.pass_rate, r.pass_interval))}">{pct(r.pass_rate)}</td>'
        f"<td>{e(scores)}</td><td>{marks(r.marks)}</td>"
        f"<td><code>{e((r.source_commit or '-')[:8])}</code></td></tr>"
    )


def runs_page_body(
    rows: Sequence[str],
    *,
    facets: Facets,
    total: int,
    archives: Sequence[tuple[str, str]],
    heading: str = "Runs",
    complete: bool = False,
) -> str:
    """The runs table: the given rows, the filter bar, the compare bar and the archive links."""
    archive_links = " ".join(f'<a href="{href}">{e(label)}</a>' for href, label in archives)
    return (
        f"<h1>{e(heading)}</h1>"
        + filter_form(facets)
        + '<div class="comparebar" id="comparebar"><a id="compare" class="button" '
        'aria-disabled="true">Compare selected runs</a> <span id="compare-note">select two runs'
        "</span></div>"
        + f'<table class="data sortable runs" id="runs" data-total="{total}"'
        + (' data-all="1"' if complete else "")
        + "><thead><tr>"
        + RUN_COLUMNS
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
        + f'<p class="note" id="runs-note">{len(rows)} of {total} runs shown, newest first. '
        + (f"All runs, oldest first: {archive_links}</p>" if archive_links else "</p>")
    )


# --- trends ---------------------------------------------------------------------------------------


def trends_body(trends: Sequence[Trend], facets: Facets) -> str:
    """One chart per metric with its legend; points link to their runs."""
    parts = ["<h1>Trends</h1>", filter_form(facets)]
    if not trends:
        parts.append("<p>No runs yet.</p>")
    for trend in trends:
        legend = "".join(
            f'<li class="s{i % 8}" data-model="{e(s.model)}"><span class="swatch"></span>'
            f"{e(s.model)} ({len(s.points)} run{'' if len(s.points) == 1 else 's'}"
            + (f", {s.dropped} older not drawn" if s.dropped else "")
            + ")</li>"
            for i, s in enumerate(trend.series)
        )
        parts.append(
            f'<section class="trend" data-metric="{e(trend.metric)}" '
            f'data-points="{trend.point_count}"><h2>{e(trend.metric)}</h2>'
            + trend_chart(trend, run_href)
            + f'<ul class="legend">{legend}</ul></section>'
        )
    return "".join(parts)


# --- per-test history -----------------------------------------------------------------------------


def tests_body(histories: Sequence[TestHistory], facets: Facets, window: int) -> str:
    """Per test: sparkline of its newest outcomes, pass rate, flips; flipping tests first."""
    rows = []
    for h in histories:
        f = h.flakiness
        flag = '<span class="mark bad">flaky</span>' if f.flaky else ""
        interval = f"{f.low * 100:.0f}-{f.high * 100:.0f}%"
        rows.append(
            f"<tr{_filter_attrs(h.model, h.eval_file, None, (), h.nodeid + ' ' + h.model)}"
            f' class="{"flipping" if f.flaky else ""}">'
            f"<td><code>{e(h.nodeid)}</code></td><td>{e(h.model)}</td>"
            f"<td>{sparkline(h.outcomes, run_href)}</td>"
            f'<td data-v="{f.pass_rate}">{pct(f.pass_rate)} <small>{interval}</small></td>'
            f'<td data-v="{f.flips}">{f.flips}</td><td>{flag}</td></tr>'
        )
    return (
        "<h1>Tests</h1>"
        + filter_form(facets, fields=("model", "eval"), placeholder="test node id or model")
        + f'<p class="note">Each test over the newest runs of its model and eval (from the '
        f"newest {window} runs): a square per run, oldest first, half-shaded when its repeats "
        "disagreed. The figures are those of <code>agentv-results flaky</code>: the pass rate "
        "over every repeat with its 95% Wilson interval, the flips between consecutive runs, "
        "and flaky when it flipped or had both outcomes within one run.</p>"
        + '<table class="data sortable tests" id="tests"><thead><tr>'
        + th("test")
        + th("model")
        + '<th scope="col">history</th>'
        + th("pass rate", "num")
        + th("flips", "num")
        + th("flag")
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


# --- section pages --------------------------------------------------------------------------------


def table_html(table: Table, table_id: str) -> str:
    """A :class:`Table` as a sortable, searchable HTML table (the title is the caller's)."""
    head = "".join(th(c) for c in table.columns)
    rows = []
    for row in table.rows:
        search = " ".join(c.text for c in row).lower()
        cells = []
        for c in row:
            text = f'<a href="{e(c.href)}">{e(c.text)}</a>' if c.href else e(c.text)
            sort = f' data-v="{e(c.sort)}"' if c.sort is not None else ""
            status = f' class="status-{e(c.status)}"' if c.status else ""
            cells.append(f"<td{sort}{status}>{text}</td>")
        rows.append(f'<tr data-search="{e(search)}">' + "".join(cells) + "</tr>")
    return (
        f'<table class="data sortable" id="{e(table_id)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def section_body(table: Table) -> str:
    """A section's page: its title, introduction, a search box and the table."""
    return (
        f"<h1>{e(table.title)}</h1>"
        + (f"<p>{e(table.intro)}</p>" if table.intro else "")
        + '<form class="filters" id="filters" role="search"><label>Search '
        '<input type="search" name="q"></label><output id="shown"></output></form>'
        + table_html(table, "section")
    )

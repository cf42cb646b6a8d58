"""Markup: the views' data in, HTML text out (pure; the page skeleton is a package resource).

Every table is complete HTML, so the site reads without JavaScript; ``assets/app.js`` only sorts,
filters and selects rows it finds in the page, reading their ``data-*`` attributes. The runs
table's rows are made here once (:func:`run_rows`) and reused by the archive pages and by the
data files the script loads on demand, so there is one renderer of a run row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from functools import cache
from html import escape
from importlib.resources import files
from string import Template

from pytest_agentv.dashboard.extensions import Table
from pytest_agentv.dashboard.records import Mark, RunRecord
from pytest_agentv.dashboard.svg import sparkline, trend_chart
from pytest_agentv.dashboard.views import (
    Facets,
    RunDetail,
    TestHistory,
    TranscriptGroup,
    Trend,
)
from pytest_agentv.diff import RunDiff, TestChange
from pytest_agentv.redact_rules import MARKER_PREFIX

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


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def _marks(marks: Iterable[Mark]) -> str:
    return "".join(
        f'<span class="mark {"ok" if m.ok else "bad" if m.ok is False else "info"}" '
        f'data-kind="{e(m.kind)}">{e(m.label)}</span>'
        for m in marks
    )


def _filter_attrs(
    model: str | None, eval_file: str | None, branch: str | None, tags: Iterable[str], search: str
) -> str:
    tag_text = "|" + "|".join(tags) + "|"
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


def _th(label: str, kind: str = "text") -> str:
    return (
        f'<th scope="col" data-kind="{kind}"><button type="button" class="sort">{e(label)}'
        "</button></th>"
    )


# --- runs -----------------------------------------------------------------------------------------

RUN_COLUMNS = (
    '<th scope="col"><span class="sr">select</span></th>'
    + _th("run")
    + _th("time")
    + _th("model")
    + _th("eval")
    + _th("branch")
    + _th("tags")
    + _th("passed", "num")
    + _th("pass rate", "num")
    + _th("scores")
    + _th("verdicts")
    + _th("source")
)


def run_row(r: RunRecord) -> str:
    """One row of the runs table (the same markup on every page that lists runs)."""
    search = " ".join(
        filter(None, (r.run_id, r.model, r.eval_file, r.source_branch, r.source_commit, *r.tags))
    )
    scores = " · ".join(f"{name} {_num(value)}" for name, value in r.scores.items())
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
        f'<td data-v="{r.pass_rate if r.pass_rate is not None else -1}">{_pct(r.pass_rate)}</td>'
        f"<td>{e(scores)}</td><td>{_marks(r.marks)}</td>"
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
        flag = '<span class="mark bad">flips</span>' if h.flipping else ""
        rows.append(
            f"<tr{_filter_attrs(h.model, h.eval_file, None, (), h.nodeid + ' ' + h.model)}"
            f' class="{"flipping" if h.flipping else ""}">'
            f"<td><code>{e(h.nodeid)}</code></td><td>{e(h.model)}</td>"
            f"<td>{sparkline(h.outcomes, run_href)}</td>"
            f'<td data-v="{h.pass_rate if h.pass_rate is not None else -1}">'
            f"{_pct(h.pass_rate)}</td>"
            f'<td data-v="{h.flips}">{h.flips}</td><td>{flag}</td></tr>'
        )
    return (
        "<h1>Tests</h1>"
        + filter_form(facets, fields=("model", "eval"), placeholder="test node id or model")
        + f'<p class="note">Each test over the newest runs of its model and eval (from the '
        f"newest {window} runs): a square per run, oldest first. A test flips when it went from "
        "passing to failing and back (at least two changes).</p>"
        + '<table class="data sortable tests" id="tests"><thead><tr>'
        + _th("test")
        + _th("model")
        + '<th scope="col">history</th>'
        + _th("pass rate", "num")
        + _th("flips", "num")
        + _th("flag")
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


# --- run page -------------------------------------------------------------------------------------


def _anchor(nodeid: str) -> str:
    # stable across processes (unlike hash()), so an unchanged run page stays byte-identical
    return "t-" + hashlib.sha256(nodeid.encode()).hexdigest()[:10]


def _redactions(text: str) -> str:
    # make redaction markers stand out: escaped text with each marker wrapped in <mark>
    out, rest = [], text
    while (start := rest.find(MARKER_PREFIX)) >= 0:
        end = rest.find("]", start)
        if end < 0:
            break
        out += [e(rest[:start]), f'<mark class="redacted">{e(rest[start : end + 1])}</mark>']
        rest = rest[end + 1 :]
    return "".join(out) + e(rest)


def transcript_html(groups: Sequence[TranscriptGroup]) -> str:
    """The transcript viewer: tests in order, messages by role, tool traffic folded."""
    if not groups:
        return "<p>No transcript messages.</p>"
    parts = []
    for group in groups:
        parts.append(
            f'<section class="transcript" data-test="{e(group.test)}" '
            f'id="{_anchor(group.test)}">'
            f"<h3><code>{e(group.test)}</code></h3>"
        )
        for m in group.messages:
            extra = "".join(
                f"<dt>{e(k)}</dt><dd><code>{_redactions(v)}</code></dd>" for k, v in m.extra
            )
            note = (
                f' <span class="mark info">{m.redactions} redacted</span>' if m.redactions else ""
            )
            kind = " tool" if m.tool else ""
            parts.append(
                f'<details class="msg role-{e(m.role)}{kind}"{"" if m.collapsed else " open"}>'
                f'<summary><span class="role">{e(m.role)}</span> #{m.seq}{note}</summary>'
                f'<pre class="content">{_redactions(m.text)}</pre>'
                + (f'<dl class="extra">{extra}</dl>' if extra else "")
                + "</details>"
            )
        parts.append("</section>")
    return "".join(parts)


def run_body(detail: RunDetail, transcript: Sequence[TranscriptGroup]) -> str:
    """The run page: header, tests, metrics, usage, metadata, transcript."""
    r = detail.record
    root = "../../"
    rows = "".join(f"<tr><th scope=row>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in detail.fields)
    if detail.source_url:
        rows += (
            f'<tr><th scope=row>source commit</th><td><a href="{e(detail.source_url)}">'
            f"{e(detail.source_url)}</a></td></tr>"
        )
    if r.marks:
        rows += f"<tr><th scope=row>verdicts</th><td>{_marks(r.marks)}</td></tr>"
    links = [f'<a href="{root}index.html">all runs</a>']
    if r.prev:
        links.append(
            f'<a id="compare-prev" href="{compare_href(r.prev, r.run_id, root)}">'
            f"compare with the previous run of this model and eval</a>"
        )
    tests = []
    for t in detail.tests:
        scores = " ".join(
            f'<span class="score{" bad" if s.failed else ""}" title="{e(s.reason or "")}">'
            f"{e(s.metric)} {_num(s.value)}"
            + (f" / {_num(s.threshold)}" if s.threshold is not None else "")
            + "</span>"
            for s in t.scores
        )
        failure = (
            (
                f'<details class="failure"><summary>failure</summary><pre>{e(t.failure)}</pre>'
                "</details>"
            )
            if t.failure
            else (f"<small>{e(t.reason)}</small>" if t.reason else "")
        )
        jump = f'<a href="#{_anchor(t.nodeid)}">{t.messages} messages</a>' if t.messages else ""
        tests.append(
            f'<tr class="o-{e(t.outcome)}" data-search="{e(t.nodeid.lower())}">'
            f"<td><code>{e(t.nodeid)}</code>{failure}</td>"
            f'<td class="outcome">{e(t.outcome)}</td>'
            f'<td data-v="{t.duration}">{t.duration:.2f}s</td><td>{scores}</td>'
            f'<td data-v="{t.usage[0] + t.usage[1]}">{t.usage[0]} / {t.usage[1]}</td>'
            f"<td>{jump}</td></tr>"
        )
    metrics = "".join(
        f"<tr><td>{e(n)}</td><td>{_num(mean)}</td><td>{_num(lo)}</td><td>{_num(hi)}</td>"
        f"<td>{count}</td></tr>"
        for n, mean, lo, hi, count in detail.metrics
    )
    meta = "".join(
        f"<tr><th scope=row>{e(k)}</th><td><code>{e(v)}</code></td></tr>"
        for k, v in detail.metadata
    )
    tokens_in, tokens_out, cost = detail.usage
    return (
        f"<h1>Run <code>{r.run_id}</code></h1><p>{' · '.join(links)}</p>"
        f'<table class="fields">{rows}</table>'
        "<h2>Tests</h2>"
        '<table class="data sortable" id="run-tests"><thead><tr>'
        + _th("test")
        + _th("outcome")
        + _th("duration", "num")
        + _th("scores")
        + _th("tokens in / out", "num")
        + '<th scope="col">transcript</th></tr></thead><tbody>'
        + "".join(tests)
        + "</tbody></table>"
        + (
            f'<h2>Metrics</h2><table class="data"><thead><tr><th scope=col>metric</th>'
            f"<th scope=col>mean</th><th scope=col>min</th><th scope=col>max</th>"
            f"<th scope=col>n</th></tr></thead><tbody>{metrics}</tbody></table>"
            if metrics
            else ""
        )
        + f"<h2>Usage</h2><p>{tokens_in} input tokens, {tokens_out} output tokens, "
        f"${cost:.4f}</p>"
        + (f'<h2>Metadata</h2><table class="fields">{meta}</table>' if meta else "")
        + (
            f"<p>pytest arguments: <code>{e(' '.join(detail.args))}</code></p>"
            if detail.args
            else ""
        )
        + '<h2 id="transcript">Transcript</h2>'
        + transcript_html(transcript)
    )


# --- compare --------------------------------------------------------------------------------------


def _change_row(t: TestChange) -> str:
    scores = " ".join(
        f'<span class="score {s.status}">{e(s.metric)} {_num(s.before)} → {_num(s.after)}</span>'
        for s in t.scores
        if s.status != "unchanged" or s.delta
    )
    why = "; ".join(t.regressions + t.improvements)
    return (
        f'<tr class="st-{t.status}" data-status="{t.status}" '
        f'data-search="{e(t.nodeid.lower())}"><td class="status">{t.status}</td>'
        f"<td><code>{e(t.nodeid)}</code></td><td>{e(t.before or '-')}</td>"
        f"<td>{e(t.after or '-')}</td><td>{scores}</td><td>{e(why)}</td></tr>"
    )


def compare_body(diff: RunDiff, base: RunRecord, new: RunRecord) -> str:
    """Two runs test by test, with the same regressions as ``agentv-results diff``."""
    root = "../"
    verdict = (
        f'<p class="verdict bad" id="verdict">{len(diff.regressions)} regressed</p>'
        if diff.regressed
        else '<p class="verdict ok" id="verdict">no regressions</p>'
    )
    metrics = "".join(
        f"<tr><td>{e(m.metric)}</td><td>{_num(m.before)}</td><td>{_num(m.after)}</td>"
        f"<td>{'' if m.delta is None else f'{m.delta:+.3g}'}</td></tr>"
        for m in diff.metrics
    )
    cb, ca = diff.counts_before, diff.counts_after
    differing = sum(t.status != "unchanged" for t in diff.tests)
    return (
        f'<h1>Compare <a href="{run_href(base.run_id, root)}"><code>{base.run_id[:8]}</code>'
        f'</a> → <a href="{run_href(new.run_id, root)}"><code>{new.run_id[:8]}</code></a></h1>'
        + verdict
        + f"<p>base {e(base.model or '-')} · {e(base.timestamp[:16])}, new "
        f"{e(new.model or '-')} · {e(new.timestamp[:16])}. Same rules as "
        f"<code>agentv-results diff {base.run_id[:8]} {new.run_id[:8]}</code> "
        f"(tolerance {diff.tolerance:g}).</p>"
        '<table class="data"><thead><tr><th scope=col></th><th scope=col>base</th>'
        "<th scope=col>new</th><th scope=col>Δ</th></tr></thead><tbody>"
        f"<tr><td>passed</td><td>{cb.passed}/{cb.total}</td><td>{ca.passed}/{ca.total}</td>"
        f"<td>{ca.passed - cb.passed:+d}</td></tr>{metrics}</tbody></table>"
        '<form class="filters" id="compare-options"><label><input type="checkbox" name="only" '
        f'value="differs" id="only-differs"> show only what differs ({differing} of '
        f"{len(diff.tests)} tests)</label></form>"
        '<table class="data sortable compare" id="compare-tests"><thead><tr>'
        + _th("status")
        + _th("test")
        + _th("base")
        + _th("new")
        + _th("scores")
        + _th("why")
        + "</tr></thead><tbody>"
        + "".join(_change_row(t) for t in diff.tests)
        + "</tbody></table>"
    )


# --- section pages --------------------------------------------------------------------------------


def section_body(table: Table) -> str:
    """A section's table, sortable, with its filters as a search box."""
    head = "".join(_th(c) for c in table.columns)
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
        f"<h1>{e(table.title)}</h1>"
        + (f"<p>{e(table.intro)}</p>" if table.intro else "")
        + '<form class="filters" id="filters" role="search"><label>Search '
        '<input type="search" name="q"></label><output id="shown"></output></form>'
        + '<table class="data sortable" id="section"><thead><tr>'
        + head
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )

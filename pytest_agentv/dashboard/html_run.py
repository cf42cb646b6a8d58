"""Markup of one run: the run page with its transcript viewer, and the compare page.

Pure like :mod:`.html`, whose helpers it shares; split from it to keep each module readable.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from pytest_agentv.dashboard.extensions import Table
from pytest_agentv.dashboard.html import compare_href, e, marks, num, run_href, table_html, th
from pytest_agentv.dashboard.records import RunRecord
from pytest_agentv.dashboard.views import RunDetail, ScoreCell, TranscriptGroup
from pytest_agentv.diff import RunDiff, TestChange
from pytest_agentv.models import GateRecord
from pytest_agentv.redact_rules import MARKER_PREFIX

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


def _gate_value(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    value = round(value, 12) + 0.0  # float noise shown as the 0 it is, as the CLI does
    return f"{value:+.4g}" if signed else f"{value:.4g}"


def gate_html(gate: GateRecord | None) -> str:
    """The run's gates as its session evaluated them: one row per gate, then the verdict."""
    if gate is None:
        return ""
    rows = []
    for row in gate.rows:
        interval = (
            f" [{row.low:+.3g}, {row.high:+.3g}]"
            if row.low is not None and row.high is not None
            else ""
        )
        rows.append(
            f'<tr data-verdict="{e(row.verdict)}"><td>{e(row.gate)}</td><td>{e(row.metric)}</td>'
            f"<td>{_gate_value(row.this_run)}</td><td>{_gate_value(row.baseline)}</td>"
            f"<td>{_gate_value(row.difference, signed=True)}{interval}</td>"
            f"<td>{row.limit:g}</td>"
            f'<td class="status-{e(row.verdict)}">{e(row.verdict)}</td><td>{e(row.note)}</td></tr>'
        )
    against = f" against baseline {run_link(gate.baseline)}" if gate.baseline else ""
    error = f'<p class="verdict bad">gate error: {e(gate.error)}</p>' if gate.error else ""
    css = {"pass": "ok", "fail": "bad"}.get(gate.verdict, "info")
    return (
        f'<h2 id="gate">Gate</h2><p class="verdict {css}" id="gate-verdict">'
        f"gate verdict{against}: {e(gate.verdict)}</p>{error}"
        + (
            '<table class="data" id="gate-rows"><thead><tr>'
            + "".join(
                f"<th scope=col>{label}</th>"
                for label in (
                    "gate",
                    "metric",
                    "this run",
                    "baseline",
                    "difference",
                    "limit",
                    "verdict",
                    "note",
                )
            )
            + f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            if rows
            else ""
        )
    )


def run_link(run_id: str, root: str = "../../") -> str:
    """A run id linked to its page (which exists when the run is on the site)."""
    return f'<a href="{run_href(run_id, root)}"><code>{e(run_id[:12])}</code></a>'


def _score_html(score: ScoreCell) -> str:
    """One score of a test: its number (and threshold) and its label, whichever it has."""
    text = e(score.metric)
    if score.value is not None:
        text += f" {num(score.value)}"
        if score.threshold is not None:
            text += f" / {num(score.threshold)}"
    if score.label is not None:
        text += f' <span class="label">{e(score.label)}</span>'
    return (
        f'<span class="score{" bad" if score.failed else ""}" title="{e(score.reason or "")}">'
        f"{text}</span>"
    )


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
        rows += f"<tr><th scope=row>verdicts</th><td>{marks(r.marks)}</td></tr>"
    links = [f'<a href="{root}index.html">all runs</a>']
    if r.prev:
        links.append(
            f'<a id="compare-prev" href="{compare_href(r.prev, r.run_id, root)}">'
            f"compare with the previous run of this model and eval</a>"
        )
    tests = []
    for t in detail.tests:
        scores = " ".join(_score_html(s) for s in t.scores)
        case = f'<small class="case">case <code>{e(t.case_id)}</code></small>' if t.case_id else ""
        search = " ".join([t.nodeid, t.case_id or "", *(s.label or "" for s in t.scores)])
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
            f'<tr class="o-{e(t.outcome)}" data-search="{e(search.lower().strip())}"'
            + (f' data-case="{e(t.case_id)}"' if t.case_id else "")
            + f"><td><code>{e(t.nodeid)}</code>{case}{failure}</td>"
            f'<td class="outcome">{e(t.outcome)}</td>'
            f'<td data-v="{t.duration}">{t.duration:.2f}s</td><td>{scores}</td>'
            f'<td data-v="{t.usage[0] + t.usage[1]}">{t.usage[0]} / {t.usage[1]}</td>'
            f"<td>{jump}</td></tr>"
        )
    metrics = "".join(
        f"<tr><td>{e(n)}</td><td>{num(mean)}</td><td>{num(lo)}</td><td>{num(hi)}</td>"
        f"<td>{count}</td></tr>"
        for n, mean, lo, hi, count in detail.metrics
    )
    labels = "".join(
        f"<tr><td>{e(metric)}</td><td>{e(label)}</td><td>{count}</td></tr>"
        for metric, tally in detail.labels
        for label, count in tally
    )
    meta = "".join(
        f"<tr><th scope=row>{e(k)}</th><td><code>{e(v)}</code></td></tr>"
        for k, v in detail.metadata
    )
    tokens_in, tokens_out, cost = detail.usage
    return (
        f"<h1>Run <code>{r.run_id}</code></h1><p>{' · '.join(links)}</p>"
        f'<table class="fields">{rows}</table>' + gate_html(detail.gate) + "<h2>Tests</h2>"
        '<table class="data sortable" id="run-tests"><thead><tr>'
        + th("test")
        + th("outcome")
        + th("duration", "num")
        + th("scores")
        + th("tokens in / out", "num")
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
        + (
            '<h2>Labels</h2><table class="data" id="run-labels"><thead><tr>'
            "<th scope=col>metric</th><th scope=col>label</th><th scope=col>tests</th>"
            f"</tr></thead><tbody>{labels}</tbody></table>"
            if labels
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
        f'<span class="score {s.status}">{e(s.metric)} {num(s.before)} → {num(s.after)}</span>'
        for s in t.scores
        if s.status != "unchanged" or s.delta
    )
    why = "; ".join(t.regressions + t.improvements)
    case = f'<small class="case">case <code>{e(t.case_id)}</code></small>' if t.case_id else ""
    search = f"{t.nodeid} {t.case_id}" if t.case_id else t.nodeid
    return (
        f'<tr class="st-{t.status}" data-status="{t.status}" '
        f'data-search="{e(search.lower())}"><td class="status">{t.status}</td>'
        f"<td><code>{e(t.nodeid)}</code>{case}</td><td>{e(t.before or '-')}</td>"
        f"<td>{e(t.after or '-')}</td><td>{scores}</td><td>{e(why)}</td></tr>"
    )


def compare_body(
    diff: RunDiff, base: RunRecord, new: RunRecord, panels: Sequence[Table] = ()
) -> str:
    """Two runs test by test, with the same regressions as ``agentv-results diff``; extension
    panels (e.g. a paired-statistics verdict) go under the totals."""
    root = "../"
    verdict = (
        f'<p class="verdict bad" id="verdict">{len(diff.regressions)} regressed</p>'
        if diff.regressed
        else '<p class="verdict ok" id="verdict">no regressions</p>'
    )
    metrics = "".join(
        f"<tr><td>{e(m.metric)}</td><td>{num(m.before)}</td><td>{num(m.after)}</td>"
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
        + "".join(
            f'<section class="panel"><h2>{e(t.title)}</h2>'
            + (f"<p>{e(t.intro)}</p>" if t.intro else "")
            + table_html(t, f"panel-{i}")
            + "</section>"
            for i, t in enumerate(panels)
        )
        + '<form class="filters" id="compare-options"><label><input type="checkbox" name="only" '
        f'value="differs" id="only-differs"> show only what differs ({differing} of '
        f"{len(diff.tests)} tests)</label></form>"
        '<table class="data sortable compare" id="compare-tests"><thead><tr>'
        + th("status")
        + th("test")
        + th("base")
        + th("new")
        + th("scores")
        + th("why")
        + "</tr></thead><tbody>"
        + "".join(_change_row(t) for t in diff.tests)
        + "</tbody></table>"
    )

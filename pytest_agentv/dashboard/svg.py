"""Inline SVG charts, generated here so the site needs no chart library and no network.

Colours are CSS classes (``s0``..``s7`` for series, ``o-<outcome>`` for outcomes) so light and
dark themes style them; every point is a link with a ``<title>`` tooltip and ``data-*``
attributes that the page's filters read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from html import escape

from pytest_agentv.dashboard.views import PASS_RATE, Trend

WIDTH, HEIGHT = 760, 220
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 48, 12, 10, 26
SERIES_CLASSES = 8


def _attr(value: object) -> str:
    return escape(str(value), quote=True)


def tags_attr(tags: Iterable[str]) -> str:
    """Tags as ``data-tags`` holds them for the page's tag filter: ``|nightly|pr|``."""
    return "|" + "|".join(tags) + "|"


def _fmt(value: float) -> str:
    return f"{value:.3g}"


def trend_chart(trend: Trend, href: Callable[[str], str]) -> str:
    """One metric's line chart: a polyline and linked points per model, x in branch order."""
    seqs = sorted({p.seq for s in trend.series for p in s.points})
    if not seqs:
        return ""
    xs = {seq: i for i, seq in enumerate(seqs)}
    values = [p.value for s in trend.series for p in s.points]
    low, high = (0.0, 1.0) if trend.metric == PASS_RATE else (min(values), max(values))
    if high - low < 1e-12:
        low, high = low - 0.5, high + 0.5
    span_x = max(1, len(seqs) - 1)
    inner_w = WIDTH - PAD_LEFT - PAD_RIGHT
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM

    def x(seq: int) -> float:
        return PAD_LEFT + (xs[seq] / span_x if len(seqs) > 1 else 0.5) * inner_w

    def y(value: float) -> float:
        return PAD_TOP + (1 - (value - low) / (high - low)) * inner_h

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{_attr(trend.metric)} over time, one line per model" '
        f'data-metric="{_attr(trend.metric)}">',
    ]
    for value in (low, (low + high) / 2, high):
        parts.append(
            f'<line class="grid" x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" '
            f'y1="{y(value):.1f}" y2="{y(value):.1f}"/>'
        )
        parts.append(
            f'<text class="axis" x="{PAD_LEFT - 6}" y="{y(value) + 4:.1f}" '
            f'text-anchor="end">{_fmt(value)}</text>'
        )
    first = next(p for s in trend.series for p in s.points if p.seq == seqs[0])
    last = next(p for s in trend.series for p in s.points if p.seq == seqs[-1])
    parts.append(
        f'<text class="axis" x="{PAD_LEFT}" y="{HEIGHT - 6}">{_attr(first.timestamp[:10])}</text>'
    )
    parts.append(
        f'<text class="axis" x="{WIDTH - PAD_RIGHT}" y="{HEIGHT - 6}" '
        f'text-anchor="end">{_attr(last.timestamp[:10])}</text>'
    )
    for index, series in enumerate(trend.series):
        css = f"s{index % SERIES_CLASSES}"
        coords = " ".join(f"{x(p.seq):.1f},{y(p.value):.1f}" for p in series.points)
        parts.append(
            f'<polyline class="line {css}" data-model="{_attr(series.model)}" points="{coords}"/>'
        )
        for p in series.points:
            failed = any(m.ok is False for m in p.marks)
            passed = bool(p.marks) and all(m.ok for m in p.marks)
            marked = " marked" if p.marks else ""
            title = f"{series.model} · {p.run_id[:8]} · {p.timestamp[:16]} · {_fmt(p.value)}"
            title += "".join(f" · {m.label}" for m in p.marks)
            gate = next((m.label for m in p.marks if m.kind == "gate"), None)
            verdict = f' data-gate="{_attr(gate)}"' if gate else ""
            parts.append(
                f'<a href="{_attr(href(p.run_id))}" class="pt-link">'
                f'<circle class="pt {css}{marked}{" bad" if failed else " ok" if passed else ""}" '
                f'cx="{x(p.seq):.1f}" cy="{y(p.value):.1f}" r="3.5" '
                f'data-run="{p.run_id}" data-model="{_attr(series.model)}" '
                f'data-eval="{_attr(p.eval_file or "-")}" data-branch="{_attr(p.branch or "-")}" '
                f'data-tags="{_attr(tags_attr(p.tags))}"{verdict}>'
                f"<title>{_attr(title)}</title></circle></a>"
            )
    parts.append("</svg>")
    return "".join(parts)


def sparkline(outcomes: Sequence[tuple[str, str]], href: Callable[[str], str]) -> str:
    """One square per run, coloured by outcome, oldest first; each links to its run."""
    size, gap = 8, 2
    width = max(1, len(outcomes) * (size + gap) - gap)
    parts = [
        f'<svg class="spark" width="{width}" height="{size + 4}" '
        f'viewBox="0 0 {width} {size + 4}" role="img" '
        f'aria-label="{len(outcomes)} outcomes, oldest first">'
    ]
    for i, (run_id, outcome) in enumerate(outcomes):
        parts.append(
            f'<a href="{_attr(href(run_id))}"><rect class="o-{_attr(outcome)}" '
            f'x="{i * (size + gap)}" y="2" width="{size}" height="{size}" rx="1">'
            f"<title>{run_id[:8]}: {_attr(outcome)}</title></rect></a>"
        )
    parts.append("</svg>")
    return "".join(parts)

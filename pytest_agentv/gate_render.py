"""The gate table and the statistics section of ``diff --stats`` (pure: reports in, text out)."""

from __future__ import annotations

from pytest_agentv.gates import GateReport, GateRow


def _clean(value: float) -> float:
    # float noise (a half-width of 3e-17 for identical differences) is shown as the 0 it is
    return round(value, 12) + 0.0


def _num(value: float | None) -> str:
    return "-" if value is None else f"{_clean(value):.4g}"


def _rule(row: GateRow) -> str:
    if row.gate == "min-score":
        return f"{'>=' if row.greater_is_better else '<='} {row.limit:g}"
    if row.gate == "min-pass-rate":
        return f">= {row.limit:g}"
    return f"{'drop' if row.greater_is_better else 'rise'} <= {row.limit:g}"


def _difference_cell(row: GateRow) -> str:
    diff = row.difference
    if diff is None:
        return "-"
    if diff.half_width is None:
        return f"{_clean(diff.mean):+.4g}"
    return f"{_clean(diff.mean):+.4g} ± {_clean(diff.half_width):.3g}"


def render_gate_table(report: GateReport) -> list[str]:
    """The gate table of the terminal summary and of ``agentv-results gate``, and the verdict."""
    header = ("GATE", "METRIC", "THIS RUN", "BASELINE", "DIFFERENCE", "LIMIT", "VERDICT")
    cells = [
        (
            row.gate,
            row.metric,
            _num(row.this_run),
            _num(row.baseline),
            _difference_cell(row),
            _rule(row),
            row.verdict.upper() + (f" ({row.note})" if row.note else ""),
        )
        for row in report.rows
    ]
    widths = [max(len(r[i]) for r in [header, *cells]) for i in range(len(header) - 1)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(line[:-1], widths, strict=True))
        + "  "
        + line[-1]
        for line in [header, *cells]
    ]
    against = f" against baseline {report.baseline_id}" if report.baseline_id else ""
    if report.error is not None:
        lines.append(f"gate error: {report.error}")
    lines.append(f"gate verdict{against}: {report.verdict.upper()}")
    return lines


def change_word(row: GateRow) -> str:
    """What a comparison row says in a diff: worse, better, no worse, or unclear."""
    if row.verdict == "fail":
        return "WORSE" if row.difference is not None else "NOT COMPARED"
    if row.verdict == "inconclusive":
        return "UNCLEAR"
    diff = row.difference
    if diff is not None and diff.low is not None and diff.high is not None:
        better = diff.low > 0 if row.greater_is_better else diff.high < 0
        if better:
            return "BETTER"
    return "NO WORSE"


def render_stats(report: GateReport) -> str:
    """The statistics section of ``diff --stats``."""
    header = ("METRIC", "BASE", "NEW", "DIFFERENCE", "95% INTERVAL", "TESTS", "CHANGE")
    cells = []
    for row in report.rows:
        diff = row.difference
        interval = "-"
        if diff is not None and diff.low is not None and diff.high is not None:
            interval = f"[{diff.low:+.3g}, {diff.high:+.3g}]"
        cells.append(
            (
                row.metric,
                _num(row.baseline),
                _num(row.this_run),
                "-" if diff is None else f"{diff.mean:+.4g}",
                interval,
                str(row.tests),
                change_word(row) + (f" ({row.note})" if row.note else ""),
            )
        )
    widths = [max(len(line[i]) for line in [header, *cells]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in [header, *cells]
    ]
    clustered = {row.difference.clusters for row in report.rows if row.difference is not None}
    title = "Statistics: tests paired"
    if clustered:
        counts = "/".join(map(str, sorted(clustered)))
        title += f", standard errors clustered over {counts} cluster(s), 95 % intervals"
    return "\n".join([title, *lines]) + "\n"

"""Gate verdicts and paired statistics on the site, computed where the CLI computes them.

The run's verdict is the one its session recorded (``metadata.gate``, docs/gates.md): the site
never re-judges a run. The compare page's statistics are :func:`pytest_agentv.gates.compare_runs`,
the computation of ``agentv-results diff --stats``, so the two cannot disagree.
"""

from __future__ import annotations

from pytest_agentv.dashboard.extensions import Cell, Table
from pytest_agentv.dashboard.records import Mark
from pytest_agentv.gate_render import change_word
from pytest_agentv.gates import compare_runs
from pytest_agentv.models import GateVerdict, RunMetadata

GATE_MARK = "gate"
_OK: dict[GateVerdict, bool | None] = {"pass": True, "fail": False, "inconclusive": None}


def gate_marks(metadata: RunMetadata) -> list[Mark]:
    """The run's recorded gate verdict as a mark (none for a run its session did not gate)."""
    if metadata.gate is None:
        return []
    verdict = metadata.gate.verdict
    return [Mark(GATE_MARK, f"gate {verdict}", _OK[verdict])]


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{round(value, 12) + 0.0:+.4g}"


def _plain(value: float | None) -> str:
    return "-" if value is None else f"{round(value, 12) + 0.0:.4g}"


def paired_statistics(base: RunMetadata, new: RunMetadata) -> Table | None:
    """The compare page's statistics panel: ``diff --stats`` of the pair, row for row."""
    report = compare_runs(base, new)
    if not report.rows:
        return None
    rows = []
    for row in report.rows:
        diff = row.difference
        difference = None if diff is None else diff.mean
        interval = "-"
        if diff is not None and diff.low is not None and diff.high is not None:
            interval = f"[{diff.low:+.3g}, {diff.high:+.3g}]"
        change = change_word(row)
        rows.append(
            (
                Cell(row.metric),
                Cell(_plain(row.baseline), sort=row.baseline),
                Cell(_plain(row.this_run), sort=row.this_run),
                Cell(_signed(difference), sort=difference),
                Cell(interval),
                Cell(str(row.tests), sort=row.tests),
                Cell(change, status=row.verdict),
                Cell(row.note),
            )
        )
    return Table(
        f"Paired statistics: {report.verdict}",
        ("metric", "base", "new", "difference", "95% interval", "tests", "change", "note"),
        tuple(rows),
        intro=(
            "Tests paired, standard errors clustered by module: the figures of "
            f"agentv-results diff {base.run_id[:8]} {new.run_id[:8]} --stats. The verdict is "
            "fail when a difference is worse for certain, inconclusive when these tests cannot "
            "tell (docs/gates.md)."
        ),
    )

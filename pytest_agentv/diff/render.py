"""The text and markdown reports of a :class:`~pytest_agentv.diff.compare.RunDiff` (pure: a
diff in, text out): the terminal report of ``agentv-results diff`` and its ``--markdown`` form
for a pull-request comment, cut to fit GitHub's comment limit.
"""

from __future__ import annotations

from pytest_agentv.diff.compare import RunDiff, TestChange, format_value
from pytest_agentv.models import Counts


def _signed(value: float | None) -> str:
    return "" if value is None else f"{value:+.4g}"


def _score_cells(test: TestChange) -> str:
    cells = []
    for s in test.scores:
        if s.status == "added":
            cells.append(f"{s.metric} new {format_value(s.after)}")
        elif s.status == "removed":
            cells.append(f"{s.metric} gone (was {format_value(s.before)})")
        elif s.status == "changed" and s.delta is None:
            cells.append(s.why)
        elif s.delta:
            cells.append(
                f"{s.metric} {format_value(s.before)}->{format_value(s.after)} ({_signed(s.delta)})"
            )
    return ", ".join(cells)


def _counts_line(counts: Counts) -> str:
    return (
        f"{counts.passed}/{counts.total} passed, {counts.failed} failed, "
        f"{counts.errors} errors, {counts.skipped} skipped"
    )


def render_text(diff: RunDiff) -> str:
    """The terminal report."""
    lines = [f"base {diff.before_id}  ->  new {diff.after_id}", ""]
    lines += [f"NOTE: {note}" for note in diff.caveats]
    if diff.caveats:
        lines.append("")
    for name, old, new in _facts_rows(diff):
        if old != new or name in ("model", "eval"):
            lines.append(f"{name}: base {old}, new {new}")
    lines.append(f"tests    base: {_counts_line(diff.counts_before)}")
    lines.append(f"         new:  {_counts_line(diff.counts_after)}")
    for m in diff.metrics:
        lines.append(
            f"metric   {m.metric}: mean {format_value(m.before)} -> {format_value(m.after)} "
            f"{_signed(m.delta)}".rstrip()
        )
    sections: list[tuple[str, list[TestChange], str]] = [
        ("Regressions", diff.regressions, "regressions"),
        ("Improvements", diff.improvements, "improvements"),
    ]
    for title, tests, attr in sections:
        lines += ["", f"{title} ({len(tests)})"]
        for test in tests:
            lines.append(f"  {test.nodeid}: {'; '.join(getattr(test, attr))}")
    changed = [t for t in diff.tests if t.status == "changed"]
    if changed:
        lines += ["", f"Other changes ({len(changed)})"]
        for test in changed:
            detail = _score_cells(test)
            outcome = f"{test.before} -> {test.after}" if test.before != test.after else test.after
            lines.append(f"  {test.nodeid}: {outcome}" + (f"; {detail}" if detail else ""))
    for title, tests in (("Only in new run", diff.added), ("Only in base run", diff.removed)):
        if tests:
            lines += ["", f"{title} ({len(tests)})"]
            lines += [f"  {t.nodeid}: {t.after or t.before}" for t in tests]
    lines += ["", "Tests"]
    width = max((len(t.nodeid) for t in diff.tests), default=4)
    lines.append(f"  {'STATUS':<10} {'TEST':<{width}}  {'OUTCOME':<20} SCORES")
    for test in diff.tests:
        outcome = f"{test.before or '-'} -> {test.after or '-'}"
        lines.append(
            f"  {test.status:<10} {test.nodeid:<{width}}  {outcome:<20} "
            f"{_score_cells(test)}".rstrip()
        )
    lines += ["", "regressed" if diff.regressed else "no regressions"]
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("`", "'")


#: a pull-request comment holds at most this many characters
MARKDOWN_LIMIT = 65_536


def _facts_rows(diff: RunDiff) -> list[tuple[str, str, str]]:
    before, after = diff.before_run, diff.after_run
    if before is None or after is None:
        return []
    rows = [
        ("model", before.model or "-", after.model or "-"),
        ("eval", before.eval_file or "-", after.eval_file or "-"),
        ("source commit", (before.source_commit or "-")[:12], (after.source_commit or "-")[:12]),
    ]
    for name in sorted(before.params.keys() | after.params.keys()):
        old, new = before.params.get(name, "-"), after.params.get(name, "-")
        rows.append((f"param {name}", str(old), str(new)))
    return rows


def render_markdown(diff: RunDiff, limit: int = MARKDOWN_LIMIT) -> str:
    """A report for a pull-request comment, at most ``limit`` characters: long lists end in
    ``… N more``; the header, the tables and the verdict are always kept."""
    verdict = f"**{len(diff.regressions)} regressed**" if diff.regressed else "**no regressions**"
    head = [
        f"### agentv: `{diff.after_id}` vs base `{diff.before_id}` — {verdict}",
        "",
    ]
    head += [f"> ⚠ {_md(note)}" for note in diff.caveats]
    if diff.caveats:
        head.append("")
    head += [
        "| | base | new |",
        "|---|---|---|",
        *(f"| {_md(a)} | `{_md(b)}` | `{_md(c)}` |" for a, b, c in _facts_rows(diff)),
        f"| passed | {diff.counts_before.passed}/{diff.counts_before.total} "
        f"| {diff.counts_after.passed}/{diff.counts_after.total} |",
        f"| failed + errors | {diff.counts_before.failed + diff.counts_before.errors} "
        f"| {diff.counts_after.failed + diff.counts_after.errors} |",
    ]
    for m in diff.metrics:
        old, new = format_value(m.before), format_value(m.after)
        head.append(f"| {_md(m.metric)} (mean) | {old} | {new} {_signed(m.delta)} |")
    tail = [f"_Score tolerance: {diff.tolerance:g}_"] if diff.tolerance else []
    sections: list[tuple[str, list[str]]] = []
    for title, tests, attr in (
        ("Regressions", diff.regressions, "regressions"),
        ("Improvements", diff.improvements, "improvements"),
    ):
        if tests:
            sections.append((f"#### {title} ({len(tests)})", [_md_item(t, attr) for t in tests]))
    for title, tests in (("Only in new run", diff.added), ("Only in base run", diff.removed)):
        if tests:
            items = [f"- `{_md(t.nodeid)}`: {t.after or t.before}" for t in tests]
            sections.append((f"#### {title} ({len(tests)})", items))
    return _fit(head, sections, tail, limit)


def _md_item(test: TestChange, attr: str) -> str:
    item = f"- `{_md(test.nodeid)}`: {_md('; '.join(getattr(test, attr)))}"
    if attr == "regressions" and test.failure:
        first = test.failure.strip().splitlines()[0][:300] if test.failure.strip() else ""
        item += f"<br>`{_md(first)}`"
    return item


def _fit(
    head: list[str], sections: list[tuple[str, list[str]]], tail: list[str], limit: int
) -> str:
    """Join the report, cutting section items from the end until it fits in ``limit``."""

    def join(kept: list[list[str]]) -> str:
        lines = list(head)
        for (title, items), chosen in zip(sections, kept, strict=True):
            lines += ["", title, "", *chosen]
            if len(chosen) < len(items):
                lines.append(
                    f"- … {len(items) - len(chosen)} more (`agentv-results diff --json` has all)"
                )
        if tail:
            lines += ["", *tail]
        return "\n".join(lines) + "\n"

    kept = [list(items) for _title, items in sections]
    text = join(kept)
    while len(text) > limit and any(kept):
        # drop from the longest list first, a tenth at a time, so every section keeps some
        longest = max(range(len(kept)), key=lambda i: len(kept[i]))
        drop = max(1, len(kept[longest]) // 10)
        del kept[longest][-drop:]
        text = join(kept)
    return text if len(text) <= limit else text[: limit - 2] + "…\n"

"""Text rendering shared by the commands: tables, times, scores, a run, a transcript."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_agentv.models import RunMetadata, TestRecord, TranscriptEvent


def when(timestamp: str) -> str:
    # "2024-05-01T12:03:04.123456Z" -> "2024-05-01 12:03"
    return timestamp[:16].replace("T", " ") if len(timestamp) >= 16 else timestamp


def short_scores(scores: dict[str, float] | Any, most: int = 3) -> str:
    names = sorted(scores)
    cells = [f"{name}={scores[name]:.2f}" for name in names[:most]]
    if len(names) > most:
        cells.append(f"+{len(names) - most}")
    return " ".join(cells)


def clip(text: str | None, width: int) -> str:
    text = text or "-"
    return text if len(text) <= width else "..." + text[-(width - 3) :]


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in (header, *rows)
    ]
    return "\n".join(lines) + "\n"


def _test_scores(test: TestRecord) -> str:
    cells = []
    for name, score in sorted(test.scores.items()):
        cell = f"{name}={score.value:.2f}"
        failed = score.passed is False or (
            score.passed is None and score.threshold is not None and score.value < score.threshold
        )
        if failed:
            cell += f"(<{score.threshold:g})" if score.threshold is not None else "(fail)"
        cells.append(cell)
    return " ".join(cells) or "-"


def render_show(metadata: RunMetadata, *, pending: bool = False, git: bool = False) -> str:
    """The run header and its per-test table."""
    counts = metadata.counts
    commit = metadata.source_commit[:12] if metadata.source_commit else None
    source = "@".join(part for part in (metadata.source_repo, commit) if part) or "-"
    extras = [x for x in (metadata.source_branch, "dirty" if metadata.source_dirty else None) if x]
    if extras:
        source += f" ({', '.join(extras)})"
    outcome_words = [f"{counts.passed} passed", f"{counts.failed} failed"]
    for word, value in (
        ("errors", counts.errors),
        ("skipped", counts.skipped),
        ("xfailed", counts.xfailed),
        ("xpassed", counts.xpassed),
    ):
        if value:
            outcome_words.append(f"{value} {word}")
    fields: list[tuple[str, str]] = [
        ("run", metadata.run_id),
        (
            "time",
            f"{metadata.started_at.replace('T', ' ')[:19]} UTC, "
            f"took {metadata.duration_seconds:.1f}s",
        ),
        ("model", metadata.model or "-"),
        ("eval", metadata.eval_file or "-"),
        ("source", source),
        ("tests", f"{', '.join(outcome_words)} (of {counts.total})"),
    ]
    for name, agg in sorted(metadata.scores.items()):
        verdicts = (
            f", {agg.passed}/{agg.passed + agg.failed} met threshold"
            if (agg.passed + agg.failed)
            else ""
        )
        fields.append(
            (
                "score",
                f"{name}: mean {agg.mean:.3f} (min {agg.min:.3g}, "
                f"max {agg.max:.3g}, n={agg.count}{verdicts})",
            )
        )
    usage = metadata.usage
    if usage.input_tokens or usage.output_tokens or usage.cost_usd:
        fields.append(
            (
                "usage",
                f"{usage.input_tokens} in / {usage.output_tokens} out tokens, "
                f"${usage.cost_usd:.4f}",
            )
        )
    if metadata.tags:
        fields.append(("tags", ", ".join(metadata.tags)))
    if metadata.run_group:
        fields.append(("group", metadata.run_group))
    if metadata.gate is not None:
        against = f" against {metadata.gate.baseline}" if metadata.gate.baseline else ""
        failed = [f"{r.gate} {r.metric}" for r in metadata.gate.rows if r.verdict == "fail"]
        detail = f" ({', '.join(failed)})" if failed else ""
        fields.append(("gate", f"{metadata.gate.verdict.upper()}{against}{detail}"))
    if git:
        fields.append(("pushed", "no (run 'agentv-results sync')" if pending else "yes"))
    lines = [f"{label:<8}{value}" for label, value in fields]
    lines.append("")
    rows = [(t.outcome, t.nodeid, f"{t.duration:.2f}s", _test_scores(t)) for t in metadata.tests]
    lines.append(
        table(("OUTCOME", "TEST", "DURATION", "SCORES"), rows).rstrip("\n")
        if rows
        else "(no tests)"
    )
    failures = [t for t in metadata.tests if t.outcome in ("failed", "error") and t.failure]
    if failures:
        lines += ["", "failures"]
        for t in failures:
            first = t.failure.strip().splitlines()[-1] if t.failure else ""
            lines.append(f"  {t.nodeid}: {first[:200]}")
    return "\n".join(lines) + "\n"


def render_transcript(events: Sequence[TranscriptEvent]) -> str:
    """Transcript events grouped by test, one message per block."""
    lines: list[str] = []
    current = None
    for event in events:
        if event.test != current:
            current = event.test
            lines += ([""] if lines else []) + [f"== {event.test}"]
        content = (
            event.content
            if isinstance(event.content, str)
            else json.dumps(event.content, ensure_ascii=False)
        )
        body = content.splitlines() or [""]
        lines.append(f"[{event.seq}] {event.role}: {body[0]}")
        lines += [f"    {line}" for line in body[1:]]
    return "\n".join(lines) + "\n" if lines else "(no transcript messages)\n"

"""``agentv-results``: read recorded runs back, like ``git log``/``git show`` for eval runs.

Exit codes: 0 ok; 1 findings (regressions, verification problems, unpushed runs left by ``sync``)
or a run reference that names no run / more than one; 2 usage, configuration or store error.
Heavy imports (pydantic models, git) happen inside the commands that need them, so the warm
path of ``list`` stays short.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from pytest_agentv.index import RunQuery, RunRow
from pytest_agentv.layout import AGENTV_DIR
from pytest_agentv.serial import iso, parse_iso
from pytest_agentv.settings import OPTIONS, SettingsError, argparse_type, resolve_settings
from pytest_agentv.sources import RefError, RefSyntaxError, RunSource, open_source, resolve_ref

if TYPE_CHECKING:
    from pytest_agentv.models import RunMetadata, RunSummary, TestRecord, TranscriptEvent
    from pytest_agentv.settings import Settings

PROG = "agentv-results"
EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
FILE_CHOICES = {
    "metadata": "metadata.json",
    "summary": "summary.json",
    "transcript": "transcript.jsonl",
}


class CliError(Exception):
    """A one-line error for stderr, with its exit code."""

    def __init__(self, message: str, code: int = EXIT_USAGE):
        super().__init__(message)
        self.code = code


class _Parser(argparse.ArgumentParser):
    """argparse, but every usage error is one line on stderr (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


# --- where runs are read from ---------------------------------------------------------------------


def find_rootdir(start: Path) -> Path:
    """The nearest directory from ``start`` up holding ``.agentv/`` or ``.git``; else ``start``."""
    for directory in (start, *start.parents):
        if (directory / AGENTV_DIR).is_dir() or (directory / ".git").exists():
            return directory
    return start


def _settings(args: argparse.Namespace) -> Settings:
    rootdir = args.rootdir.resolve() if args.rootdir else find_rootdir(Path.cwd())
    if not rootdir.is_dir():
        raise CliError(f"--rootdir {args.rootdir}: not a directory")
    cli = {spec.key: getattr(args, spec.key, None) for spec in OPTIONS if spec.cli_flag}
    return resolve_settings(rootdir, cli=cli, env=os.environ, ini={})


def _open(args: argparse.Namespace, *, reads: bool = True) -> RunSource:
    from pytest_agentv.store.base import StoreError

    source = open_source(_settings(args))
    fetch = getattr(args, "fetch", None)
    if reads and source.has_remote() and fetch is not False:
        try:
            source.fetch()
        except StoreError as exc:
            if fetch is True:
                raise
            # an implicit fetch must not stop someone reading offline; say what they are seeing
            print(
                f"{PROG}: warning: {exc}; showing the runs that are already local "
                "(--no-fetch skips fetching)",
                file=sys.stderr,
            )
    return source


# --- formatting helpers ---------------------------------------------------------------------------


def _when(timestamp: str) -> str:
    # "2024-05-01T12:03:04.123456Z" -> "2024-05-01 12:03"
    return timestamp[:16].replace("T", " ") if len(timestamp) >= 16 else timestamp


def _short_scores(scores: dict[str, float] | Any, most: int = 3) -> str:
    names = sorted(scores)
    cells = [f"{name}={scores[name]:.2f}" for name in names[:most]]
    if len(names) > most:
        cells.append(f"+{len(names) - most}")
    return " ".join(cells)


def _clip(text: str | None, width: int) -> str:
    text = text or "-"
    return text if len(text) <= width else "..." + text[-(width - 3) :]


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in (header, *rows)
    ]
    return "\n".join(lines) + "\n"


def _write(text: str) -> None:
    sys.stdout.write(text)


def _write_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False) + "\n")


_RELATIVE = re.compile(r"(\d+)\s*([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_when(text: str, *, end_of_day: bool = False, now: datetime | None = None) -> str:
    """A ``--since``/``--until`` value as a stored-timestamp string.

    Accepts ISO dates and times (``2024-05-01``, ``2024-05-01T12:00``, with ``Z`` or an offset;
    naive times are UTC) and ages (``30m``, ``12h``, ``7d``, ``2w``). A bare date given to
    ``--until`` means the end of that day.
    """
    value = text.strip()
    if match := _RELATIVE.fullmatch(value):
        age = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
        moment = (now or datetime.now(UTC)) - age
    else:
        try:
            moment = parse_iso(value)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a time; use an ISO date/time like 2024-05-01 or "
                "2024-05-01T12:00Z, or an age like 30m, 12h, 7d, 2w"
            ) from None
        if end_of_day and len(value) == 10:
            moment += timedelta(days=1, microseconds=-1)
    return iso(moment)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must not be negative")
    return value


def _tolerance(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value >= 0:  # also rejects nan
        raise argparse.ArgumentTypeError(f"{text!r} must be a number >= 0")
    return value


# --- reading runs ---------------------------------------------------------------------------------


def _resolve(source: RunSource, ref: str) -> str:
    try:
        return resolve_ref(source, ref)
    except RefSyntaxError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    except RefError as exc:
        raise CliError(str(exc), EXIT_FINDINGS) from None


def _read(source: RunSource, run_id: str, name: str) -> bytes:
    from pytest_agentv.store.base import RunNotFound

    try:
        return source.read(run_id, name)
    except RunNotFound as exc:
        raise CliError(str(exc), EXIT_FINDINGS) from None


def _load(source: RunSource, run_id: str, name: str, parse: Callable[[bytes], Any]) -> Any:
    data = _read(source, run_id, name)
    try:
        return parse(data)
    except ValueError as exc:
        first = str(exc).splitlines()[0]
        raise CliError(
            f"run {run_id}: {name} cannot be read ({first}); "
            f"run '{PROG} verify {run_id}' for details",
            EXIT_FINDINGS,
        ) from None


def _metadata(source: RunSource, run_id: str) -> RunMetadata:
    from pytest_agentv.models import RunMetadata
    from pytest_agentv.store.paths import METADATA_FILE

    result: RunMetadata = _load(source, run_id, METADATA_FILE, RunMetadata.model_validate_json)
    return result


def _summary(source: RunSource, run_id: str) -> RunSummary:
    from pytest_agentv.models import RunSummary
    from pytest_agentv.store.paths import SUMMARY_FILE

    result: RunSummary = _load(source, run_id, SUMMARY_FILE, RunSummary.model_validate_json)
    return result


def _transcript(source: RunSource, run_id: str) -> list[TranscriptEvent]:
    from pytest_agentv.export import parse_transcript
    from pytest_agentv.store.paths import TRANSCRIPT_FILE

    result: list[TranscriptEvent] = _load(source, run_id, TRANSCRIPT_FILE, parse_transcript)
    return result


# --- list -----------------------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    source = _open(args)
    query = RunQuery(
        model=args.model,
        eval_file=args.eval_file,
        since=args.since,
        until=args.until,
        limit=None if args.group else args.limit or None,
    )
    rows = source.query(query)
    if args.group:
        rows = _in_group(source, rows, args.group)[: args.limit or None]
    if args.json:
        _write_json(
            [
                {
                    "summary": json.loads(_read(source, row.run_id, "summary.json")),
                    "pending": row.pending,
                    "commit": row.commit,
                }
                for row in rows
            ]
        )
        return EXIT_OK
    if not rows:
        filtered = any(v is not None for v in (args.model, args.eval_file, args.since, args.until))
        print(f"no runs{' match' if filtered else ''} in {source.describe()}", file=sys.stderr)
        return EXIT_OK
    short = source.abbrev([row.run_id for row in rows])
    _write(
        _table(
            ("RUN", "TIME (UTC)", "MODEL", "EVAL", "PASSED", "SCORES", "SOURCE", ""),
            [_list_cells(row, short[row.run_id]) for row in rows],
        )
    )
    return EXIT_OK


def _list_cells(row: RunRow, short: str) -> tuple[str, ...]:
    return (
        short,
        _when(row.timestamp),
        _clip(row.model, 24),
        _clip(row.eval_file, 32),
        f"{row.passed}/{row.total}",
        _short_scores(row.scores) or "-",
        (row.source_commit or "-")[:8],
        "unpushed" if row.pending else "",
    )


# --- show -----------------------------------------------------------------------------------------


def cmd_show(args: argparse.Namespace) -> int:
    source = _open(args)
    if args.run.startswith(GROUP_PREFIX):
        return _show_group(args, source)
    run_id = _resolve(source, args.run)
    if args.file:
        sys.stdout.flush()
        sys.stdout.buffer.write(_read(source, run_id, FILE_CHOICES[args.file]))
        sys.stdout.buffer.flush()
        return EXIT_OK
    if args.test and not args.transcript:
        raise CliError("--test selects transcript messages; use it with --transcript")
    if args.transcript:
        events = _transcript(source, run_id)
        if args.test:
            events = _only_test(events, args.test, source, run_id)
        if args.json:
            _write_json([event.model_dump(mode="json") for event in events])
        else:
            _write(render_transcript(events))
        return EXIT_OK
    metadata = _metadata(source, run_id)
    pending = run_id in source.pending()
    if args.json:
        _write_json(
            {
                "summary": json.loads(_read(source, run_id, "summary.json")),
                "metadata": metadata.model_dump(mode="json", by_alias=True),
                "pending": pending,
            }
        )
        return EXIT_OK
    _write(render_show(metadata, pending=pending, git=source.backend == "git"))
    return EXIT_OK


def _only_test(
    events: list[TranscriptEvent], nodeid: str, source: RunSource, run_id: str
) -> list[TranscriptEvent]:
    chosen = [event for event in events if event.test == nodeid]
    if chosen:
        return chosen
    tests = {test.nodeid for test in _metadata(source, run_id).tests}
    if nodeid in tests:
        return []
    near = sorted(t for t in tests if nodeid in t)[:5]
    hint = f"; did you mean: {', '.join(near)}" if near else ""
    raise CliError(f"run {run_id} has no test {nodeid!r}{hint}", EXIT_FINDINGS)


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
    if git:
        fields.append(("pushed", "no (run 'agentv-results sync')" if pending else "yes"))
    lines = [f"{label:<8}{value}" for label, value in fields]
    lines.append("")
    rows = [(t.outcome, t.nodeid, f"{t.duration:.2f}s", _test_scores(t)) for t in metadata.tests]
    lines.append(
        _table(("OUTCOME", "TEST", "DURATION", "SCORES"), rows).rstrip("\n")
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


# --- diff -----------------------------------------------------------------------------------------


def cmd_diff(args: argparse.Namespace) -> int:
    from pytest_agentv.diff import diff_runs, render_markdown, render_text

    if args.json and args.markdown:
        raise CliError("choose one of --json and --markdown")
    source = _open(args)
    before, after = _run_or_group(source, args.base), _run_or_group(source, args.new)
    result = diff_runs(before, after, args.tolerance)
    regressed = result.regressed
    stats = None
    if args.stats:
        from pytest_agentv.gates import compare_runs, render_stats

        stats = compare_runs(before, after, args.cluster_by)
        regressed = stats.failed  # with --stats, "regressed" is the statistical verdict
    if args.json:
        report = result.to_json()
        if stats is not None:
            report["stats"] = stats.to_json()["rows"]
            report["regressed"] = regressed
        _write_json(report)
    elif args.markdown:
        _write(render_markdown(result))
        if stats is not None:
            _write("\n```\n" + render_stats(stats) + "```\n")
    else:
        _write(render_text(result))
        if stats is not None:
            _write("\n" + render_stats(stats))
    return EXIT_FINDINGS if args.fail_on_regression and regressed else EXIT_OK


# --- sync -----------------------------------------------------------------------------------------


def cmd_sync(args: argparse.Namespace) -> int:
    source = _open(args, reads=False)
    outcome = source.sync()
    if args.json:
        _write_json(
            {
                "message": outcome.message,
                "pushed": list(outcome.pushed),
                "pending": list(outcome.pending),
                "problems": list(outcome.problems),
            }
        )
    else:
        lines = [outcome.message]
        lines += [f"  pushed   {run_id}" for run_id in outcome.pushed]
        lines += [f"  pending  {run_id}" for run_id in outcome.pending]
        lines += [f"  problem: {problem}" for problem in outcome.problems]
        _write("\n".join(lines) + "\n")
    return EXIT_FINDINGS if outcome.problems else EXIT_OK


# --- verify ---------------------------------------------------------------------------------------


def verify_run(source: RunSource, run_id: str) -> list[str]:
    """Every problem with one stored run: checksums, run ids, summary/metadata agreement, layout."""
    from pydantic import ValidationError

    from pytest_agentv.export import parse_transcript
    from pytest_agentv.models import RunMetadata, RunSummary
    from pytest_agentv.payload import summarise
    from pytest_agentv.serial import sha256
    from pytest_agentv.store.base import RunNotFound
    from pytest_agentv.store.paths import METADATA_FILE, RUN_FILES, SUMMARY_FILE, TRANSCRIPT_FILE

    problems = list(source.layout_problems(run_id))
    files: dict[str, bytes] = {}
    for name in RUN_FILES:
        try:
            files[name] = source.read(run_id, name)
        except RunNotFound:
            if f"{name}: missing" not in problems:
                problems.append(f"{name}: missing")
    if SUMMARY_FILE not in files:
        return problems
    try:
        summary = RunSummary.model_validate_json(files[SUMMARY_FILE])
    except ValidationError as exc:
        return [*problems, f"{SUMMARY_FILE}: not a valid summary ({_first_error(exc)})"]
    if summary.run_id != run_id:
        problems.append(
            f"{SUMMARY_FILE}: runId is {summary.run_id}, but the run is stored as {run_id}"
        )
    expected = {METADATA_FILE, TRANSCRIPT_FILE}
    for name in sorted(set(summary.files) - expected):
        problems.append(f"{SUMMARY_FILE}: lists a checksum for unknown file {name!r}")
    for name in sorted(expected):
        digest = summary.files.get(name)
        if digest is None:
            problems.append(f"{SUMMARY_FILE}: no checksum for {name}")
        elif name in files and sha256(files[name]) != digest:
            problems.append(
                f"{name}: SHA-256 is {sha256(files[name])}, but {SUMMARY_FILE} records {digest}"
            )
    if METADATA_FILE in files:
        try:
            metadata = RunMetadata.model_validate_json(files[METADATA_FILE])
        except ValidationError as exc:
            problems.append(f"{METADATA_FILE}: not valid run metadata ({_first_error(exc)})")
        else:
            if metadata.run_id != run_id:
                problems.append(
                    f"{METADATA_FILE}: runId is {metadata.run_id}, "
                    f"but the run is stored as {run_id}"
                )
            derived = summarise(metadata, files[METADATA_FILE], files.get(TRANSCRIPT_FILE, b""))
            for key in ("timestamp", "model", "eval_file", "counts", "scores", "source_commit"):
                if getattr(derived, key) != getattr(summary, key):
                    problems.append(f"{SUMMARY_FILE}: {key} disagrees with {METADATA_FILE}")
    if TRANSCRIPT_FILE in files:
        try:
            parse_transcript(files[TRANSCRIPT_FILE])
        except (ValueError, UnicodeDecodeError) as exc:
            problems.append(str(exc).splitlines()[0])
    row = source.row(run_id)
    if row is not None:
        told = (row.total, row.passed, row.failed, row.skipped, row.errors)
        truth = (
            summary.counts.total,
            summary.counts.passed,
            summary.counts.failed,
            summary.counts.skipped,
            summary.counts.errors,
        )
        if told != truth:
            problems.append("commit trailer AgentV-Tests disagrees with summary.json counts")
    return problems


def _first_error(exc: Exception) -> str:
    from pydantic import ValidationError

    if isinstance(exc, ValidationError) and exc.errors():
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        return f"{where}: {error['msg']}"
    return str(exc).splitlines()[0]


def cmd_verify(args: argparse.Namespace) -> int:
    source = _open(args)
    if args.run:
        run_ids = [_resolve(source, args.run)]
        store_problems: list[str] = []
    else:
        run_ids = source.run_ids()
        store_problems = source.layout_problems(None)
    results = [(run_id, verify_run(source, run_id)) for run_id in run_ids]
    bad = sum(1 for _, problems in results if problems)
    ok = not bad and not store_problems
    if args.json:
        _write_json(
            {
                "ok": ok,
                "checked": len(results),
                "failed": bad,
                "storeProblems": store_problems,
                "runs": [{"runId": r, "ok": not p, "problems": p} for r, p in results],
            }
        )
    else:
        lines = [f"store: {problem}" for problem in store_problems]
        for run_id, problems in results:
            if problems:
                lines += [f"FAIL {run_id}: {problem}" for problem in problems]
            elif not args.quiet:
                lines.append(f"ok   {run_id}")
        lines.append(
            f"verified {len(results)} run(s) in {source.describe()}: "
            f"{len(results) - bad} ok, {bad} with problems"
            + (f", {len(store_problems)} store problem(s)" if store_problems else "")
        )
        _write("\n".join(lines) + "\n")
    return EXIT_OK if ok else EXIT_FINDINGS


# --- gates, trends and flaky tests (docs/gates.md) -----------------------------------------------


def cmd_gate(args: argparse.Namespace) -> int:
    from pytest_agentv.baseline import BaselineError, ThisRun
    from pytest_agentv.gate_run import gate_run, load_group
    from pytest_agentv.gate_settings import GATE_OPTIONS, resolve_gate_settings
    from pytest_agentv.gates import render_gate_table

    if args.group and args.run:
        raise CliError("give a run or --group, not both")
    settings = _settings(args)
    cli = {o.key: getattr(args, o.key, None) for o in GATE_OPTIONS if hasattr(args, o.key)}
    gates = resolve_gate_settings(
        cli=cli, env=os.environ, file=settings.file_gates, file_name=str(settings.config_file)
    )
    if not gates.spec.enabled:
        raise CliError(
            "no gate to evaluate: give --min-score, --min-pass-rate, --max-regression or "
            "--fail-on-regression, or set gates: in .agentv/config.yaml"
        )
    source = _open(args)
    parts: list[str] = []
    if args.group:
        try:
            run, parts = load_group(source, args.group)
        except BaselineError as exc:
            raise CliError(str(exc), EXIT_FINDINGS) from None
    else:
        run = _metadata(source, _resolve(source, args.run or "latest"))
    this = ThisRun(run.run_id, run.model, run.eval_file, run.source_branch, tuple(parts))
    report = gate_run(run, gates.spec, gates.baseline, lambda: source, settings.rootdir, this)
    if args.json:
        _write_json({"run": run.run_id, "group": args.group, "parts": parts, **report.to_json()})
    else:
        what = f"run group {args.group} ({len(parts)} runs)" if args.group else f"run {run.run_id}"
        _write("\n".join([f"gates of {what}", *render_gate_table(report)]) + "\n")
    return EXIT_FINDINGS if report.failed else EXIT_OK


GROUP_PREFIX = "group:"


def _load_group(source: RunSource, group: str) -> tuple[RunMetadata, list[str]]:
    from pytest_agentv.baseline import BaselineError
    from pytest_agentv.gate_run import load_group

    try:
        return load_group(source, group)
    except BaselineError as exc:
        raise CliError(str(exc), EXIT_FINDINGS) from None


def _run_or_group(source: RunSource, ref: str) -> RunMetadata:
    """A run's metadata, or (``group:ID``) a run group's parts merged into one run."""
    if ref.startswith(GROUP_PREFIX):
        return _load_group(source, ref.removeprefix(GROUP_PREFIX))[0]
    return _metadata(source, _resolve(source, ref))


def _show_group(args: argparse.Namespace, source: RunSource) -> int:
    group = args.run.removeprefix(GROUP_PREFIX)
    if args.file or args.transcript:
        raise CliError(
            f"a run group has no single file or transcript; show one of its parts "
            f"(agentv-results list --group {group})"
        )
    metadata, parts = _load_group(source, group)
    if args.json:
        _write_json(
            {
                "group": group,
                "parts": parts,
                "metadata": metadata.model_dump(mode="json", by_alias=True),
            }
        )
        return EXIT_OK
    _write(f"run group {group}: {len(parts)} run(s): {', '.join(parts)}\n")
    _write(render_show(metadata, git=source.backend == "git"))
    return EXIT_OK


def _in_group(source: RunSource, rows: list[RunRow], group: str) -> list[RunRow]:
    from pytest_agentv.gate_run import read_summary
    from pytest_agentv.store.base import StoreError

    kept = []
    for row in rows:
        try:
            if read_summary(source, row.run_id).run_group == group:
                kept.append(row)
        except (StoreError, ValueError):
            continue
    return kept


def _history(args: argparse.Namespace) -> tuple[Any, int]:
    from pytest_agentv.history import PointsCache, load_history
    from pytest_agentv.layout import ProjectLayout

    source = _open(args)
    cache = PointsCache(ProjectLayout(_settings(args).rootdir).cache_dir / "points.sqlite3")
    try:
        runs = load_history(source, args.last, cache, model=args.model)
    finally:
        cache.close()
    return runs, len(runs)


def cmd_trend(args: argparse.Namespace) -> int:
    from pytest_agentv.trends import metric_trends, render_trends

    runs, count = _history(args)
    trends = metric_trends(runs, metric=args.metric, nodeid=args.test)
    if args.json:
        _write_json({"runs": [r.run_id for r in runs], "trends": [t.to_json() for t in trends]})
    else:
        _write(render_trends(trends, count))
    degrading = any(t.degrading for t in trends)
    return EXIT_FINDINGS if args.fail_on_degrading and degrading else EXIT_OK


def cmd_flaky(args: argparse.Namespace) -> int:
    from pytest_agentv.trends import flakiness, render_flakiness

    runs, count = _history(args)
    tests = flakiness(runs)
    if args.only_flaky:
        tests = [t for t in tests if t.flaky]
    if args.json:
        _write_json({"runs": [r.run_id for r in runs], "tests": [t.to_json() for t in tests]})
    else:
        _write(render_flakiness(tests, count))
    return EXIT_OK


def _gate_arguments(sub: argparse.ArgumentParser) -> None:
    from pytest_agentv.gate_settings import GATE_OPTIONS, argparse_checked

    for option in GATE_OPTIONS:
        if option.key in ("repeat", "run_group"):
            continue
        flag = option.flag.replace("--agentv-", "--")
        if option.is_bool:
            sub.add_argument(
                flag,
                dest=option.key,
                action="store_true",
                default=None,
                help=f"{option.help} [env {option.env}]",
            )
        else:
            assert option.check is not None
            sub.add_argument(
                flag,
                dest=option.key,
                metavar=option.metavar,
                type=argparse_checked(option.check),
                action="append" if option.per_metric else "store",
                help=f"{option.help} [env {option.env}]",
            )


# --- export ---------------------------------------------------------------------------------------


def cmd_export(args: argparse.Namespace) -> int:
    from pytest_agentv.export import to_json, to_junit

    source = _open(args)
    run_id = _resolve(source, args.run)
    metadata = _metadata(source, run_id)
    transcript = _transcript(source, run_id)
    outputs: list[tuple[str, bytes]] = []
    if args.junit:
        outputs.append((args.junit, to_junit(metadata, transcript)))
    if args.json_file:
        outputs.append((args.json_file, to_json(_summary(source, run_id), metadata, transcript)))
    for target, data in outputs:
        if target == "-":
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
            continue
        try:
            Path(target).write_bytes(data)
        except OSError as exc:
            raise CliError(f"cannot write {target}: {exc.strerror}") from None
        print(f"wrote {target} (run {run_id})", file=sys.stderr)
    return EXIT_OK


# --- the parser -----------------------------------------------------------------------------------


def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    # added to the main parser and to every command, so flags work before or after the command;
    # SUPPRESS on commands keeps an absent flag from hiding one given before the command
    default: Any = argparse.SUPPRESS if suppress else None
    group = parser.add_argument_group("where runs are read from (same settings as the plugin)")
    for spec in OPTIONS:
        if spec.cli_flag is None:
            continue
        group.add_argument(
            spec.cli_flag,
            dest=spec.key,
            default=default,
            metavar=spec.key.upper(),
            type=argparse_type(spec.check) if spec.check else str,
            help=f"{spec.help} [env {spec.env}]",
        )
    group.add_argument(
        "--rootdir",
        type=Path,
        default=default,
        metavar="DIR",
        help="project root holding .agentv/ (default: nearest parent of the current "
        "directory with .agentv/ or .git)",
    )
    group.add_argument(
        "--fetch",
        action=argparse.BooleanOptionalAction,
        default=default,
        help="update the branch from the remote first (default: on when a remote is configured)",
    )


_COMMANDS: dict[str, tuple[str, str]] = {
    "list": (
        "list runs, newest first",
        """examples:
  agentv-results list
  agentv-results list --model gpt-4o --since 7d --limit 50
  agentv-results list --eval 'tests/evals/*' --json | jq '.[].summary.counts'
""",
    ),
    "show": (
        "show one run: metadata and per-test results",
        """examples:
  agentv-results show 3f9a2c1b
  agentv-results show latest --transcript --test 'tests/evals/test_qa.py::test_refund'
  agentv-results show latest~1 --file metadata > metadata.json
""",
    ),
    "diff": (
        "compare two runs test by test",
        """A test regressed when its outcome went from
passed/xfailed/xpassed to failed/error, or when one of its scores fell below its
threshold or dropped by more than --tolerance (docs/cli.md has the exact rules).

examples:
  agentv-results diff latest~1 latest
  agentv-results diff 3f9a2c1b latest --markdown > comment.md
  agentv-results diff main-baseline-id latest --fail-on-regression --tolerance 0.05
""",
    ),
    "gate": (
        "evaluate gates on a stored run or a run group (docs/gates.md)",
        """exit codes: 0 pass or inconclusive, 1 a gate failed, 2 usage or store error.

examples:
  agentv-results gate latest --min-score accuracy=0.8
  agentv-results gate --group "$CI_PIPELINE_ID" --baseline latest:branch=main \\
      --max-regression accuracy=0.03
  agentv-results gate 3f9a2c1b --baseline merge-base --fail-on-regression --json
""",
    ),
    "trend": (
        "per metric and per test: values over the last runs, slope and interval",
        """examples:
  agentv-results trend --last 30
  agentv-results trend --metric accuracy --test 'evals/test_qa.py::test_refund' --json
  agentv-results trend --model gpt-4o --fail-on-degrading
""",
    ),
    "flaky": (
        "per test: pass rate with a Wilson interval and flip rate; flaky tests first",
        """examples:
  agentv-results flaky --last 50
  agentv-results flaky --only-flaky --json
""",
    ),
    "sync": (
        "push runs committed locally but not yet on the remote",
        """examples:
  agentv-results sync
  agentv-results sync --remote origin --json
""",
    ),
    "verify": (
        "check stored files against the checksums in each summary.json",
        """examples:
  agentv-results verify
  agentv-results verify 3f9a2c1b --json
""",
    ),
    "export": (
        "write one run as JUnit XML or JSON",
        """examples:
  agentv-results export latest --junit agentv-junit.xml
  agentv-results export 3f9a2c1b --json run.json
  agentv-results export latest --junit -      # to stdout
""",
    ),
}

_EPILOG = """commands print reports for people; add --json for machines.

exit codes:
  0  success
  1  findings: a regression (diff --fail-on-regression), a verification problem, runs left
     unpushed by sync, or a run reference that names no run or more than one
  2  usage or configuration error, or the store could not be read

examples:
  agentv-results list --limit 5
  agentv-results show latest
  agentv-results diff latest~1 latest --fail-on-regression
"""


def build_parser() -> argparse.ArgumentParser:
    """The ``agentv-results`` argument parser."""
    parser = _Parser(
        prog=PROG,
        description="Read back the eval runs pytest-agentv recorded.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    _global_options(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def command(name: str, handler: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
        summary, examples = _COMMANDS[name]
        sub = commands.add_parser(
            name,
            help=summary,
            description=summary[0].upper() + summary[1:] + ".",
            epilog=examples,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.set_defaults(handler=handler)
        return sub

    sub = command("list", cmd_list)
    sub.add_argument("--model", help="only runs of this model (exact, or a glob with * ? [)")
    sub.add_argument(
        "--eval", dest="eval_file", metavar="EVAL", help="only runs of this eval (exact, or a glob)"
    )
    sub.add_argument(
        "--since",
        type=parse_when,
        metavar="WHEN",
        help="only runs at or after WHEN (2024-05-01, 2024-05-01T12:00Z, 7d, 12h)",
    )
    sub.add_argument(
        "--until",
        type=lambda v: parse_when(v, end_of_day=True),
        metavar="WHEN",
        help="only runs at or before WHEN (a bare date includes that whole day)",
    )
    sub.add_argument(
        "--limit",
        type=_positive_int,
        default=20,
        metavar="N",
        help="show at most N runs (default 20; 0 for all)",
    )
    sub.add_argument("--group", metavar="ID", help="only the parts of run group ID")
    sub.add_argument(
        "--json", action="store_true", help="print the full stored summaries as a JSON array"
    )
    _global_options(sub, suppress=True)

    sub = command("show", cmd_show)
    sub.add_argument(
        "run", metavar="RUN", help="run id, unique prefix, latest, latest~N or group:ID"
    )
    sub.add_argument("--transcript", action="store_true", help="print the transcript messages")
    sub.add_argument("--test", metavar="NODEID", help="with --transcript: only this test")
    sub.add_argument(
        "--file", choices=sorted(FILE_CHOICES), help="print one stored file exactly as stored"
    )
    sub.add_argument("--json", action="store_true", help="print the run as JSON")
    _global_options(sub, suppress=True)

    sub = command("diff", cmd_diff)
    sub.add_argument(
        "base", metavar="BASE", help="the run to compare against (old); group:ID for a run group"
    )
    sub.add_argument("new", metavar="NEW", help="the run being judged (new); or group:ID")
    sub.add_argument(
        "--tolerance",
        type=_tolerance,
        default=0.0,
        metavar="X",
        help="score drops up to X are not regressions (default 0)",
    )
    sub.add_argument(
        "--fail-on-regression", action="store_true", help="exit 1 when anything regressed"
    )
    sub.add_argument("--json", action="store_true", help="print the report as JSON")
    sub.add_argument("--markdown", action="store_true", help="print the report as Markdown")
    sub.add_argument(
        "--stats",
        action="store_true",
        help="add paired, clustered statistics per metric; --fail-on-regression then fails "
        "only on a regression the statistics show (docs/gates.md)",
    )
    sub.add_argument(
        "--cluster-by",
        choices=("module", "origin", "test"),
        default="module",
        help="with --stats: how tests are clustered (default module)",
    )
    _global_options(sub, suppress=True)

    sub = command("gate", cmd_gate)
    sub.add_argument("run", metavar="RUN", nargs="?", help="the run to gate (default latest)")
    sub.add_argument("--group", metavar="ID", help="gate the parts of run group ID as one run")
    _gate_arguments(sub)
    sub.add_argument("--json", action="store_true", help="print the report as JSON")
    _global_options(sub, suppress=True)

    sub = command("trend", cmd_trend)
    sub.add_argument("--metric", metavar="M", help="only this metric")
    sub.add_argument("--test", metavar="NODEID", help="only this test (and no run-level series)")
    sub.add_argument("--model", metavar="M", help="only runs of this model (exact, or a glob)")
    sub.add_argument(
        "--last", type=_positive_int, default=20, metavar="N", help="the last N runs (default 20)"
    )
    sub.add_argument(
        "--fail-on-degrading", action="store_true", help="exit 1 when any series degrades"
    )
    sub.add_argument("--json", action="store_true", help="print the report as JSON")
    _global_options(sub, suppress=True)

    sub = command("flaky", cmd_flaky)
    sub.add_argument("--model", metavar="M", help="only runs of this model (exact, or a glob)")
    sub.add_argument(
        "--last", type=_positive_int, default=20, metavar="N", help="the last N runs (default 20)"
    )
    sub.add_argument("--only-flaky", action="store_true", help="list only the flaky tests")
    sub.add_argument("--json", action="store_true", help="print the report as JSON")
    _global_options(sub, suppress=True)

    sub = command("sync", cmd_sync)
    sub.add_argument("--json", action="store_true", help="print the report as JSON")
    _global_options(sub, suppress=True)

    sub = command("verify", cmd_verify)
    sub.add_argument(
        "run",
        metavar="RUN",
        nargs="?",
        help="verify only this run (default: every run and the store layout)",
    )
    sub.add_argument("--json", action="store_true", help="print the report as JSON")
    sub.add_argument("-q", "--quiet", action="store_true", help="print only problems and the total")
    _global_options(sub, suppress=True)

    sub = command("export", cmd_export)
    sub.add_argument("run", metavar="RUN", help="run id, unique prefix, latest or latest~N")
    sub.add_argument("--junit", metavar="FILE", help="write JUnit XML to FILE ('-': stdout)")
    sub.add_argument(
        "--json",
        dest="json_file",
        metavar="FILE",
        help="write summary, metadata and transcript as one JSON document",
    )
    _global_options(sub, suppress=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``agentv-results`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from importlib.metadata import version

        _write(f"{PROG} (pytest-agentv) {version('pytest-agentv')}\n")
        return EXIT_OK
    if args.command is None:
        parser.error("choose a command: " + ", ".join(_COMMANDS))
    if args.command == "export" and not (args.junit or args.json_file):
        parser.error("export: give --junit FILE and/or --json FILE")
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    from pytest_agentv.store.base import StoreError

    try:
        code: int = args.handler(args)
        return code
    except CliError as exc:
        return _fail(str(exc), exc.code)
    except SettingsError as exc:
        # a config file may report several problems; the first line is the one to fix first
        lines = str(exc).splitlines()
        more = f" (and {len(lines) - 1} more)" if len(lines) > 1 else ""
        return _fail(lines[0] + more, EXIT_USAGE)
    except StoreError as exc:
        from pytest_agentv.store.base import RunNotFound

        return _fail(str(exc), EXIT_FINDINGS if isinstance(exc, RunNotFound) else EXIT_USAGE)
    except BrokenPipeError:
        # `agentv-results list | head`: the reader left; that is not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        return 130


def _fail(message: str, code: int) -> int:
    one_line = " ".join(message.split("\n"))
    print(f"{PROG}: error: {one_line}", file=sys.stderr)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

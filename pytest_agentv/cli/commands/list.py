"""``agentv-results list``: runs, newest first, filtered by model, eval and time."""

from __future__ import annotations

import argparse
import json
import sys

from pytest_agentv.cli.command import Command
from pytest_agentv.cli.common import (
    EXIT_OK,
    open_for,
    parse_when,
    positive_int,
    read_file,
    write,
    write_json,
)
from pytest_agentv.cli.groups import in_group
from pytest_agentv.cli.render import clip, short_scores, table, when
from pytest_agentv.index import RunQuery, RunRow
from pytest_agentv.sources import RunSource


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="only runs of this model (exact, or a glob with * ? [)")
    parser.add_argument(
        "--eval", dest="eval_file", metavar="EVAL", help="only runs of this eval (exact, or a glob)"
    )
    parser.add_argument(
        "--since",
        type=parse_when,
        metavar="WHEN",
        help="only runs at or after WHEN (2024-05-01, 2024-05-01T12:00Z, 7d, 12h)",
    )
    parser.add_argument(
        "--until",
        type=lambda v: parse_when(v, end_of_day=True),
        metavar="WHEN",
        help="only runs at or before WHEN (a bare date includes that whole day)",
    )
    parser.add_argument(
        "--limit",
        type=positive_int,
        default=None,
        metavar="N",
        help=f"show at most N runs (default {TABLE_LIMIT} in the table, all with --json; 0: all)",
    )
    parser.add_argument("--group", metavar="ID", help="only the parts of run group ID")
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one flat JSON object per run: the stored summary's fields, pending, commit",
    )


SUMMARY = "summary.json"
#: runs the table shows when --limit is not given (``--json`` returns every run)
TABLE_LIMIT = 20


def run(args: argparse.Namespace) -> int:
    source = open_for(args)
    limit = args.limit if args.limit is not None else (None if args.json else TABLE_LIMIT)
    query = RunQuery(
        model=args.model,
        eval_file=args.eval_file,
        since=args.since,
        until=args.until,
        limit=None if args.group else limit or None,
    )
    rows = source.query(query)
    if args.group:
        rows = in_group(source, rows, args.group)[: limit or None]
    # every summary in one read (one git process on the git backend), not one read per row
    summaries = source.read_each([row.run_id for row in rows], SUMMARY)
    if args.json:
        write_json(
            [
                {
                    **json.loads(
                        summaries.get(row.run_id) or read_file(source, row.run_id, SUMMARY)
                    ),
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
    params = {row.run_id: _params(summaries.get(row.run_id)) for row in rows}
    header: tuple[str, ...] = ("RUN", "TIME (UTC)", "MODEL", "EVAL", "PASSED", "SCORES")
    header += ("SOURCE", "")
    cells: list[tuple[str, ...]] = [_list_cells(row, short[row.run_id]) for row in rows]
    if any(params.values()):  # a PARAMS column only when some run has parameters
        header = (*header[:6], "PARAMS", *header[6:])
        cells = [
            (*c[:6], params[r.run_id] or "-", *c[6:]) for c, r in zip(cells, rows, strict=True)
        ]
    write(table(header, cells))
    if limit is not None and len(rows) == limit:
        print(f"(the newest {limit} runs; --limit N for more, --limit 0 for all)", file=sys.stderr)
    return EXIT_OK


def _summary(source: RunSource, run_id: str) -> bytes:
    return read_file(source, run_id, SUMMARY)  # not found: the one-line error and exit code


def _params(stored: bytes | None) -> str:
    """``agentv_run.params`` as ``k=v`` pairs (read from the summary; empty when none)."""
    if stored is None:
        return ""
    try:
        summary = json.loads(stored)
    except ValueError:
        return ""
    if not isinstance(summary, dict):
        return ""
    params = summary.get("params") or {}
    return clip(" ".join(f"{k}={json.dumps(v)}" for k, v in params.items()), 40) if params else ""


def _list_cells(row: RunRow, short: str) -> tuple[str, ...]:
    return (
        short,
        when(row.timestamp),
        clip(row.model, 24),
        clip(row.eval_file, 32),
        f"{row.passed}/{row.total}",
        short_scores(row.scores) or "-",
        (row.source_commit or "-")[:8],
        "unpushed" if row.pending else "",
    )


EXAMPLES = """examples:
  agentv-results list
  agentv-results list --model gpt-4o --since 7d --limit 50
  agentv-results list --eval 'tests/evals/*' --json | jq '.[] | {runId, counts}'
"""

COMMAND = Command(
    name="list",
    help="list runs, newest first",
    examples=EXAMPLES,
    add_arguments=add_arguments,
    run=run,
)

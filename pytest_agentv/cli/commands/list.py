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
        default=20,
        metavar="N",
        help="show at most N runs (default 20; 0 for all)",
    )
    parser.add_argument("--group", metavar="ID", help="only the parts of run group ID")
    parser.add_argument(
        "--json", action="store_true", help="print the full stored summaries as a JSON array"
    )


def run(args: argparse.Namespace) -> int:
    source = open_for(args)
    query = RunQuery(
        model=args.model,
        eval_file=args.eval_file,
        since=args.since,
        until=args.until,
        limit=None if args.group else args.limit or None,
    )
    rows = source.query(query)
    if args.group:
        rows = in_group(source, rows, args.group)[: args.limit or None]
    if args.json:
        write_json(
            [
                {
                    "summary": json.loads(read_file(source, row.run_id, "summary.json")),
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
    write(
        table(
            ("RUN", "TIME (UTC)", "MODEL", "EVAL", "PASSED", "SCORES", "SOURCE", ""),
            [_list_cells(row, short[row.run_id]) for row in rows],
        )
    )
    return EXIT_OK


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
  agentv-results list --eval 'tests/evals/*' --json | jq '.[].summary.counts'
"""

COMMAND = Command(
    name="list",
    help="list runs, newest first",
    examples=EXAMPLES,
    add_arguments=add_arguments,
    run=run,
)

"""``agentv-results prune``: remove old runs from the tip of the results branch, in one commit."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from pytest_agentv.cli.command import Command
from pytest_agentv.cli.common import (
    EXIT_FINDINGS,
    EXIT_OK,
    CliError,
    open_for,
    positive_int,
    write,
    write_json,
)
from pytest_agentv.index import RunQuery


def _age(text: str) -> str:
    from pytest_agentv.retention import parse_age

    try:
        parse_age(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text.strip()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--older-than",
        type=_age,
        required=True,
        metavar="AGE",
        help="prune runs started more than AGE ago (12h, 90d, 6w)",
    )
    parser.add_argument(
        "--keep-last",
        type=positive_int,
        metavar="N",
        help="always keep the N newest runs, whatever their age",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="say what would be pruned; change nothing"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace) -> int:
    from pytest_agentv.sources import GitRunSource
    from pytest_agentv.store.git import GitArtifactStore
    from pytest_agentv.store.prune import prune_runs

    source = open_for(args)
    if not isinstance(source, GitRunSource) or not isinstance(source.store, GitArtifactStore):
        raise CliError(
            "prune removes runs from a git results branch (--backend git); the local backend "
            "keeps each run as a directory: delete the ones you no longer need"
        )
    rows = source.query(RunQuery())
    when = {row.run_id: row.timestamp for row in rows}
    result = prune_runs(
        source.store,
        when.items(),
        datetime.now(UTC),
        args.older_than,
        keep_last=args.keep_last,
        dry_run=args.dry_run,
    )
    plan = result.plan
    cutoff = plan.cutoff.strftime("%Y-%m-%dT%H:%M:%SZ")
    if args.json:
        write_json(
            {
                "dry_run": result.dry_run,
                "older_than": plan.older_than,
                "cutoff": cutoff,
                "keep_last": plan.keep_last,
                "pruned": [{"run_id": r, "timestamp": when[r]} for r in plan.prune],
                "kept": plan.keep,
                "commit": result.commit,
                "pushed": result.pushed,
                "problems": list(result.problems),
            }
        )
        return EXIT_FINDINGS if result.problems else EXIT_OK
    branch = source.settings.branch
    verb = "would prune" if result.dry_run else "pruned"
    lines = [
        f"{verb} {len(plan.prune)} run(s) started before {cutoff} (older than {plan.older_than})"
        + (f", keeping the {plan.keep_last} newest" if plan.keep_last is not None else "")
        + f"; {plan.keep} run(s) stay on branch {branch}"
    ]
    lines += [f"  {run_id}  {when[run_id]}" for run_id in plan.prune]
    if result.commit:
        where = "pushed" if result.pushed else "committed locally, not pushed yet"
        lines.append(f"commit {result.commit[:12]} ({where}); history keeps the pruned runs")
    lines += [f"  problem: {problem}" for problem in result.problems]
    write("\n".join(lines) + "\n")
    return EXIT_FINDINGS if result.problems else EXIT_OK


EXAMPLES = """examples:
  agentv-results prune --older-than 90d --dry-run
  agentv-results prune --older-than 90d --keep-last 100
  agentv-results prune --older-than 26w --json
"""

COMMAND = Command(
    name="prune",
    help="remove runs older than an age from the tip of the branch (history keeps them)",
    examples=EXAMPLES,
    add_arguments=add_arguments,
    run=run,
)

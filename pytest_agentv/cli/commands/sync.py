"""``agentv-results sync``: deliver runs kept locally (spooled or committed but unpushed)."""

from __future__ import annotations

import argparse

from pytest_agentv.cli.command import Command
from pytest_agentv.cli.common import EXIT_FINDINGS, EXIT_OK, open_for, write, write_json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace) -> int:
    source = open_for(args, reads=False)
    outcome = source.sync()
    if args.json:
        write_json(
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
        write("\n".join(lines) + "\n")
    return EXIT_FINDINGS if outcome.problems else EXIT_OK


EXAMPLES = """examples:
  agentv-results sync
  agentv-results sync --remote origin --json
"""

COMMAND = Command(
    name="sync",
    help="push runs committed locally but not yet on the remote",
    examples=EXAMPLES,
    add_arguments=add_arguments,
    run=run,
)

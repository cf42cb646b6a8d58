"""``history <slug>``: every event of an agent, from git (who, when, which commit)."""

from __future__ import annotations

import argparse

from pytest_agentv.cli.command import Command
from pytest_agentv.releases.commands.common import Context


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("slug")


def run(ctx: Context, args: argparse.Namespace) -> int:
    ctx.store.refresh()
    events = ctx.store.history(args.slug)
    lines = [
        f"{e.timestamp}  {e.commit[:12]}  {e.event or 'edit (no AgentV-Event)':<16}  "
        f"{e.author}  {e.subject}"
        for e in events
    ]
    ctx.emit([e.to_json() for e in events], lines or [f"no history for {args.slug}"])
    return 0


EXAMPLES = """\
examples:
  agentv-release history support-agent
  agentv-release history support-agent --json | jq '.[] | select(.event == null)'
"""

COMMAND = Command(
    name="history",
    help="every event of an agent, from the branch's history",
    examples=EXAMPLES,
    add_arguments=add_arguments,
    run=lambda args: run(Context.from_args(args), args),
)

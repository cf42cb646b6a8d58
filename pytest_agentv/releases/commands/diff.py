"""``diff <slug> <from> <to>``: every changed leaf of the config, by dotted path."""

from __future__ import annotations

import argparse
import json

from pytest_agentv.cli.command import Command
from pytest_agentv.releases.commands.common import Context
from pytest_agentv.releases.diff import diff_releases


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("slug")
    parser.add_argument("old", type=int, metavar="from")
    parser.add_argument("new", type=int, metavar="to")


def run(ctx: Context, args: argparse.Namespace) -> int:
    ctx.store.refresh()
    state = ctx.store.state(args.slug)
    changes = diff_releases(state.get(args.old), state.get(args.new))
    lines = [f"{c.path}: {_show(c.old)} -> {_show(c.new)}" for c in changes]
    ctx.emit([c.to_json() for c in changes], lines or ["no differences"])
    return 0


def _show(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


EXAMPLES = """\
examples:
  agentv-release diff support-agent 3 5
"""

COMMAND = Command(
    name="diff",
    help="what changed between two versions ([{path, from, to}])",
    examples=EXAMPLES,
    add_arguments=add_arguments,
    run=lambda args: run(Context.from_args(args), args),
)

"""``deploy <slug> <version>``: make a release that passed its gate the current one (rollback)."""

from __future__ import annotations

import argparse

from pytest_agentv.cli.command import Command
from pytest_agentv.releases.commands.common import Context
from pytest_agentv.releases.operations import plan_deploy


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("slug")
    parser.add_argument("version", type=int)


def run(ctx: Context, args: argparse.Namespace) -> int:
    result = ctx.store.apply(args.slug, lambda state: plan_deploy(state, args.version))
    return ctx.finish(result, "deployed")


EXAMPLES = """\
examples:
  agentv-release deploy support-agent 3      # roll back to v3
"""

COMMAND = Command(
    name="deploy",
    help="deploy (roll back to) a version that passed its gate",
    examples=EXAMPLES,
    add_arguments=add_arguments,
    run=lambda args: run(Context.from_args(args), args),
)

"""``delete <slug>``: current.yaml becomes a tombstone; every release file stays."""

from __future__ import annotations

import argparse

from pytest_agentv.cli.command import Command
from pytest_agentv.releases.commands.common import Context
from pytest_agentv.releases.operations import plan_delete
from pytest_agentv.releases.store import now_utc


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("slug")
    parser.add_argument("--reason", default="", help="recorded as the tombstone's changelog")
    parser.add_argument("--author", help="who deleted it (default: the git identity)")


def run(ctx: Context, args: argparse.Namespace) -> int:
    author = args.author or ctx.store.identity
    result = ctx.store.apply(
        args.slug,
        lambda state: plan_delete(state, author=author, timestamp=now_utc(), reason=args.reason),
    )
    return ctx.finish(result, "deleted")


EXAMPLES = """\
examples:
  agentv-release delete support-agent --reason 'replaced by triage-agent'
"""

COMMAND = Command(
    name="delete",
    help="retire an agent: current.yaml becomes a tombstone, release files stay",
    examples=EXAMPLES,
    add_arguments=add_arguments,
    run=lambda args: run(Context.from_args(args), args),
)

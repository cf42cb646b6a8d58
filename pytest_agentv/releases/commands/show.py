"""``show <slug> [version]``: a release file, or ``current.yaml``, as stored."""

from __future__ import annotations

import argparse
import sys

from pytest_agentv.cli.command import Command
from pytest_agentv.releases.canonical import canonical_bytes
from pytest_agentv.releases.commands.common import Context
from pytest_agentv.releases.errors import NotFoundError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("slug")
    parser.add_argument("version", nargs="?", type=int, help="a version (default: current.yaml)")


def run(ctx: Context, args: argparse.Namespace) -> int:
    ctx.store.refresh()
    state = ctx.store.state(args.slug)
    if not state.releases and state.current is None:
        raise NotFoundError(f"no agent {args.slug!r} on the releases {ctx.store.describe()}")
    if args.version is None:
        if state.current is None:
            raise NotFoundError(f"{args.slug} has no current.yaml (no release was ever activated)")
        artifact = state.current
    else:
        artifact = state.get(args.version)
    if ctx.as_json:
        ctx.emit(artifact.model_dump(mode="json", by_alias=True), [])
    else:
        sys.stdout.write(canonical_bytes(artifact).decode("utf-8"))
    return 0


EXAMPLES = """\
examples:
  agentv-release show support-agent          # current.yaml
  agentv-release show support-agent 3 --json
"""

COMMAND = Command(
    name="show",
    help="show one release (default: current.yaml)",
    examples=EXAMPLES,
    add_arguments=add_arguments,
    run=lambda args: run(Context.from_args(args), args),
)

"""``create <file.yaml>``: a new pending_eval release of the agent the file names."""

from __future__ import annotations

import argparse
from pathlib import Path

from pytest_agentv.cli.command import Command
from pytest_agentv.releases.commands.common import Context
from pytest_agentv.releases.errors import MISSING, ArtifactError, Problem
from pytest_agentv.releases.loading import load_draft
from pytest_agentv.releases.operations import plan_create
from pytest_agentv.releases.store import now_utc


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="an AgentRelease YAML file")
    parser.add_argument("--changelog", help="what changed (default: metadata.changelog)")
    parser.add_argument("--author", help="who made it (default: the git identity)")


def run(ctx: Context, args: argparse.Namespace) -> int:
    file = str(args.file)
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise ArtifactError(file, [Problem("", MISSING, f"cannot read: {exc.strerror}")]) from None
    draft = load_draft(data, file)
    store = ctx.store
    author = args.author or store.identity
    result = store.apply(
        draft.metadata.name,
        lambda state: plan_create(
            state, draft, file=file, author=author, timestamp=now_utc(), changelog=args.changelog
        ),
    )
    return ctx.finish(result, "created")


EXAMPLES = """\
examples:
  agentv-release create agents/support-agent.yaml --changelog 'Warmer greeting'
  agentv-release create support.yaml --json | jq .version
"""

COMMAND = Command(
    name="create",
    help="create the next version of an agent from a release file (status pending_eval)",
    examples=EXAMPLES,
    add_arguments=add_arguments,
    run=lambda args: run(Context.from_args(args), args),
)

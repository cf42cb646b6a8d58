"""``list [<slug>]``: every agent with its current release, or every version of one agent."""

from __future__ import annotations

import argparse

from pytest_agentv.cli.command import Command
from pytest_agentv.releases.commands.common import Context
from pytest_agentv.releases.models import AgentRelease


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("slug", nargs="?", help="an agent: list its versions")


def run(ctx: Context, args: argparse.Namespace) -> int:
    store = ctx.store
    store.refresh()
    if args.slug is None:
        rows = []
        for slug in store.agents():
            state = store.state(slug)
            current = state.current
            rows.append(
                {
                    "agent": slug,
                    "versions": len(state.releases),
                    "latest": state.latest.version if state.latest else None,
                    "current": current.metadata.version if current else None,
                    "current_status": current.metadata.status if current else None,
                }
            )
        lines = [
            f"{r['agent']}: {r['versions']} version(s), latest v{r['latest']}, current "
            + (f"v{r['current']} ({r['current_status']})" if r["current"] else "none")
            for r in rows
        ]
        ctx.emit(rows, lines or ["no agents"])
        return 0
    state = store.state(args.slug)
    releases = [state.releases[n].release for n in sorted(state.releases)]
    ctx.emit(
        [_row(r) for r in releases], [_line(r) for r in releases] or [f"no releases of {args.slug}"]
    )
    return 0


def _row(release: AgentRelease) -> dict[str, object]:
    metadata = release.metadata
    return {
        "version": metadata.version,
        "status": metadata.status,
        "timestamp": metadata.timestamp,
        "author": metadata.author,
        "changelog": metadata.changelog,
        "checksum": metadata.checksum,
        "eval_run": metadata.evaluation.run_id if metadata.evaluation else None,
        "score": metadata.evaluation.score if metadata.evaluation else None,
    }


def _line(release: AgentRelease) -> str:
    metadata = release.metadata
    score = f" score {metadata.evaluation.score:g}" if metadata.evaluation else ""
    head = f"v{metadata.version}  {metadata.status:<12} {metadata.timestamp}"
    return f"{head}{score}  {metadata.changelog}"


EXAMPLES = """\
examples:
  agentv-release list
  agentv-release list support-agent --json
"""

COMMAND = Command(
    name="list",
    help="list agents, or the versions of one agent",
    examples=EXAMPLES,
    add_arguments=add_arguments,
    run=lambda args: run(Context.from_args(args), args),
)

"""``diff <slug> <from> <to>``: every changed leaf of the config, by dotted path."""

from __future__ import annotations

import argparse
import json

from pytest_agentv.releases.commands.common import Context
from pytest_agentv.releases.diff import diff_releases

NAME = "diff"
HELP = "what changed between two versions ([{path, from, to}])"


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

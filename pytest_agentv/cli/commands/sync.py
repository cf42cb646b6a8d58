"""``agentv-results sync``: deliver runs kept locally (spooled or committed but unpushed).

A spooled run remembers where it was going (``destination.json``, without credentials). With no
destination option, ``sync`` delivers every spooled run to its own destination; with one
(``--backend``, ``--remote``, ``--branch``, ``--path``, ``--local-dir``) only to that one.
"""

from __future__ import annotations

import argparse

from pytest_agentv.cli.command import Command
from pytest_agentv.cli.common import (
    EXIT_FINDINGS,
    EXIT_OK,
    open_for,
    settings_from_args,
    write,
    write_json,
)
from pytest_agentv.options import OPTIONS
from pytest_agentv.sources import SyncOutcome, open_source

_DESTINATION_KEYS = ("backend", "remote", "branch", "path", "local_dir")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def _destination_given(args: argparse.Namespace) -> bool:
    keys = {spec.key for spec in OPTIONS if spec.cli_flag} & set(_DESTINATION_KEYS)
    return any(getattr(args, key, None) is not None for key in keys)


def _elsewhere(args: argparse.Namespace) -> list[tuple[str, SyncOutcome, str]]:
    """Sync spooled runs bound for destinations other than the configured one."""
    from pytest_agentv.store import destination_of, settings_for
    from pytest_agentv.store.spool import project_spool

    settings = settings_from_args(args)
    here = destination_of(settings)
    spool = project_spool(settings.rootdir)
    others = []
    found = [spool.destination_of(run_id) for run_id in spool.all_run_ids()]
    for destination in [*found, *spool.unpushed_destinations()]:
        if destination is not None and destination != here and destination not in others:
            others.append(destination)
    outcomes = []
    for destination in others:
        source = open_source(settings_for(settings, destination))
        try:
            verb = "pushed" if destination.backend == "git" else "moved"
            outcomes.append((destination.describe(), source.sync(), verb))
        finally:
            source.close()
    return outcomes


def run(args: argparse.Namespace) -> int:
    source = open_for(args, reads=False)
    verb = "pushed" if source.backend == "git" else "moved"
    outcomes = [(source.describe(), source.sync(), verb)]
    if not _destination_given(args):
        outcomes += _elsewhere(args)
    problems = [problem for _w, outcome, _v in outcomes for problem in outcome.problems]
    if args.json:
        write_json(
            {
                "message": "; ".join(outcome.message for _w, outcome, _v in outcomes),
                "pushed": [run_id for _w, o, _v in outcomes for run_id in o.pushed],
                "pending": [run_id for _w, o, _v in outcomes for run_id in o.pending],
                "problems": problems,
                "destinations": [
                    {
                        "destination": where,
                        "message": outcome.message,
                        "delivered": list(outcome.pushed),
                        "pending": list(outcome.pending),
                        "problems": list(outcome.problems),
                    }
                    for where, outcome, _v in outcomes
                ],
            }
        )
    else:
        lines = []
        for where, outcome, verb in outcomes:
            if len(outcomes) > 1:
                lines.append(f"{where}:")
            lines.append(outcome.message)
            lines += [f"  {verb:<8} {run_id}" for run_id in outcome.pushed]
            lines += [f"  pending  {run_id}" for run_id in outcome.pending]
            lines += [f"  problem: {problem}" for problem in outcome.problems]
        write("\n".join(lines) + "\n")
    return EXIT_FINDINGS if problems else EXIT_OK


EXAMPLES = """examples:
  agentv-results sync                   # every kept run, each to where it was going
  agentv-results sync --remote origin --json
"""

COMMAND = Command(
    name="sync",
    help="deliver kept runs: spooled ones to their own destination, unpushed commits",
    examples=EXAMPLES,
    add_arguments=add_arguments,
    run=run,
)

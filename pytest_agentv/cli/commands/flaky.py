"""``agentv-results flaky``: per test, pass rate with a Wilson interval and flip rate."""

from __future__ import annotations

import argparse

from pytest_agentv.cli.command import Command
from pytest_agentv.cli.common import EXIT_OK, write, write_json
from pytest_agentv.cli.history import add_history_arguments, history_for


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--only-flaky", action="store_true", help="list only the flaky tests")
    add_history_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from pytest_agentv.trends import flakiness, render_flakiness

    runs = history_for(args)
    tests = flakiness(runs)
    if args.only_flaky:
        tests = [t for t in tests if t.flaky]
    if args.json:
        write_json({"runs": [r.run_id for r in runs], "tests": [t.to_json() for t in tests]})
    else:
        write(render_flakiness(tests, len(runs)))
    return EXIT_OK


EXAMPLES = """examples:
  agentv-results flaky --last 50
  agentv-results flaky --only-flaky --json
"""

COMMAND = Command(
    name="flaky",
    help="per test: pass rate with a Wilson interval and flip rate; flaky tests first",
    examples=EXAMPLES,
    add_arguments=add_arguments,
    run=run,
)

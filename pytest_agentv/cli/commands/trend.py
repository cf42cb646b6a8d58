"""``agentv-results trend``: each metric's series over the last runs, its slope and interval."""

from __future__ import annotations

import argparse

from pytest_agentv.cli.command import Command
from pytest_agentv.cli.common import EXIT_FINDINGS, EXIT_OK, write, write_json
from pytest_agentv.cli.history import add_history_arguments, history_for


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--metric", metavar="M", help="only this metric")
    parser.add_argument("--test", metavar="NODEID", help="only this test (and no run-level series)")
    parser.add_argument(
        "--fail-on-degrading", action="store_true", help="exit 1 when any series degrades"
    )
    add_history_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from pytest_agentv.trends import metric_trends, render_trends

    runs = history_for(args)
    trends = metric_trends(runs, metric=args.metric, nodeid=args.test)
    if args.json:
        write_json({"runs": [r.run_id for r in runs], "trends": [t.to_json() for t in trends]})
    else:
        write(render_trends(trends, len(runs)))
    degrading = any(t.degrading for t in trends)
    return EXIT_FINDINGS if args.fail_on_degrading and degrading else EXIT_OK


EXAMPLES = """A series is DEGRADING when the 95 % interval of its slope lies on the worse
side of zero (docs/gates.md).

examples:
  agentv-results trend --last 30
  agentv-results trend --metric accuracy --test 'evals/test_qa.py::test_refund' --json
  agentv-results trend --model gpt-4o --fail-on-degrading
"""

COMMAND = Command(
    name="trend",
    help="per metric and per test: values over the last runs, slope and interval",
    examples=EXAMPLES,
    add_arguments=add_arguments,
    run=run,
)

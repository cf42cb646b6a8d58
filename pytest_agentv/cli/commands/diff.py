"""``agentv-results diff``: two runs compared test by test (rules: :mod:`pytest_agentv.diff`)."""

from __future__ import annotations

import argparse

from pytest_agentv.cli.command import Command
from pytest_agentv.cli.common import (
    EXIT_FINDINGS,
    EXIT_OK,
    CliError,
    open_for,
    tolerance,
    write,
    write_json,
)
from pytest_agentv.cli.groups import run_or_group
from pytest_agentv.stats import CLUSTER_BY


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "base", metavar="BASE", help="the run to compare against (old); group:ID for a run group"
    )
    parser.add_argument("new", metavar="NEW", help="the run being judged (new); or group:ID")
    parser.add_argument(
        "--tolerance",
        type=tolerance,
        default=0.0,
        metavar="X",
        help="score drops up to X are not regressions (default 0)",
    )
    parser.add_argument(
        "--fail-on-regression", action="store_true", help="exit 1 when anything regressed"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--markdown", action="store_true", help="print the report as Markdown")
    parser.add_argument(
        "--stats",
        action="store_true",
        help="add paired, clustered statistics per metric; --fail-on-regression then fails "
        "only on a regression the statistics show (docs/gates.md)",
    )
    parser.add_argument(
        "--cluster-by",
        choices=CLUSTER_BY,
        default="module",
        help="with --stats: how tests are clustered (default module)",
    )


def run(args: argparse.Namespace) -> int:
    from pytest_agentv.diff import diff_runs, render_markdown, render_text

    if args.json and args.markdown:
        raise CliError("choose one of --json and --markdown")
    source = open_for(args)
    before, after = run_or_group(source, args.base), run_or_group(source, args.new)
    result = diff_runs(before, after, args.tolerance)
    regressed = result.regressed
    stats = None
    if args.stats:
        from pytest_agentv.gate_render import render_stats
        from pytest_agentv.gates import compare_runs

        stats = compare_runs(before, after, args.cluster_by)
        regressed = stats.failed  # with --stats, "regressed" is the statistical verdict
    if args.json:
        report = result.to_json()
        if stats is not None:
            report["stats"] = stats.to_json()["rows"]
            report["regressed"] = regressed
        write_json(report)
    elif args.markdown:
        write(render_markdown(result))
        if stats is not None:
            write("\n```\n" + render_stats(stats) + "```\n")
    else:
        write(render_text(result))
        if stats is not None:
            write("\n" + render_stats(stats))
    return EXIT_FINDINGS if args.fail_on_regression and regressed else EXIT_OK


EXAMPLES = """A test regressed when its outcome went from
passed/xfailed/xpassed to failed/error, or when one of its scores fell below its
threshold or dropped by more than --tolerance (docs/cli.md has the exact rules).

examples:
  agentv-results diff latest~1 latest
  agentv-results diff 3f9a2c1b latest --markdown > comment.md
  agentv-results diff main-baseline-id latest --fail-on-regression --tolerance 0.05
  agentv-results diff latest~1 latest --stats --fail-on-regression
  agentv-results diff group:pipeline-41 group:pipeline-42 --stats
"""

COMMAND = Command(
    name="diff",
    help="compare two runs test by test",
    examples=EXAMPLES,
    add_arguments=add_arguments,
    run=run,
)

"""``agentv-results diff``: two runs compared test by test (rules: :mod:`pytest_agentv.diff`)."""

from __future__ import annotations

import argparse

from pytest_agentv.cli.command import Command
from pytest_agentv.cli.common import (
    EXIT_FINDINGS,
    EXIT_OK,
    CliError,
    load_metadata,
    open_for,
    resolve,
    tolerance,
    write,
    write_json,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("base", metavar="BASE", help="the run to compare against (old)")
    parser.add_argument("new", metavar="NEW", help="the run being judged (new)")
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


def run(args: argparse.Namespace) -> int:
    from pytest_agentv.diff import diff_runs, render_markdown, render_text

    if args.json and args.markdown:
        raise CliError("choose one of --json and --markdown")
    source = open_for(args)
    before_id, after_id = resolve(source, args.base), resolve(source, args.new)
    result = diff_runs(
        load_metadata(source, before_id), load_metadata(source, after_id), args.tolerance
    )
    if args.json:
        write_json(result.to_json())
    elif args.markdown:
        write(render_markdown(result))
    else:
        write(render_text(result))
    return EXIT_FINDINGS if args.fail_on_regression and result.regressed else EXIT_OK


EXAMPLES = """A test regressed when its outcome went from
passed/xfailed/xpassed to failed/error, or when one of its scores fell below its
threshold or dropped by more than --tolerance (docs/cli.md has the exact rules).

examples:
  agentv-results diff latest~1 latest
  agentv-results diff 3f9a2c1b latest --markdown > comment.md
  agentv-results diff main-baseline-id latest --fail-on-regression --tolerance 0.05
"""

COMMAND = Command(
    name="diff",
    help="compare two runs test by test",
    examples=EXAMPLES,
    add_arguments=add_arguments,
    run=run,
)

"""``agentv-results verify``: stored files against their checksums (:mod:`pytest_agentv.verify`)."""

from __future__ import annotations

import argparse

from pytest_agentv.cli.command import Command
from pytest_agentv.cli.common import EXIT_FINDINGS, EXIT_OK, open_for, resolve, write, write_json
from pytest_agentv.sources import RunSource


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "run",
        metavar="RUN",
        nargs="?",
        help="verify only this run (default: every run and the store layout)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="print only problems and the total"
    )


def run(args: argparse.Namespace) -> int:
    source = open_for(args)
    if args.run:
        run_ids = [resolve(source, args.run)]
        store_problems: list[str] = []
    else:
        run_ids = source.run_ids()
        store_problems = source.layout_problems(None)
    results = [(run_id, _verify(source, run_id)) for run_id in run_ids]
    bad = sum(1 for _, problems in results if problems)
    ok = not bad and not store_problems
    if args.json:
        write_json(
            {
                "ok": ok,
                "checked": len(results),
                "failed": bad,
                "storeProblems": store_problems,
                "runs": [{"runId": r, "ok": not p, "problems": p} for r, p in results],
            }
        )
    else:
        lines = [f"store: {problem}" for problem in store_problems]
        for run_id, problems in results:
            if problems:
                lines += [f"FAIL {run_id}: {problem}" for problem in problems]
            elif not args.quiet:
                lines.append(f"ok   {run_id}")
        lines.append(
            f"verified {len(results)} run(s) in {source.describe()}: "
            f"{len(results) - bad} ok, {bad} with problems"
            + (f", {len(store_problems)} store problem(s)" if store_problems else "")
        )
        write("\n".join(lines) + "\n")
    return EXIT_OK if ok else EXIT_FINDINGS


def _verify(source: RunSource, run_id: str) -> list[str]:
    from pytest_agentv.store.base import RunNotFound
    from pytest_agentv.store.paths import RUN_FILES
    from pytest_agentv.verify import verify_run

    files: dict[str, bytes] = {}
    for name in RUN_FILES:
        try:
            files[name] = source.read(run_id, name)
        except RunNotFound:
            continue
    row = source.row(run_id)
    counts = None
    if row is not None:
        counts = (row.total, row.passed, row.failed, row.skipped, row.errors)
    return verify_run(run_id, files, source.layout_problems(run_id), counts)


EXAMPLES = """examples:
  agentv-results verify
  agentv-results verify 3f9a2c1b --json
"""

COMMAND = Command(
    name="verify",
    help="check stored files against the checksums in each summary.json",
    examples=EXAMPLES,
    add_arguments=add_arguments,
    run=run,
)

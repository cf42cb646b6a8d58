"""``agentv-results export``: one run as JUnit XML and/or one JSON document."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pytest_agentv.cli.command import Command
from pytest_agentv.cli.common import (
    EXIT_OK,
    CliError,
    load_metadata,
    load_summary,
    load_transcript,
    open_for,
    resolve,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="run id, unique prefix, latest or latest~N")
    parser.add_argument("--junit", metavar="FILE", help="write JUnit XML to FILE ('-': stdout)")
    parser.add_argument(
        "--json",
        dest="json_file",
        metavar="FILE",
        help="write summary, metadata and transcript as one JSON document",
    )


def run(args: argparse.Namespace) -> int:
    from pytest_agentv.export import to_json, to_junit

    source = open_for(args)
    run_id = resolve(source, args.run)
    metadata = load_metadata(source, run_id)
    transcript = load_transcript(source, run_id)
    outputs: list[tuple[str, bytes]] = []
    if args.junit:
        outputs.append((args.junit, to_junit(metadata, transcript)))
    if args.json_file:
        outputs.append(
            (args.json_file, to_json(load_summary(source, run_id), metadata, transcript))
        )
    for target, data in outputs:
        if target == "-":
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
            continue
        try:
            Path(target).write_bytes(data)
        except OSError as exc:
            raise CliError(f"cannot write {target}: {exc.strerror}") from None
        print(f"wrote {target} (run {run_id})", file=sys.stderr)
    return EXIT_OK


def check(args: argparse.Namespace) -> str | None:
    if not (args.junit or args.json_file):
        return "export: give --junit FILE and/or --json FILE"
    return None


EXAMPLES = """examples:
  agentv-results export latest --junit agentv-junit.xml
  agentv-results export 3f9a2c1b --json run.json
  agentv-results export latest --junit -      # to stdout
"""

COMMAND = Command(
    name="export",
    help="write one run as JUnit XML or JSON",
    examples=EXAMPLES,
    add_arguments=add_arguments,
    run=run,
    check=check,
)

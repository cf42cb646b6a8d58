"""``agentv-results show``: one run (header and per-test table), its transcript or a stored file."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from pytest_agentv.cli.command import Command
from pytest_agentv.cli.common import (
    EXIT_FINDINGS,
    EXIT_OK,
    FILE_CHOICES,
    CliError,
    load_metadata,
    load_transcript,
    open_for,
    read_file,
    resolve,
    write,
    write_json,
)
from pytest_agentv.cli.groups import GROUP_PREFIX, load_group
from pytest_agentv.cli.render import render_show, render_transcript
from pytest_agentv.sources import RunSource

if TYPE_CHECKING:
    from pytest_agentv.models import TranscriptEvent


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "run", metavar="RUN", help="run id, unique prefix, latest, latest~N or group:ID"
    )
    parser.add_argument("--transcript", action="store_true", help="print the transcript messages")
    parser.add_argument("--test", metavar="NODEID", help="with --transcript: only this test")
    parser.add_argument(
        "--file", choices=sorted(FILE_CHOICES), help="print one stored file exactly as stored"
    )
    parser.add_argument("--json", action="store_true", help="print the run as JSON")


def run(args: argparse.Namespace) -> int:
    source = open_for(args)
    if args.run.startswith(GROUP_PREFIX):
        return _show_group(args, source)
    run_id = resolve(source, args.run)
    if args.file:
        sys.stdout.flush()
        sys.stdout.buffer.write(read_file(source, run_id, FILE_CHOICES[args.file]))
        sys.stdout.buffer.flush()
        return EXIT_OK
    if args.test and not args.transcript:
        raise CliError("--test selects transcript messages; use it with --transcript")
    if args.transcript:
        events = load_transcript(source, run_id)
        if args.test:
            events = _only_test(events, args.test, source, run_id)
        if args.json:
            write_json([event.model_dump(mode="json") for event in events])
        else:
            write(render_transcript(events))
        return EXIT_OK
    metadata = load_metadata(source, run_id)
    pending = run_id in source.pending()
    if args.json:
        write_json(
            {
                "summary": json.loads(read_file(source, run_id, "summary.json")),
                "metadata": metadata.model_dump(mode="json", by_alias=True),
                "pending": pending,
            }
        )
        return EXIT_OK
    write(render_show(metadata, pending=pending, git=source.backend == "git"))
    return EXIT_OK


def _show_group(args: argparse.Namespace, source: RunSource) -> int:
    group = args.run.removeprefix(GROUP_PREFIX)
    if args.file or args.transcript:
        raise CliError(
            "a run group has no single file or transcript; show one of its parts "
            f"(agentv-results list --group {group})"
        )
    metadata, parts = load_group(source, group)
    if args.json:
        write_json(
            {
                "group": group,
                "parts": parts,
                "metadata": metadata.model_dump(mode="json", by_alias=True),
            }
        )
        return EXIT_OK
    write(f"run group {group}: {len(parts)} run(s): {', '.join(parts)}\n")
    write(render_show(metadata, git=source.backend == "git"))
    return EXIT_OK


def _only_test(
    events: list[TranscriptEvent], nodeid: str, source: RunSource, run_id: str
) -> list[TranscriptEvent]:
    chosen = [event for event in events if event.test == nodeid]
    if chosen:
        return chosen
    tests = {test.nodeid for test in load_metadata(source, run_id).tests}
    if nodeid in tests:
        return []
    near = sorted(t for t in tests if nodeid in t)[:5]
    hint = f"; did you mean: {', '.join(near)}" if near else ""
    raise CliError(f"run {run_id} has no test {nodeid!r}{hint}", EXIT_FINDINGS)


EXAMPLES = """examples:
  agentv-results show 3f9a2c1b
  agentv-results show latest --transcript --test 'tests/evals/test_qa.py::test_refund'
  agentv-results show latest~1 --file metadata > metadata.json
"""

COMMAND = Command(
    name="show",
    help="show one run: metadata and per-test results",
    examples=EXAMPLES,
    add_arguments=add_arguments,
    run=run,
)

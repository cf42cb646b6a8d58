"""``agentv-results gate``: the plugin's gates on a stored run or a run group (docs/gates.md)."""

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
    settings_from_args,
    write,
    write_json,
)
from pytest_agentv.cli.groups import load_group
from pytest_agentv.options import OPTIONS, argparse_type


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", nargs="?", help="the run to gate (default latest)")
    parser.add_argument("--group", metavar="ID", help="gate the parts of run group ID as one run")
    # the plugin's gate settings, named --min-score etc. (cli_command "gate" in the option table)
    for spec in OPTIONS:
        if spec.cli_command != "gate" or spec.cli_flag is None:
            continue
        help = f"{spec.help} [env {spec.env}]"
        if spec.kind == "bool":
            parser.add_argument(
                spec.cli_flag, dest=spec.key, action="store_true", default=None, help=help
            )
            continue
        parser.add_argument(
            spec.cli_flag,
            dest=spec.key,
            metavar=spec.value_name,
            type=argparse_type(spec.check) if spec.check else str,
            action="append" if spec.kind == "metric_map" else "store",
            help=help,
        )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def check(args: argparse.Namespace) -> str | None:
    return "give a run or --group, not both" if args.group and args.run else None


def run(args: argparse.Namespace) -> int:
    from pytest_agentv.baseline import ThisRun
    from pytest_agentv.gate_render import render_gate_table
    from pytest_agentv.gate_run import gate_run
    from pytest_agentv.gate_settings import gate_settings

    settings = settings_from_args(args)
    gates = gate_settings(settings)
    if not gates.spec.enabled:
        raise CliError(
            "no gate to evaluate: give --min-score, --min-pass-rate, --max-regression or "
            "--fail-on-regression, or set gates: in .agentv/config.yaml"
        )
    source = open_for(args)
    parts: list[str] = []
    if args.group:
        metadata, parts = load_group(source, args.group)
    else:
        metadata = load_metadata(source, resolve(source, args.run or "latest"))
    this = ThisRun(
        metadata.run_id, metadata.model, metadata.eval_file, metadata.source_branch, tuple(parts)
    )
    report = gate_run(metadata, gates.spec, gates.baseline, lambda: source, settings.rootdir, this)
    if args.json:
        write_json(
            {"run": metadata.run_id, "group": args.group, "parts": parts, **report.to_json()}
        )
    else:
        what = (
            f"run group {args.group} ({len(parts)} runs)"
            if args.group
            else (f"run {metadata.run_id}")
        )
        write("\n".join([f"gates of {what}", *render_gate_table(report)]) + "\n")
    return EXIT_FINDINGS if report.failed else EXIT_OK


EXAMPLES = """exit codes: 0 pass or inconclusive, 1 a gate failed, 2 usage or store error.

examples:
  agentv-results gate latest --min-score accuracy=0.8
  agentv-results gate --group "$CI_PIPELINE_ID" --baseline latest:branch=main \\
      --max-regression accuracy=0.03
  agentv-results gate 3f9a2c1b --baseline merge-base --fail-on-regression --json
"""

COMMAND = Command(
    name="gate",
    help="evaluate gates on a stored run or a run group (docs/gates.md)",
    examples=EXAMPLES,
    add_arguments=add_arguments,
    run=run,
    check=check,
)

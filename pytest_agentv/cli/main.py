"""``agentv-results``: the parser, built from the one command table, and the entry point.

Adding a command is a new module in :mod:`pytest_agentv.cli.commands` and one line in
:data:`COMMANDS`. Heavy imports (pydantic models, git) happen inside the commands that need
them, so the warm path of ``list`` stays short.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from pytest_agentv.cli.command import Command
from pytest_agentv.cli.commands import (
    dashboard,
    diff,
    export,
    flaky,
    gate,
    prune,
    show,
    sync,
    trend,
    verify,
)
from pytest_agentv.cli.commands import list as list_
from pytest_agentv.cli.common import (
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    CliError,
    Parser,
    write,
)
from pytest_agentv.options import OPTIONS, SettingsError, argparse_type

#: every command, in the order ``--help`` lists them
COMMANDS: tuple[Command, ...] = (
    list_.COMMAND,
    show.COMMAND,
    diff.COMMAND,
    gate.COMMAND,
    trend.COMMAND,
    flaky.COMMAND,
    sync.COMMAND,
    verify.COMMAND,
    export.COMMAND,
    dashboard.COMMAND,
    prune.COMMAND,
)


def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    # added to the main parser and to every command, so flags work before or after the command;
    # SUPPRESS on commands keeps an absent flag from hiding one given before the command
    default: Any = argparse.SUPPRESS if suppress else None
    group = parser.add_argument_group("where runs are read from (same settings as the plugin)")
    for spec in OPTIONS:
        if spec.cli_flag is None or spec.cli_command is not None:
            continue
        group.add_argument(
            spec.cli_flag,
            dest=spec.key,
            default=default,
            metavar=spec.value_name,
            type=argparse_type(spec.check) if spec.check else str,
            help=f"{spec.help} [env {spec.env}]",
        )
    group.add_argument(
        "--rootdir",
        type=Path,
        default=default,
        metavar="DIR",
        help="project root holding .agentv/ (default: nearest parent of the current "
        "directory with .agentv/ or .git)",
    )
    group.add_argument(
        "--fetch",
        action=argparse.BooleanOptionalAction,
        default=default,
        help="update the branch from the remote first (default: on when a remote is configured)",
    )


_EPILOG = """commands print reports for people; add --json for machines.

exit codes:
  0  success
  1  findings: a regression (diff --fail-on-regression), a failed gate, a degrading series
     (trend --fail-on-degrading), a verification problem, runs left unpushed by sync, or a
     run reference that names no run or more than one
  2  usage or configuration error, or the store could not be read

examples:
  agentv-results list --limit 5
  agentv-results show latest
  agentv-results diff latest~1 latest --fail-on-regression
"""


def build_parser() -> argparse.ArgumentParser:
    """The ``agentv-results`` argument parser."""
    parser = Parser(
        prog=PROG,
        description="Read back the eval runs pytest-agentv recorded.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    _global_options(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for command in COMMANDS:
        sub = commands.add_parser(
            command.name,
            help=command.help,
            description=command.help[0].upper() + command.help[1:] + ".",
            epilog=command.examples,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.set_defaults(command_spec=command)
        command.add_arguments(sub)
        _global_options(sub, suppress=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``agentv-results`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from importlib.metadata import version

        write(f"{PROG} (pytest-agentv) {version('pytest-agentv')}\n")
        return EXIT_OK
    if args.command is None:
        parser.error("choose a command: " + ", ".join(command.name for command in COMMANDS))
    command: Command = args.command_spec
    problem = command.check(args)
    if problem:
        parser.error(problem)
    return _run(command, args)


def _run(command: Command, args: argparse.Namespace) -> int:
    from pytest_agentv.branch.errors import BranchError
    from pytest_agentv.git.errors import GitError
    from pytest_agentv.store.base import StoreError

    try:
        with ExitStack() as resources:
            args.resources = resources
            return command.run(args)
    except CliError as exc:
        return _fail(str(exc), exc.code)
    except SettingsError as exc:
        # a config file may report several problems; the first line is the one to fix first
        lines = str(exc).splitlines()
        more = f" (and {len(lines) - 1} more)" if len(lines) > 1 else ""
        return _fail(lines[0] + more, EXIT_USAGE)
    except StoreError as exc:
        from pytest_agentv.store.base import RunNotFound

        return _fail(str(exc), EXIT_FINDINGS if isinstance(exc, RunNotFound) else EXIT_USAGE)
    except (GitError, BranchError) as exc:
        return _fail(str(exc), EXIT_USAGE)
    except BrokenPipeError:
        # `agentv-results list | head`: the reader left; that is not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        return 130


def _fail(message: str, code: int) -> int:
    one_line = " ".join(message.split("\n"))
    print(f"{PROG}: error: {one_line}", file=sys.stderr)
    return code

"""``agentv-release``: create, gate-check, deploy and audit agent releases (docs/releases.md).

One module per command, each exporting a :class:`~pytest_agentv.cli.command.Command` (the
shape ``agentv-results`` commands have), registered in :data:`COMMANDS`. Exit status: 0 done
(or nothing to do), 1 refused or verification failed, 2 bad usage or a bad artifact file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pytest_agentv.cli.command import Command
from pytest_agentv.options import SettingsError
from pytest_agentv.releases.commands import (
    create,
    delete,
    deploy,
    diff,
    history,
    listing,
    show,
    verify,
)
from pytest_agentv.releases.commands.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    PROG,
    add_global_options,
)
from pytest_agentv.releases.errors import ArtifactError, ReleaseError

#: every command, in the order ``--help`` lists them
COMMANDS: tuple[Command, ...] = tuple(
    module.COMMAND for module in (create, listing, show, history, diff, deploy, delete, verify)
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description=__doc__.split("\n\n")[0] if __doc__ else None)
    add_global_options(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for command in COMMANDS:
        sub = commands.add_parser(
            command.name,
            help=command.help,
            description=command.help,
            epilog=command.examples,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.add_arguments(sub)
        add_global_options(sub, suppress=True)
        sub.set_defaults(run=command.run, check=command.check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``agentv-release`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.error("choose a command: " + ", ".join(c.name for c in COMMANDS))
    problem = args.check(args)
    if problem:
        parser.error(f"{args.command}: {problem}")
    try:
        code: int = args.run(args)
        return code
    except (ArtifactError, SettingsError) as exc:
        return _fail(str(exc), EXIT_USAGE)
    except ReleaseError as exc:
        return _fail(str(exc), EXIT_FAILED)
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130


def _fail(message: str, code: int) -> int:
    lines = message.splitlines() or [""]
    print(f"{PROG}: error: {lines[0]}", file=sys.stderr)
    for line in lines[1:]:
        print(f"{PROG}: error: {line}", file=sys.stderr)
    return code

"""The shape of one ``agentv-results`` command: name, arguments, run."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass


def _no_check(args: argparse.Namespace) -> str | None:
    return None


@dataclass(frozen=True)
class Command:
    """One command, as :data:`pytest_agentv.cli.main.COMMANDS` lists it."""

    name: str
    help: str  # one line for ``--help``
    examples: str  # the command's ``--help`` epilog
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]  # returns the exit code
    #: a usage problem argparse cannot express (one line), or None
    check: Callable[[argparse.Namespace], str | None] = _no_check

"""What every ``agentv-results`` command shares: exit codes, errors, opening the run source,
reading run files, value parsers and output helpers."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from pytest_agentv.layout import AGENTV_DIR
from pytest_agentv.options import OPTIONS
from pytest_agentv.printable import printable
from pytest_agentv.serial import iso, parse_iso
from pytest_agentv.settings import resolve_settings
from pytest_agentv.sources import RefError, RefSyntaxError, RunSource, open_source, resolve_ref

if TYPE_CHECKING:
    from pytest_agentv.models import RunMetadata, RunSummary, TranscriptEvent
    from pytest_agentv.settings import Settings

PROG = "agentv-results"
EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
FILE_CHOICES = {
    "metadata": "metadata.json",
    "summary": "summary.json",
    "transcript": "transcript.jsonl",
}


class CliError(Exception):
    """A one-line error for stderr, with its exit code."""

    def __init__(self, message: str, code: int = EXIT_USAGE):
        super().__init__(message)
        self.code = code


class Parser(argparse.ArgumentParser):
    """argparse, but every usage error is one line on stderr (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def find_rootdir(start: Path) -> Path:
    """The nearest directory from ``start`` up holding ``.agentv/`` or ``.git``; else ``start``."""
    for directory in (start, *start.parents):
        if (directory / AGENTV_DIR).is_dir() or (directory / ".git").exists():
            return directory
    return start


def settings_from_args(args: argparse.Namespace) -> Settings:
    """The settings a pytest session here would resolve (its ini file included), with the
    command's own options on top."""
    from pytest_agentv.ini_file import find_ini

    if args.rootdir:
        rootdir = args.rootdir.resolve()
        if not rootdir.is_dir():
            raise CliError(f"--rootdir {args.rootdir}: not a directory")
        ini = find_ini(rootdir)
    else:
        ini = find_ini(Path.cwd())
        # pytest's rootdir is the ini file's directory; without one, the project's root
        rootdir = ini.rootdir if ini is not None else find_rootdir(Path.cwd())
    cli = {spec.key: getattr(args, spec.key, None) for spec in OPTIONS if spec.cli_flag}
    values = ini.values if ini is not None else {}
    # no command here redacts: the config file's redaction rules are not loaded
    return resolve_settings(rootdir, cli=cli, env=os.environ, ini=values, redaction=False)


def open_for(args: argparse.Namespace, *, reads: bool = True) -> RunSource:
    """The run source the arguments name, fetched first when reading (see ``--fetch``); it is
    closed when the command ends (``args.resources``, set up by the entry point)."""
    from pytest_agentv.store.base import StoreError

    source = open_source(settings_from_args(args))
    resources = getattr(args, "resources", None)
    if resources is not None:
        resources.callback(source.close)
    fetch = getattr(args, "fetch", None)
    if reads and source.has_remote() and fetch is not False:
        try:
            source.fetch()
        except StoreError as exc:
            if fetch is True:
                raise
            # an implicit fetch must not stop someone reading offline; say what they are seeing
            print(
                f"{PROG}: warning: {exc}; showing the runs that are already local "
                "(--no-fetch skips fetching)",
                file=sys.stderr,
            )
    return source


def write(text: str) -> None:
    """Text output: recorded values may hold escape sequences, so controls are escaped."""
    sys.stdout.write(printable(text))


def write_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False) + "\n")


_RELATIVE = re.compile(r"(\d+)\s*([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_when(text: str, *, end_of_day: bool = False, now: datetime | None = None) -> str:
    """A ``--since``/``--until`` value as a stored-timestamp string.

    Accepts ISO dates and times (``2024-05-01``, ``2024-05-01T12:00``, with ``Z`` or an offset;
    naive times are UTC) and ages (``30m``, ``12h``, ``7d``, ``2w``). A bare date given to
    ``--until`` means the end of that day.
    """
    value = text.strip()
    if match := _RELATIVE.fullmatch(value):
        age = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
        moment = (now or datetime.now(UTC)) - age
    else:
        try:
            moment = parse_iso(value)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a time; use an ISO date/time like 2024-05-01 or "
                "2024-05-01T12:00Z, or an age like 30m, 12h, 7d, 2w"
            ) from None
        if end_of_day and len(value) == 10:
            moment += timedelta(days=1, microseconds=-1)
    return iso(moment)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must not be negative")
    return value


def tolerance(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value >= 0:  # also rejects nan
        raise argparse.ArgumentTypeError(f"{text!r} must be a number >= 0")
    return value


def resolve(source: RunSource, ref: str) -> str:
    try:
        return resolve_ref(source, ref)
    except RefSyntaxError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    except RefError as exc:
        raise CliError(str(exc), EXIT_FINDINGS) from None


def read_file(source: RunSource, run_id: str, name: str) -> bytes:
    from pytest_agentv.store.base import RunNotFound

    try:
        return source.read(run_id, name)
    except RunNotFound as exc:
        raise CliError(str(exc), EXIT_FINDINGS) from None


def load_file(source: RunSource, run_id: str, name: str, parse: Callable[[bytes], Any]) -> Any:
    data = read_file(source, run_id, name)
    try:
        return parse(data)
    except ValueError as exc:
        first = str(exc).splitlines()[0]
        raise CliError(
            f"run {run_id}: {name} cannot be read ({first}); "
            f"run '{PROG} verify {run_id}' for details",
            EXIT_FINDINGS,
        ) from None


def load_metadata(source: RunSource, run_id: str) -> RunMetadata:
    from pytest_agentv.models import RunMetadata
    from pytest_agentv.store.paths import METADATA_FILE

    result: RunMetadata = load_file(source, run_id, METADATA_FILE, RunMetadata.model_validate_json)
    return result


def load_summary(source: RunSource, run_id: str) -> RunSummary:
    from pytest_agentv.models import RunSummary
    from pytest_agentv.store.paths import SUMMARY_FILE

    result: RunSummary = load_file(source, run_id, SUMMARY_FILE, RunSummary.model_validate_json)
    return result


def load_transcript(source: RunSource, run_id: str) -> list[TranscriptEvent]:
    from pytest_agentv.export import parse_transcript
    from pytest_agentv.store.paths import TRANSCRIPT_FILE

    result: list[TranscriptEvent] = load_file(source, run_id, TRANSCRIPT_FILE, parse_transcript)
    return result

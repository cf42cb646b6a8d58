"""What every ``agentv-release`` command shares: settings, the store, output and events."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_agentv.cli.common import find_rootdir
from pytest_agentv.options import argparse_type, check_branch, check_repo_path, check_text
from pytest_agentv.releases.errors import ReleaseError
from pytest_agentv.releases.events import event_payload, run_event_command
from pytest_agentv.releases.operations import Skipped
from pytest_agentv.releases.store import Applied, ReleaseStore
from pytest_agentv.settings import Settings, resolve_settings

PROG = "agentv-release"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

# agentv-release's own names for the releases settings (the plugin's are --agentv-releases-*)
_GLOBAL_FLAGS = (
    ("--remote", "releases_remote", check_text, "git remote name or URL of the releases branch"),
    ("--branch", "releases_branch", check_branch, "the releases branch"),
    ("--path", "releases_path", check_repo_path, "directory prefix inside the releases branch"),
)


def add_global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    # on the main parser and on every command, so they work before or after the command name
    default: Any = argparse.SUPPRESS if suppress else None
    group = parser.add_argument_group("where releases live (same settings as the plugin)")
    for flag, key, check, help_text in _GLOBAL_FLAGS:
        env = f"AGENTV_{key.upper()}"
        group.add_argument(
            flag,
            dest=key,
            default=default,
            type=argparse_type(check),
            help=f"{help_text} [env {env}]",
        )
    group.add_argument(
        "--rootdir",
        type=Path,
        default=default,
        metavar="DIR",
        help="project root holding .agentv/ (default: nearest parent with .agentv/ or .git)",
    )
    group.add_argument(
        "--json",
        action="store_true",
        default=default if suppress else False,
        help="print JSON instead of text",
    )


@dataclass
class Context:
    """One command's settings, output mode and (opened on first use) store."""

    settings: Settings
    as_json: bool
    _store: ReleaseStore | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Context:
        rootdir = args.rootdir.resolve() if args.rootdir else find_rootdir(Path.cwd())
        if not rootdir.is_dir():
            raise ReleaseError(f"--rootdir {args.rootdir}: not a directory")
        cli = {key: getattr(args, key, None) for _flag, key, _check, _help in _GLOBAL_FLAGS}
        settings = resolve_settings(rootdir, cli=cli, env=os.environ, ini={})
        return cls(settings, bool(args.json))

    @property
    def store(self) -> ReleaseStore:
        if self._store is None:
            self._store = ReleaseStore.for_settings(self.settings)
        return self._store

    def emit(self, data: Any, text: Sequence[str]) -> None:
        """``data`` as JSON with ``--json``, else the lines of ``text``."""
        if self.as_json:
            sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        else:
            for line in text:
                sys.stdout.write(line + "\n")

    def warn(self, message: str) -> None:
        print(f"{PROG}: warning: {message}", file=sys.stderr)

    def finish(self, result: Applied | Skipped, done: str) -> int:
        """Report a committed operation (running the event command) or a skipped one."""
        if isinstance(result, Skipped):
            self.emit(
                {
                    "skipped": True,
                    "agent": result.slug,
                    "version": result.version,
                    "reason": result.reason,
                },
                [f"skipped: {result.reason}"],
            )
            return EXIT_OK
        payload = event_payload(result, self.store.branch)
        for problem in result.problems:
            self.warn(problem)
        command = self.settings.releases_on_event
        failure = run_event_command(command, payload) if command else None
        if failure:
            self.warn(failure)
        self.emit(
            {"skipped": False, **payload, "problems": list(result.problems)},
            [
                f"{done}: {result.plan.subject}",
                f"commit {result.commit[:12]} on {self.store.describe()}",
            ],
        )
        return EXIT_OK

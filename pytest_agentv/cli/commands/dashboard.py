"""``agentv-results dashboard``: write the static site of every run (docs/dashboard.md)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_agentv.cli.command import Command
from pytest_agentv.cli.common import (
    EXIT_OK,
    PROG,
    CliError,
    open_for,
    positive_int,
    resolve,
    settings_from_args,
    tolerance,
    write,
    write_json,
)

if TYPE_CHECKING:
    from pytest_agentv.dashboard.extensions import Section


class ProgressBar:
    """``reading runs 1234/10000 [#####     ]`` on a terminal's stderr; silent elsewhere."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._last = -1.0

    def __call__(self, phase: str, done: int, total: int) -> None:
        if not self.enabled or total == 0:
            return
        now = time.monotonic()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        filled = 30 * done // total
        label = {"runs": "reading runs"}.get(phase, phase)
        end = "\n" if done == total else ""
        sys.stderr.write(f"\r{label} {done}/{total} [{'#' * filled}{' ' * (30 - filled)}]{end}")
        sys.stderr.flush()


def link_template(text: str) -> str:
    """A ``--link-template`` value, checked for unknown placeholders."""
    from pytest_agentv.dashboard.views import check_link_template

    try:
        return check_link_template(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o",
        "--output",
        default="agentv-dashboard",
        metavar="DIR",
        help="directory to write the site to (default: agentv-dashboard)",
    )
    parser.add_argument(
        "--serve", action="store_true", help="then serve it on http://127.0.0.1:PORT until Ctrl-C"
    )
    parser.add_argument(
        "--port",
        type=positive_int,
        default=8000,
        metavar="PORT",
        help="port for --serve (default 8000; 0 picks a free one)",
    )
    parser.add_argument(
        "--link-template",
        type=link_template,
        metavar="TEMPLATE",
        help="link each run's source commit, e.g. 'https://github.com/{repo}/commit/{commit}' "
        "(placeholders {repo} {commit} {branch})",
    )
    parser.add_argument(
        "--compare",
        nargs=2,
        action="append",
        metavar=("BASE", "NEW"),
        help="also make the compare page of this pair (repeatable); every run already has one "
        "against the previous run of its model and eval",
    )
    parser.add_argument(
        "--tolerance",
        type=tolerance,
        default=0.0,
        metavar="X",
        help="as for diff: score drops up to X are not regressions (default 0)",
    )
    parser.add_argument(
        "--no-releases",
        action="store_true",
        help="leave out the releases page (by default the releases branch the releases.* "
        "settings name is read when it exists; docs/releases.md)",
    )
    parser.add_argument("--title", default="pytest-agentv", help="the site's name in every page")
    parser.add_argument("--json", action="store_true", help="print what was written as JSON")


def releases(args: argparse.Namespace) -> list[Section]:
    """The releases page, or none when the branch cannot be read (a warning says why)."""
    from pytest_agentv.dashboard.releases import releases_section
    from pytest_agentv.releases.errors import ReleaseError

    try:
        return [releases_section(settings_from_args(args), fetch=args.fetch is not False)]
    except ReleaseError as exc:
        print(
            f"{PROG}: warning: the site has no releases page: {exc} "
            "(--no-releases leaves it out without reading)",
            file=sys.stderr,
        )
        return []


def run(args: argparse.Namespace) -> int:
    from pytest_agentv.dashboard import SiteError, SiteOptions, build_site

    source = open_for(args)
    sections = [] if args.no_releases else releases(args)
    pairs = [(resolve(source, base), resolve(source, new)) for base, new in args.compare or ()]
    out_dir = Path(args.output)
    progress = ProgressBar(sys.stderr.isatty() and not args.json)
    options = SiteOptions(title=args.title, tolerance=args.tolerance)
    try:
        report = build_site(
            source,
            out_dir,
            progress=progress,
            link_template=args.link_template,
            compare=pairs,
            sections=sections,
            options=options,
        )
    except SiteError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot write the site to {out_dir}: {exc.strerror or exc}") from None
    if args.json:
        write_json(report.to_json())
    else:
        for problem in report.problems:
            print(f"{PROG}: warning: {problem}", file=sys.stderr)
        write(
            f"{report.runs} runs: wrote {len(report.written)} files, {report.unchanged} "
            f"unchanged, removed {len(report.removed)} (read {report.read} runs) in "
            f"{report.seconds:.1f}s; open {out_dir / 'index.html'}\n"
        )
    if args.serve:
        from pytest_agentv.dashboard.serve import serve

        sys.stdout.flush()
        try:
            serve(out_dir, args.port)
        except OSError as exc:
            raise CliError(
                f"cannot serve on 127.0.0.1:{args.port}: {exc.strerror or exc}; "
                "choose another --port (0 picks a free one)"
            ) from None
    return EXIT_OK


EXAMPLES = """The site is self-contained (open index.html, or publish the directory on any static
host); rebuilding into the same directory rewrites only what changed. docs/dashboard.md.

examples:
  agentv-results dashboard -o site
  agentv-results dashboard -o site --serve --port 8000
  agentv-results dashboard -o site --link-template 'https://github.com/{repo}/commit/{commit}'
"""

COMMAND = Command(
    name="dashboard",
    help="write a static site of every run: runs, trends, tests, transcripts, compare",
    examples=EXAMPLES,
    add_arguments=add_arguments,
    run=run,
)

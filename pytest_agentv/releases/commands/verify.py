"""``verify [<slug>]``: checksums, and from git history the rules every release keeps."""

from __future__ import annotations

import argparse
from dataclasses import replace
from functools import partial

from pytest_agentv.cli.command import Command
from pytest_agentv.releases.commands.common import EXIT_FAILED, EXIT_OK, Context
from pytest_agentv.releases.evidence import EvidenceChecker
from pytest_agentv.releases.verify import verify_history
from pytest_agentv.settings import Settings
from pytest_agentv.store.base import ArtifactStore


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("slug", nargs="?", help="one agent (default: all)")
    parser.add_argument(
        "--no-evidence",
        action="store_true",
        help="do not check gate decisions against the eval runs in the results store",
    )


def run(ctx: Context, args: argparse.Namespace) -> int:
    store = ctx.store
    store.refresh()
    snapshots = list(store.snapshots())
    checker = None if args.no_evidence else EvidenceChecker(partial(_open_runs, ctx.settings))
    findings = verify_history(snapshots, slug=args.slug, check_evaluation=checker)
    for note in checker.unchecked if checker else []:
        ctx.warn(note)
    scope = args.slug or "every agent"
    ok = f"verified {scope}: {len(snapshots)} commit(s), no findings"
    ctx.emit(
        {
            "ok": not findings,
            "commits": len(snapshots),
            "findings": [f.to_json() for f in findings],
            "unchecked": checker.unchecked if checker else [],
        },
        [str(f) for f in findings] or [ok],
    )
    return EXIT_FAILED if findings else EXIT_OK


def _open_runs(settings: Settings, branch: str) -> ArtifactStore:
    """The runs store of ``branch`` (on the runs' remote), fetched."""
    from pytest_agentv.store.git import GitArtifactStore

    store = GitArtifactStore(replace(settings, backend="git", branch=branch))
    store.fetch()
    return store


EXAMPLES = """\
examples:
  agentv-release verify
  agentv-release verify support-agent --json
"""

COMMAND = Command(
    name="verify",
    help="prove from git history that no release was tampered with",
    examples=EXAMPLES,
    add_arguments=add_arguments,
    run=lambda args: run(Context.from_args(args), args),
)

"""The run history ``trend`` and ``flaky`` read: the last N runs' per-test points, cached."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from pytest_agentv.cli.common import open_for, positive_int, settings_from_args

if TYPE_CHECKING:
    from pytest_agentv.trends import RunPoints

POINTS_CACHE = "points.sqlite3"


def add_history_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", metavar="M", help="only runs of this model (exact, or a glob)")
    parser.add_argument(
        "--last",
        type=positive_int,
        default=20,
        metavar="N",
        help="the last N runs (default 20; 0 for all)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def history_for(args: argparse.Namespace) -> list[RunPoints]:
    """The points of the runs ``--last`` and ``--model`` select, oldest first."""
    from pytest_agentv.history import PointsCache, load_history
    from pytest_agentv.layout import ProjectLayout

    source = open_for(args)
    cache = PointsCache(ProjectLayout(settings_from_args(args).rootdir).cache_dir / POINTS_CACHE)
    try:
        return load_history(source, args.last, cache, model=args.model)
    finally:
        cache.close()

"""The static dashboard: ``build_site`` reads runs through a RunSource and writes an offline site.

Data (:mod:`.records`, :mod:`.views`) is pure; markup (:mod:`.html`, :mod:`.svg`, ``assets/``)
is kept apart; :mod:`.pages` shapes each page from data already read; :mod:`.build` (what to
read, what to remake) and :mod:`.output` are the I/O edge; :mod:`.extensions` is where
gate verdicts and releases plug in. docs/dashboard.md describes the site.
"""

from __future__ import annotations

from pytest_agentv.dashboard.build import (
    DEFAULT_COMPARE_PANELS,
    DEFAULT_MARKERS,
    BuildReport,
    build_site,
)
from pytest_agentv.dashboard.extensions import (
    Cell,
    ComparePanel,
    ReleaseRow,
    ReleasesSection,
    RunMarker,
    Section,
    Table,
)
from pytest_agentv.dashboard.output import SiteError
from pytest_agentv.dashboard.pages import SiteOptions
from pytest_agentv.dashboard.records import Mark

__all__ = [
    "DEFAULT_COMPARE_PANELS",
    "DEFAULT_MARKERS",
    "BuildReport",
    "Cell",
    "ComparePanel",
    "Mark",
    "ReleaseRow",
    "ReleasesSection",
    "RunMarker",
    "Section",
    "SiteError",
    "SiteOptions",
    "Table",
    "build_site",
]

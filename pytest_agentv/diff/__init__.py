"""Two runs compared test by test: :mod:`.compare` matches and classifies (the rules of what
counts as a regression are in its docstring, and in docs/cli.md), :mod:`.render` writes the text
and markdown reports. Both pure; the public names are re-exported here.
"""

from __future__ import annotations

from pytest_agentv.diff.compare import (
    FAILING_OUTCOMES,
    OK_OUTCOMES,
    PARTIAL_FLAGS,
    MetricDelta,
    RunDiff,
    RunFacts,
    ScoreChange,
    ScoreStatus,
    TestChange,
    TestStatus,
    caveats,
    compare_score,
    compare_test,
    diff_runs,
)
from pytest_agentv.diff.render import MARKDOWN_LIMIT, render_markdown, render_text

__all__ = [
    "FAILING_OUTCOMES",
    "MARKDOWN_LIMIT",
    "OK_OUTCOMES",
    "PARTIAL_FLAGS",
    "MetricDelta",
    "RunDiff",
    "RunFacts",
    "ScoreChange",
    "ScoreStatus",
    "TestChange",
    "TestStatus",
    "caveats",
    "compare_score",
    "compare_test",
    "diff_runs",
    "render_markdown",
    "render_text",
]

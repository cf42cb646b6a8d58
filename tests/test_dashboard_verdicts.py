"""Gate verdicts and paired statistics on the site: the verdict a real gated session recorded,
and the compare page's statistics, row for row those of ``agentv-results diff --stats``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_agentv.dashboard import build_site
from pytest_agentv.dashboard.verdicts import gate_marks, paired_statistics
from pytest_agentv.gates import compare_runs
from pytest_agentv.models import GateRecord, RunMetadata
from pytest_agentv.settings import resolve_settings
from pytest_agentv.sources import open_source
from tests.cli_support import agentv, clean_env
from tests.dashboard_support import make_project
from tests.gate_runs import base_values, nodeids, noise, scored_run
from tests.git_fixtures import git

BRANCH = "agentv/checkpoints/v1"
SUITE = """
import os

def test_answer(agentv):
    agentv.score("accuracy", float(os.environ["ACCURACY"]))

def test_other(agentv):
    agentv.score("accuracy", 0.8)
"""


def test_a_runs_recorded_gate_verdict_is_its_mark() -> None:
    run = scored_run("r1", {"t::a": 0.5})
    assert gate_marks(run) == []
    for verdict, ok in (("pass", True), ("fail", False), ("inconclusive", None)):
        gated = run.model_copy(update={"gate": GateRecord(verdict=verdict)})
        [mark] = gate_marks(gated)
        assert (mark.kind, mark.label, mark.ok) == ("gate", f"gate {verdict}", ok)


def test_the_statistics_panel_is_compare_runs_row_for_row() -> None:
    names = nodeids(24)
    base = scored_run("base", dict(zip(names, base_values(24), strict=True)))
    worse = {
        n: v - 0.1 + noise(i) for i, (n, v) in enumerate(zip(names, base_values(24), strict=True))
    }
    new = scored_run("new", worse)
    report = compare_runs(base, new)
    table = paired_statistics(base, new)
    assert table is not None and report.verdict == "fail"
    assert table.title == "Paired statistics: fail"
    assert [row[0].text for row in table.rows] == [r.metric for r in report.rows]
    accuracy = next(r for r in report.rows if r.metric == "accuracy")
    diff = accuracy.difference
    assert diff is not None and diff.low is not None and diff.high is not None
    cells = next(row for row in table.rows if row[0].text == "accuracy")
    assert cells[3].sort == diff.mean and cells[4].text == f"[{diff.low:+.3g}, {diff.high:+.3g}]"
    assert (cells[6].text, cells[6].status) == ("WORSE", "fail")
    # no shared test: nothing to compare, no panel row claims otherwise
    other = scored_run("other", {"x::y": 0.1})
    lone = paired_statistics(base, other)
    assert lone is not None and all(row[6].status == "fail" for row in lone.rows)


def _session(root: Path, accuracy: float, *gate: str) -> int:
    env = clean_env({"ACCURACY": str(accuracy)})
    env = {k: v for k, v in env.items() if not k.startswith("PYTEST_")}
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist"),
            *("--agentv-git", "--agentv-model", "m1", "test_suite.py", *gate),
        ],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    return done.returncode


@pytest.fixture
def gated(tmp_path: Path, git_env: Path) -> tuple[Path, list[str]]:
    """Three real sessions: ungated, gate passed, then gate failed against the one before."""
    root = make_project(tmp_path / "project")
    (root / "test_suite.py").write_text(SUITE)
    assert _session(root, 0.9) == 0
    assert _session(root, 0.9, "--agentv-min-score", "accuracy=0.5") == 0
    failed = _session(
        root,
        0.1,
        "--agentv-min-score",
        "accuracy=0.5",
        "--agentv-baseline",
        "latest",
        "--agentv-fail-on-regression",
    )
    assert failed == 6
    ids = git(
        "log", "--format=%(trailers:key=AgentV-Run,valueonly,separator=)", BRANCH, cwd=root
    ).split()
    return root, ids[::-1]


def _metadata(root: Path, run_id: str) -> RunMetadata:
    source = open_source(resolve_settings(root, cli={"backend": "git"}, env={}, ini={}))
    return RunMetadata.model_validate_json(source.read(run_id, "metadata.json"))


def test_the_site_shows_recorded_gate_verdicts_and_diff_stats(
    gated: tuple[Path, list[str]], tmp_path: Path
) -> None:
    root, (plain, passed, failed) = gated
    assert _metadata(root, plain).gate is None
    recorded = _metadata(root, failed).gate
    assert recorded is not None and recorded.verdict == "fail"
    site = tmp_path / "site"
    source = open_source(resolve_settings(root, cli={"backend": "git"}, env={}, ini={}))
    build_site(source, site)

    index = (site / "index.html").read_text()
    assert index.count('<span class="mark ok" data-kind="gate">gate pass</span>') == 1
    assert index.count('<span class="mark bad" data-kind="gate">gate fail</span>') == 1
    trends = (site / "trends.html").read_text()
    # pass rate and accuracy charts: each marks the two gated runs
    assert trends.count('data-gate="gate fail"') == 2
    assert trends.count('data-gate="gate pass"') == 2
    assert trends.count(f'data-run="{failed}" data-model="m1"') == 2
    page = (site / f"runs/{failed[:2]}/{failed}.html").read_text()
    assert 'id="gate-verdict">gate verdict against baseline' in page
    assert f'href="../../runs/{passed[:2]}/{passed}.html"' in page
    row = next(r for r in recorded.rows if r.gate == "min-score")
    assert f'<tr data-verdict="fail"><td>min-score</td><td>accuracy</td><td>{row.this_run:.4g}' in (
        page
    )
    assert "gate-verdict" not in (site / f"runs/{plain[:2]}/{plain}.html").read_text()

    compare = (site / f"compare/{passed}-{failed}.html").read_text()
    stats = json.loads(agentv(root, "diff", passed, failed, "--stats", "--json").stdout)["stats"]
    verdict = "fail" if any(r["verdict"] == "fail" for r in stats) else "inconclusive"
    assert f"<h2>Paired statistics: {verdict}</h2>" in compare
    for r in stats:
        assert f"<td>{r['metric']}</td>" in compare
        assert f'<td data-v="{r["tests"]}">{r["tests"]}</td>' in compare

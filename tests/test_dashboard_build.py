"""``build_site`` and ``agentv-results dashboard`` on real results branches: what is written,
what an incremental rebuild leaves alone, history rewrites, extensions, ``--serve``."""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import socket
import subprocess
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pytest_agentv.dashboard import (
    Cell,
    Mark,
    ReleaseRow,
    ReleasesSection,
    SiteOptions,
    Table,
    build_site,
)
from pytest_agentv.dashboard.output import MANIFEST
from pytest_agentv.models import RunMetadata, Score
from pytest_agentv.settings import resolve_settings
from pytest_agentv.sources import LocalRunSource, RunSource, open_source
from pytest_agentv.store.base import RunArtifacts
from pytest_agentv.store.local import LocalArtifactStore
from tests import runs
from tests.cli_support import agentv, clean_env
from tests.dashboard_support import build, make_project, plan, write_runs
from tests.git_fixtures import git
from tests.runs import record

BRANCH = "agentv/checkpoints/v1"


def source_of(root: Path) -> RunSource:
    return open_source(resolve_settings(root, cli={"backend": "git"}, env={}, ini={}))


def run_page(run_id: str) -> str:
    return f"runs/{run_id[:2]}/{run_id}.html"


def stamps(site: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(site)): (p.stat().st_ino, p.stat().st_mtime_ns)
        for p in site.rglob("*")
        if p.is_file()
    }


@pytest.fixture
def project(tmp_path: Path, git_env: Path) -> Path:
    root = make_project(tmp_path / "project")
    write_runs(root, plan(21)[:20])
    return root


def test_one_more_run_rewrites_only_its_pages_and_the_overview(
    project: Path, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    runs = plan(21)
    first = build_site(source_of(project), site)
    assert (first.runs, first.read, first.removed) == (20, 20, ())
    assert all(run_page(p.run_id) in first.written for p in runs[:20])
    # every run but the first of each model has its compare page against the previous one
    compares = sorted(str(p.relative_to(site)) for p in (site / "compare").iterdir())
    assert len(compares) == 18
    assert f"compare/{runs[16].run_id}-{runs[18].run_id}.html" in compares

    again = build_site(source_of(project), site)
    assert (again.read, again.written, again.removed) == (0, (), ())
    assert again.unchanged == len(first.written)
    before = stamps(site)

    write_runs(project, runs[20:], start_minute=20)
    after = build_site(source_of(project), site)
    new, prev = runs[20].run_id, runs[18].run_id
    assert after.runs == 21
    assert after.read == 2  # the new run, and its predecessor for the compare page
    assert set(after.written) == {
        run_page(new),
        f"compare/{prev}-{new}.html",
        "index.html",
        "trends.html",
        "tests.html",
        "data/overview.js",
        "data/runs-0000.js",
        "all-runs-0000.html",
    }
    now = stamps(site)
    untouched = [path for path in before if path not in after.written and path != MANIFEST]
    assert len(untouched) > 40
    assert all(now[path] == before[path] for path in untouched)


def test_the_cli_reports_writes_and_removes_pages_of_runs_a_rewrite_dropped(
    project: Path, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    result = agentv(project, "dashboard", "-o", str(site), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["runs"], report["removed"]) == (20, 0)
    assert report["written"] == len(report["writtenFiles"]) > 40
    runs = plan(20)
    dropped = [runs[19].run_id, runs[18].run_id]
    git("update-ref", f"refs/heads/{BRANCH}", f"{BRANCH}~2", cwd=project)
    text = agentv(project, "dashboard", "-o", str(site))
    assert text.returncode == 0, text.stderr
    assert re.fullmatch(
        r"18 runs: wrote \d+ files, \d+ unchanged, removed 4 \(read 0 runs\) "
        rf"in [\d.]+s; open {re.escape(str(site))}/index.html\n",
        text.stdout,
    )
    for run_id in dropped:
        assert not (site / run_page(run_id)).exists()
        assert run_id not in (site / "index.html").read_text()
    assert (site / run_page(runs[17].run_id)).is_file()


def test_a_directory_the_dashboard_did_not_make_is_refused(project: Path, tmp_path: Path) -> None:
    other = tmp_path / "docs"
    other.mkdir()
    (other / "notes.md").write_text("mine\n")
    result = agentv(project, "dashboard", "-o", str(other))
    assert result.returncode == 2
    assert result.stderr == (
        f"agentv-results: error: {other} is not empty and holds no {MANIFEST}, so it was not "
        "made by agentv-results dashboard; choose an empty or new directory\n"
    )
    assert sorted(p.name for p in other.iterdir()) == ["notes.md"]
    bad = agentv(project, "dashboard", "--link-template", "https://x/{sha}")
    assert bad.returncode == 2
    assert "--link-template: link template 'https://x/{sha}' uses {sha}" in bad.stderr


def test_the_local_backend_builds_the_same_site_and_rebuilds_nothing(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path / "runs")
    runs = plan(6)
    for n, planned in enumerate(runs):
        store.write(build(planned, n))
    site = tmp_path / "site"
    first = build_site(
        LocalRunSource(store), site, link_template="https://github.com/{repo}/commit/{commit}"
    )
    assert first.runs == 6 and run_page(runs[5].run_id) in first.written
    page = (site / run_page(runs[5].run_id)).read_text()
    commit = RunMetadata.model_validate_json(store.read(runs[5].run_id, "metadata.json"))
    assert f'href="https://github.com/acme/agent/commit/{commit.source_commit}"' in page
    again = build_site(
        LocalRunSource(store), site, link_template="https://github.com/{repo}/commit/{commit}"
    )
    assert again.written == () and again.read == 6  # summaries only: the local key is their hash
    # another link template reshapes every run page, so they are all remade
    other = build_site(LocalRunSource(store), site)
    assert all(run_page(p.run_id) in other.written for p in runs)


def test_markers_and_sections_extend_the_site(project: Path, tmp_path: Path) -> None:
    def gate(metadata: RunMetadata) -> list[Mark]:
        ok = metadata.counts.failed == 0
        return [Mark("gate", "gate passed" if ok else "gate failed", ok)]

    runs = plan(21)[:20]
    failing = [n for n, p in enumerate(runs) if any(t.outcome == "failed" for t in p.tests)]
    releases = ReleasesSection(
        [
            ReleaseRow(
                "support",
                1,
                "active",
                "2024-05-01T00:00:00Z",
                eval_run=runs[3].run_id,
                score=90,
                threshold=75,
            )
        ]
    )

    def paired(base: RunMetadata, new: RunMetadata) -> Table:
        delta = new.scores["accuracy"].mean - base.scores["accuracy"].mean
        return Table(
            "Paired difference",
            ("metric", "difference"),
            ((Cell("accuracy"), Cell(f"{delta:+.3f}", sort=delta)),),
        )

    site = tmp_path / "site"
    # a site built before the marker existed: its cached records get the marks on the next build
    build_site(source_of(project), site)
    build_site(
        source_of(project),
        site,
        markers=[gate],
        compare_panels=[paired],
        sections=[releases],
        options=SiteOptions(title="Acme evals", trend_points=5),
    )
    index = (site / "index.html").read_text()
    assert '<a href="releases.html">Releases</a>' in index
    assert "<title>Runs · Acme evals</title>" in index
    assert index.count('<span class="mark bad" data-kind="gate">gate failed</span>') == len(failing)
    trends = (site / "trends.html").read_text()
    # failing runs among the 5 newest claude-3 points, in each of the three charts
    drawn = [n for n in failing if n in range(11, 20, 2)]
    assert trends.count('class="pt s0 marked bad"') == 3 * len(drawn) > 0
    assert "(5 runs, 5 older not drawn)" in trends
    assert 'data-tags="|pr|"' in trends  # what the tag filter matches
    compare = (site / f"compare/{runs[16].run_id}-{runs[18].run_id}.html").read_text()
    assert "<h2>Paired difference</h2>" in compare
    means = [build(runs[n], n).summary.scores["accuracy"].mean for n in (16, 18)]
    delta = means[1] - means[0]
    assert f'<td data-v="{delta}">{delta:+.3f}</td>' in compare
    releases_page = (site / "releases.html").read_text()
    assert f'<a href="{run_page(runs[3].run_id)}">{runs[3].run_id[:12]}</a>' in releases_page
    # run pages link only the fixed pages, so a new section does not rewrite them
    assert "releases.html" not in (site / run_page(runs[3].run_id)).read_text()


def test_serve_answers_on_localhost_until_interrupted(project: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    with subprocess.Popen(
        ["agentv-results", "dashboard", "-o", str(site), "--serve", "--port", "0"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=clean_env(),
    ) as server:
        try:
            assert server.stdout is not None
            server.stdout.readline()  # the build report
            line = server.stdout.readline()
            match = re.fullmatch(
                r"serving .* at (http://127\.0\.0\.1:\d+/) \(Ctrl-C stops\)\n", line
            )
            assert match, line
            with urllib.request.urlopen(match.group(1) + "index.html", timeout=10) as response:
                body = response.read().decode()
            assert response.status == 200 and 'id="runs"' in body
        finally:
            server.send_signal(signal.SIGINT)
            assert server.wait(timeout=20) == 0


def test_a_run_that_cannot_be_read_is_left_out_and_named(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path / "runs")
    runs = plan(5)
    for n, planned in enumerate(runs):
        store.write(build(planned, n))
    broken = runs[2].run_id  # a gpt-4o run between runs[0] and runs[4]
    (store.run_dir(broken) / "metadata.json").write_text("{not json")
    site = tmp_path / "site"
    report = build_site(LocalRunSource(store), site)
    assert report.runs == 4
    assert len(report.problems) == 1
    assert report.problems[0].startswith(f"run {broken}: left out, its files cannot be read (")
    assert report.problems[0].endswith(f"run 'agentv-results verify {broken}'")
    assert not (site / run_page(broken)).exists()
    # the next gpt-4o run is compared with the last one that could be read
    assert (site / f"compare/{runs[0].run_id}-{runs[4].run_id}.html").is_file()


def test_compare_adds_pages_for_pairs_given_by_reference(project: Path, tmp_path: Path) -> None:
    runs = plan(21)[:20]
    site = tmp_path / "site"
    result = agentv(
        project, "dashboard", "-o", str(site), "--compare", runs[0].run_id[:10], "latest", "--json"
    )
    assert result.returncode == 0, result.stderr
    pair = f"{runs[0].run_id}-{runs[19].run_id}"
    assert f"compare/{pair}.html" in json.loads(result.stdout)["writtenFiles"]
    page = (site / f"compare/{pair}.html").read_text()
    assert 'id="verdict">no regressions<' in page
    # the runs table's script learns which extra pairs have a page
    assert f'"pairs":["{pair}"]' in (site / "data/overview.js").read_text()
    missing = agentv(project, "dashboard", "-o", str(site), "--compare", "ffff", "latest")
    assert missing.returncode == 1
    assert "no run starting with 'ffff'" in missing.stderr


def test_serve_on_a_port_in_use_is_a_one_line_error(project: Path, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = agentv(
            project, "dashboard", "-o", str(tmp_path / "site"), "--serve", "--port", str(port)
        )
    assert result.returncode == 2
    assert result.stderr == (
        f"agentv-results: error: cannot serve on 127.0.0.1:{port}: Address already in use; "
        "choose another --port (0 picks a free one)\n"
    )
    assert (tmp_path / "site" / "index.html").is_file()  # the site itself was built


def test_a_terminal_sees_a_progress_bar_and_a_pipe_does_not(project: Path, tmp_path: Path) -> None:
    controller, terminal = pty.openpty()
    try:
        done = subprocess.run(
            ["agentv-results", "dashboard", "-o", str(tmp_path / "site")],
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=terminal,
            env=clean_env(),
            timeout=120,
            check=False,
        )
        os.close(terminal)
        terminal = -1
        seen = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal's other end is closed: everything was read
                break
            if not chunk:
                break
            seen += chunk
    finally:
        if terminal >= 0:
            os.close(terminal)
        os.close(controller)
    assert done.returncode == 0
    assert seen.endswith(b"\rreading runs 20/20 [" + b"#" * 30 + b"]\r\n")
    assert b"\rreading runs 0/20 [" + b" " * 30 + b"]" in seen
    piped = agentv(project, "dashboard", "-o", str(tmp_path / "site"))
    assert piped.returncode == 0 and piped.stderr == ""


class _Rows(HTMLParser):
    """The rows of one table of a page: each row's attributes and its cells' text."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id, self.depth = table_id, 0
        self.rows: list[tuple[dict[str, str | None], list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.depth += 1 if self.depth or dict(attrs).get("id") == self.table_id else 0
        elif self.depth and tag == "tr":
            self.rows.append((dict(attrs), []))
        elif self.depth and tag == "td" and self.rows:
            self.rows[-1][1].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth and self.rows and self.rows[-1][1]:
            self.rows[-1][1][-1] += data


def table_rows(page: str, table_id: str) -> list[tuple[dict[str, str | None], list[str]]]:
    parser = _Rows(table_id)
    parser.feed(page)
    return [(attrs, cells) for attrs, cells in parser.rows if cells]  # the header has no <td>


def test_a_run_page_shows_each_tests_case_id_and_labels(tmp_path: Path) -> None:
    tests = [
        record("test_refund[case-7]", accuracy=(0.9, 0.7)).model_copy(
            update={
                "case_id": "refund-eu-7",
                "scores": {
                    "accuracy": Score(value=0.9, threshold=0.7, passed=True),
                    "tone": Score(label="polite"),
                    "verdict": Score(value=1.0, label="correct"),
                },
            }
        ),
        record("test_greeting").model_copy(
            update={"scores": {"tone": Score(label="curt", passed=False)}}
        ),
    ]
    run = runs.build(None, started=runs.T0, seconds=1, tests=tests, versions=runs.VERSIONS)
    store = LocalArtifactStore(tmp_path / "runs")
    store.write(run)
    site = tmp_path / "site"
    build_site(LocalRunSource(store), site)
    page = (site / run_page(run.run_id)).read_text()

    (refund_attrs, refund), (greeting_attrs, greeting) = table_rows(page, "run-tests")
    assert refund[0] == f"{runs.EVAL}::test_refund[case-7]case refund-eu-7"
    assert refund_attrs["data-case"] == "refund-eu-7"
    assert "refund-eu-7" in (refund_attrs["data-search"] or "")  # the page's search finds it
    assert refund[3].split() == ["accuracy", "0.9", "/", "0.7", "tone", "polite", "verdict", "1",
                                 "correct"]  # fmt: skip
    assert "data-case" not in greeting_attrs and greeting[0] == f"{runs.EVAL}::test_greeting"
    assert greeting[3] == "tone curt"
    assert '<span class="score bad" title="">tone <span class="label">curt</span></span>' in page
    # the run's tallies of each label
    assert [cells for _attrs, cells in table_rows(page, "run-labels")] == [
        ["tone", "curt", "1"],
        ["tone", "polite", "1"],
        ["verdict", "correct", "1"],
    ]


def test_a_compare_page_names_the_case_that_matched_two_tests(tmp_path: Path) -> None:
    # the case id matches the two records although their node ids differ (a renamed parameter)
    def one(nodeid: str, outcome: str) -> RunArtifacts:
        test = record(nodeid, outcome).model_copy(update={"case_id": "refund-eu-7"})
        return runs.build(None, started=runs.T0, seconds=1, tests=[test], versions=runs.VERSIONS)

    base, new = one("test_refund[7]", "passed"), one("test_refund[eu-7]", "failed")
    store = LocalArtifactStore(tmp_path / "runs")
    store.write(base)
    store.write(new)
    site = tmp_path / "site"
    build_site(LocalRunSource(store), site, compare=[(base.run_id, new.run_id)])
    page = (site / f"compare/{base.run_id}-{new.run_id}.html").read_text()
    [(attrs, cells)] = table_rows(page, "compare-tests")
    assert cells[:3] == ["regressed", f"{runs.EVAL}::test_refund[eu-7]case refund-eu-7", "passed"]
    assert "refund-eu-7" in (attrs["data-search"] or "")

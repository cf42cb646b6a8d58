"""The releases page end to end: releases created through the releases API on a real remote,
gated by real pytest sessions, read back by ``agentv-results dashboard``."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from tests.cli_support import agentv, clean_env
from tests.dashboard_support import create_release, make_project
from tests.git_fixtures import git, init_bare
from tests.release_helpers import DRAFT_YAML

SLUG = "support-agent"
SUITE = """
def test_polite(agentv_release):
    assert "polite" in agentv_release.agent.system_prompt

def test_knows_the_kb(agentv_release):
    assert "search_kb" in agentv_release.agent.tools
"""


def _draft(prompt: str) -> str:
    data = yaml.safe_load(DRAFT_YAML)
    data["agent"]["system_prompt"] = prompt
    return yaml.safe_dump(data, sort_keys=False)


def _gate(root: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in clean_env().items() if not k.startswith("PYTEST_")}
    return subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist"),
            *("--agentv-release", SLUG, "test_gate.py"),
        ],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def _run_ids(remote: Path) -> list[str]:
    return git(
        "log",
        "--format=%(trailers:key=AgentV-Run,valueonly,separator=)",
        "agentv/checkpoints/v1",
        cwd=remote,
    ).split()[::-1]


@pytest.fixture
def released(tmp_path: Path, git_env: Path) -> tuple[Path, Path]:
    """v1 gated and active, v2 gated and rejected, v3 waiting; runs and releases on one remote."""
    remote = init_bare(tmp_path / "state.git")
    root = make_project(tmp_path / "project")
    (root / ".agentv" / "config.yaml").write_text(
        textwrap.dedent(
            f"""\
            artifacts:
              backend: git
              git: {{remote: "{remote}"}}
            releases:
              remote: "{remote}"
            """
        )
    )
    (root / "test_gate.py").write_text(SUITE)
    assert create_release(root, _draft("Be polite.\n"), "First release") == 1
    assert _gate(root).returncode == 0
    assert create_release(root, _draft("Be terse.\n"), "Terse") == 2
    assert _gate(root).returncode == 1  # a test failed: the release is rejected
    assert create_release(root, _draft("Be polite and warm.\n"), "Warmer") == 3
    return root, remote


def _cells(page: str) -> list[list[str]]:
    body = page.split('id="section"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body)
    ]


def test_the_releases_page_lists_versions_status_and_the_gating_run(
    released: tuple[Path, Path], tmp_path: Path
) -> None:
    root, remote = released
    gated = _run_ids(remote)
    assert len(gated) == 2
    # a fresh clone reads both branches from the remote
    clone = tmp_path / "clone"
    git("clone", "--quiet", str(remote), str(clone))
    (clone / ".agentv").mkdir()
    (clone / ".agentv" / "config.yaml").write_text((root / ".agentv" / "config.yaml").read_text())
    site = tmp_path / "site"
    built = agentv(clone, "dashboard", "-o", str(site))
    assert built.returncode == 0, built.stderr
    assert "warning" not in built.stderr
    page = (site / "releases.html").read_text()
    assert '<a href="releases.html" aria-current="page">Releases</a>' in page
    rows = _cells(page)
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (SLUG, "v3", "pending_eval"),
        (SLUG, "v2", "rejected"),
        (SLUG, "v1", "active · deployed"),
    ]
    assert [r[4] for r in rows] == ["-", gated[1][:12], gated[0][:12]]
    assert rows[2][5] == "100 / 75 (pass_rate)" and rows[1][5] == "50 / 75 (pass_rate)"
    for run_id in gated:
        href = f"runs/{run_id[:2]}/{run_id}.html"
        assert f'<a href="{href}">{run_id[:12]}</a>' in page
        assert (site / href).is_file()
    # the run page of the gating run is the one the link opens
    assert (
        f"<h1>Run <code>{gated[0]}</code></h1>"
        in (site / f"runs/{gated[0][:2]}/{gated[0]}.html").read_text()
    )
    assert "releases.html" in (site / "index.html").read_text()

    # --no-releases: no page, and a rebuild removes the one written before
    again = agentv(clone, "dashboard", "-o", str(site), "--no-releases", "--json")
    assert again.returncode == 0, again.stderr
    assert not (site / "releases.html").exists()
    assert "releases.html" not in (site / "index.html").read_text()


def test_without_a_releases_branch_there_is_no_page_and_no_warning(
    tmp_path: Path, git_env: Path
) -> None:
    root = make_project(tmp_path / "project")
    site = tmp_path / "site"
    built = agentv(root, "dashboard", "-o", str(site))
    assert built.returncode == 0 and built.stderr == "", built.stderr
    assert not (site / "releases.html").exists()


def test_a_releases_remote_that_cannot_be_read_is_a_warning(tmp_path: Path, git_env: Path) -> None:
    root = make_project(tmp_path / "project")
    missing = tmp_path / "nowhere.git"
    built = agentv(
        root,
        "dashboard",
        "-o",
        str(tmp_path / "site"),
        env={"AGENTV_RELEASES_REMOTE": str(missing)},
    )
    assert built.returncode == 0, built.stderr
    assert "warning: the site has no releases page:" in built.stderr
    assert "--no-releases" in built.stderr

"""End to end on real remotes: v1..v5 created and gated by real pytest sessions, then diffed,
rolled back, verified, tampered with, deleted; every step cross-checked with the git CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_agentv.releases.commands import main as release_main
from tests.git_fixtures import GitDaemon, git, init_bare
from tests.release_helpers import DRAFT_YAML, init_release_project

SLUG = "support-agent"
BRANCH = "agentv/releases/v1"
RUNS_BRANCH = "agentv/checkpoints/v1"
RELEASES = f"agents/{SLUG}/releases"

# The suite a release is gated by: it builds nothing, it checks the config it is handed.
SUITE = """
def test_polite(agentv_release):
    assert "polite" in agentv_release.agent.system_prompt

def test_knows_the_kb(agentv_release):
    assert "search_kb" in agentv_release.agent.tools

def test_has_a_model(agentv_release):
    assert agentv_release.agent.model.id

def test_scales(agentv_release):
    assert agentv_release.runtime.replicas >= 1
"""


def _draft(**changes: Any) -> str:
    data = yaml.safe_load(DRAFT_YAML)
    for path, value in changes.items():
        target = data
        *parents, leaf = path.split("__")
        for key in parents:
            target = target[key]
        target[leaf] = value
    return yaml.safe_dump(data, sort_keys=False)


class Story:
    """The project, its remote and the two front doors: ``agentv-release`` and ``pytest``."""

    def __init__(
        self,
        pytester: pytest.Pytester,
        capsys: pytest.CaptureFixture[str],
        remote: str,
        remote_dir: Path,
    ) -> None:
        self.pytester = pytester
        self.capsys = capsys
        self.remote = remote
        self.remote_dir = remote_dir
        self.root = pytester.path

    def cli(self, *args: str, rootdir: Path | None = None) -> tuple[int, Any, str]:
        self.capsys.readouterr()
        code = release_main([*args, "--rootdir", str(rootdir or self.root), "--json"])
        out, err = self.capsys.readouterr()
        return code, json.loads(out) if out.strip() else None, err

    def create(self, text: str, *extra: str) -> Any:
        path = self.root / "drafts" / f"draft-{len(list((self.root / 'drafts').glob('*')))}.yaml"
        path.write_text(text)
        code, out, err = self.cli("create", str(path), *extra)
        assert code == 0, err
        return out

    def gate(self, *args: str) -> pytest.RunResult:
        return self.pytester.runpytest("-p", "no:xdist", "--agentv-release", SLUG, *args)

    def git(self, *args: str) -> str:
        return git(*args, cwd=self.remote_dir)

    def show(self, path: str) -> dict[str, Any]:
        loaded: dict[str, Any] = yaml.safe_load(self.git("show", f"{BRANCH}:{path}"))
        return loaded


@pytest.fixture(params=["file", "git-daemon"])
def story(
    request: pytest.FixtureRequest,
    pytester: pytest.Pytester,
    capsys: pytest.CaptureFixture[str],
    git_env: Path,
    tmp_path: Path,
) -> Story:
    if request.param == "file":
        remote_dir = init_bare(tmp_path / "state.git")
        remote = str(remote_dir)
    else:
        daemon = GitDaemon(tmp_path / "daemon")
        daemon.base.mkdir()
        daemon.start()
        request.addfinalizer(daemon.stop)
        remote = daemon.new_remote("state")
        remote_dir = daemon.path("state")
    pytester.makepyfile(test_gate=SUITE)
    root = pytester.path
    (root / "drafts").mkdir()
    init_release_project(root, str(remote))
    git("add", "test_gate.py", cwd=root)
    git("commit", "--quiet", "-m", "suite", cwd=root)
    return Story(pytester, capsys, remote, remote_dir)


V1 = _draft(agent__system_prompt="Be polite and brief.\n", metadata__changelog="First release")
V2 = _draft(agent__system_prompt="Be polite, brief and warm.\n", metadata__changelog="Warmer")
V3 = _draft(
    agent__system_prompt="Be polite, brief and warm.\n",
    agent__tools=["search_kb", "open_ticket", "refund"],
    metadata__changelog="Refund tool",
)
V4 = _draft(
    agent__system_prompt="Be terse.\n",
    agent__tools=["open_ticket"],
    metadata__changelog="Terse and no KB",
)
V5 = _draft(
    agent__system_prompt="Be polite and greet the customer by name.\n",
    agent__tools=["search_kb", "open_ticket", "refund"],
    agent__model={"provider": "anthropic", "id": "claude-sonnet-4"},
    runtime__replicas=3,
    metadata__changelog="Updated system prompt for better greeting",
)


@pytest.mark.slow
def test_the_release_story(story: Story) -> None:
    # v1..v5, each gated by a real pytest session; v4 fails its gate
    for number, draft in enumerate([V1, V2, V3, V4, V5], start=1):
        created = story.create(draft)
        assert (created["event"], created["version"]) == ("ReleaseCreated", number)
        result = story.gate()
        if number == 4:
            assert result.ret == 1
            result.stdout.fnmatch_lines([f"agentv: release {SLUG}@4 REJECTED: score 50 < 75*"])
        else:
            assert result.ret == 0, result.stdout.str()
            result.stdout.fnmatch_lines(
                [f"agentv: release {SLUG}@{number} ACTIVATED: score 100 >= 75*"]
            )

    statuses = {n: story.show(f"{RELEASES}/v{n}.yaml")["metadata"]["status"] for n in range(1, 6)}
    assert statuses == {1: "archived", 2: "archived", 3: "archived", 4: "rejected", 5: "active"}
    v4 = story.show(f"{RELEASES}/v4.yaml")["metadata"]
    assert v4["changelog"] == "Terse and no KB [REJECTED: score 50 < 75]"
    assert v4["evaluation"]["score"] == 50.0
    current = story.git("show", f"{BRANCH}:agents/{SLUG}/current.yaml")
    assert current == story.git("show", f"{BRANCH}:{RELEASES}/v5.yaml")

    # the git CLI sees one commit per operation, with the subjects and trailers of the format
    subjects = story.git("log", "--format=%s", BRANCH).splitlines()
    assert subjects[0] == f"{SLUG} v5: activated — Updated system prompt for better greeting"
    assert subjects[1] == f"{SLUG} v5: created — Updated system prompt for better greeting"
    assert subjects[2] == f"{SLUG} v4: rejected — score 50 < 75"
    trailers = story.git("log", "-1", "--format=%B", BRANCH)
    parsed = git("interpret-trailers", "--parse", cwd=story.remote_dir, input_text=trailers)
    assert f"AgentV-Agent: {SLUG}" in parsed
    assert "AgentV-Version: 5" in parsed
    assert "AgentV-Event: ReleaseActivated" in parsed
    run_id = story.show(f"{RELEASES}/v5.yaml")["metadata"]["evaluation"]["run_id"]
    assert f"AgentV-Eval-Run: {run_id}" in parsed
    # ... and the run names the release it evaluated
    run_commit = story.git("log", "-1", "--format=%B", f"--grep=AgentV-Run: {run_id}", RUNS_BRANCH)
    assert f"AgentV-Release: {SLUG}@5" in run_commit
    changed = story.git("show", "--name-only", "--format=", BRANCH).splitlines()
    assert sorted(changed) == [
        f"agents/{SLUG}/current.yaml",
        f"{RELEASES}/v3.yaml",
        f"{RELEASES}/v5.yaml",
    ]

    code, changes, _ = story.cli("diff", SLUG, "3", "5")
    assert code == 0
    assert [c["path"] for c in changes] == [
        "runtime.replicas",
        "agent.model.provider",
        "agent.model.id",
        "agent.system_prompt",
    ]

    code, skipped, _ = story.cli("create", str(story.root / "drafts" / "draft-4.yaml"))
    assert (code, skipped["skipped"]) == (0, True)
    assert "identical to support-agent v5" in skipped["reason"]

    code, deployed, _ = story.cli("deploy", SLUG, "3")
    assert (code, deployed["event"]) == (0, "ReleaseDeployed")
    assert story.show(f"agents/{SLUG}/current.yaml")["metadata"]["version"] == 3
    assert "AgentV-Event: ReleaseDeployed" in story.git("log", "-1", "--format=%B", BRANCH)
    code, _, err = story.cli("deploy", SLUG, "4")
    assert code == 1
    assert "cannot deploy support-agent v4: it is rejected, it failed its eval gate" in err

    code, verified, err = story.cli("verify")
    assert (code, verified["findings"], verified["unchecked"]) == (0, [], []), err
    # ... and from another machine, with nothing but the config: the runs are fetched to check
    elsewhere = story.remote_dir.parent / "auditor"
    (elsewhere / ".agentv").mkdir(parents=True)
    (elsewhere / ".agentv" / "config.yaml").write_bytes(
        (story.root / ".agentv" / "config.yaml").read_bytes()
    )
    code, verified, err = story.cli("verify", rootdir=elsewhere)
    assert (code, verified["findings"], verified["unchecked"]) == (0, [], []), err

    # someone else pushes a hand-edited v2
    clone = story.remote_dir.parent / "someone-else"
    git("clone", "--quiet", "--branch", BRANCH, story.remote, str(clone))
    git("config", "user.name", "Mallory", cwd=clone)
    git("config", "user.email", "mallory@example.com", cwd=clone)
    v2_file = clone / RELEASES / "v2.yaml"
    v2_file.write_text(v2_file.read_text().replace("Be polite, brief and warm.", "Be rude."))
    git("commit", "--quiet", "-am", "tweak v2", cwd=clone)
    git("push", "--quiet", "origin", BRANCH, cwd=clone)
    forged = git("rev-parse", "HEAD", cwd=clone)
    code, verified, _ = story.cli("verify", SLUG)
    assert code == 1
    assert {(f["file"], f["version"], f["commit"]) for f in verified["findings"]} == {
        (f"{RELEASES}/v2.yaml", 2, forged)
    }
    messages = [f["message"] for f in verified["findings"]]
    assert any("does not match the content" in m for m in messages)
    assert any(m.endswith("agent.system_prompt") for m in messages)
    code, history, _ = story.cli("history", SLUG)
    assert history[-1]["event"] is None and history[-1]["author"].startswith("Mallory")

    code, deleted, _ = story.cli("delete", SLUG, "--reason", "retired")
    assert (code, deleted["event"]) == (0, "ReleaseDeleted")
    tombstone = story.show(f"agents/{SLUG}/current.yaml")["metadata"]
    assert (tombstone["status"], tombstone["changelog"]) == ("deleted", "[DELETED] retired")
    assert tombstone["deleted_at"]
    files = story.git("ls-tree", "-r", "--name-only", BRANCH).splitlines()
    assert [f for f in files if f.startswith(RELEASES)] == [
        f"{RELEASES}/v{n}.yaml" for n in range(1, 6)
    ]
    story.git("fsck", "--strict")

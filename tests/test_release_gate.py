"""The eval gate in real pytest sessions: xdist, metrics, hooks, undelivered runs, bad usage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from pytest_agentv.releases.canonical import canonical_bytes, with_checksum
from pytest_agentv.releases.commands import main as release_main
from pytest_agentv.releases.loading import load_release
from tests.git_fixtures import git, init_bare
from tests.release_helpers import DRAFT_YAML, init_release_project

SLUG = "support-agent"
BRANCH = "agentv/releases/v1"

SUITE = """
import pytest

@pytest.mark.parametrize("n", range(4))
def test_case(agentv_release, agentv, n):
    agentv.score("helpful", 0.9 if agentv_release.agent.model.id == "gpt-4o" else 0.2)
    assert n < 3  # one of four fails: pass rate 75
"""


def _project(pytester: pytest.Pytester, tmp_path: Path, runs_remote: str | None = None) -> Path:
    remote = init_bare(tmp_path / "state.git")
    pytester.makepyfile(test_gate=SUITE)
    root = pytester.path
    init_release_project(root, str(remote), runs_remote)
    (root / "draft.yaml").write_text(DRAFT_YAML)
    assert release_main(["create", "draft.yaml", "--rootdir", str(root)]) == 0
    return remote


def _status(remote: Path, version: int = 1) -> dict[str, object]:
    text = git("show", f"{BRANCH}:agents/{SLUG}/releases/v{version}.yaml", cwd=remote)
    metadata: dict[str, object] = yaml.safe_load(text)["metadata"]
    return metadata


@pytest.mark.parametrize("dist", [("-p", "no:xdist"), ("-n", "2")])
def test_the_pass_rate_decides_and_workers_get_the_release(
    pytester: pytest.Pytester, git_env: Path, tmp_path: Path, dist: tuple[str, ...]
) -> None:
    remote = _project(pytester, tmp_path)
    result = pytester.runpytest(*dist, "--agentv-release", f"{SLUG}@1")
    result.assert_outcomes(passed=3, failed=1)
    assert result.ret == 0  # the gate passed (75 >= 75), so the session did
    result.stdout.fnmatch_lines(
        [
            f"agentv: evaluating release {SLUG}@1 (min_quality_score 75) from branch {BRANCH}*",
            f"agentv: release {SLUG}@1 ACTIVATED: score 75 >= 75 (pass_rate)*",
        ]
    )
    metadata = _status(remote)
    assert metadata["status"] == "active"
    evaluation = metadata["evaluation"]
    assert isinstance(evaluation, dict)
    assert (evaluation["score"], evaluation["threshold"], evaluation["metric"]) == (
        75.0,
        75.0,
        "pass_rate",
    )
    assert evaluation["results_branch"] == "agentv/checkpoints/v1"


def test_a_metric_decides_when_named(
    pytester: pytest.Pytester, git_env: Path, tmp_path: Path
) -> None:
    remote = _project(pytester, tmp_path)
    result = pytester.runpytest(
        "-p", "no:xdist", "--agentv-release", SLUG, "--agentv-quality-metric", "helpful"
    )
    result.stdout.fnmatch_lines([f"agentv: release {SLUG}@1 ACTIVATED: score 90 >= 75 (helpful)*"])
    assert _status(remote)["status"] == "active"


def test_a_failed_gate_rejects_and_fails_the_session(
    pytester: pytest.Pytester, git_env: Path, tmp_path: Path
) -> None:
    remote = _project(pytester, tmp_path)
    pytester.makeconftest(
        """
        import json, pathlib
        def pytest_agentv_release_event(event):
            pathlib.Path("event.json").write_text(json.dumps(event))
        """
    )
    (pytester.path / ".agentv" / "config.yaml").write_text(
        (pytester.path / ".agentv" / "config.yaml").read_text()
        + '  on_event: "cat > command-event.json"\n'
    )
    result = pytester.runpytest("-p", "no:xdist", "--agentv-release", SLUG, "-k", "not 0")
    assert result.ret == 1
    result.stdout.fnmatch_lines([f"agentv: release {SLUG}@1 REJECTED: score 66.6667 < 75*"])
    metadata = _status(remote)
    assert metadata["status"] == "rejected"
    assert metadata["changelog"] == "First release [REJECTED: score 66.6667 < 75]"
    hooked = json.loads((pytester.path / "event.json").read_text())
    commanded = json.loads((pytester.path / "command-event.json").read_text())
    assert hooked == commanded
    assert (hooked["event"], hooked["agent"], hooked["version"]) == ("ReleaseRejected", SLUG, 1)
    assert hooked["commit"] == git("rev-parse", BRANCH, cwd=remote)


def test_an_undelivered_run_leaves_the_release_pending(
    pytester: pytest.Pytester, git_env: Path, tmp_path: Path
) -> None:
    remote = _project(pytester, tmp_path, runs_remote=str(tmp_path / "missing.git"))
    result = pytester.runpytest(
        "-p", "no:xdist", "--agentv-release", SLUG, "-W", "ignore::pytest.PytestWarning"
    )
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        ["agentv: run * was not delivered: release support-agent@1 stays pending_eval*"]
    )
    assert _status(remote)["status"] == "pending_eval"


def test_bad_usage_is_a_usage_error(
    pytester: pytest.Pytester, git_env: Path, tmp_path: Path
) -> None:
    _project(pytester, tmp_path)
    result = pytester.runpytest("-p", "no:xdist", "--agentv-release", "other-agent")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--agentv-release other-agent: other-agent has no release waiting for its eval*"]
    )
    result = pytester.runpytest("-p", "no:xdist", "--agentv-release", "Bad_Slug")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*'Bad_Slug' is not SLUG or SLUG@VERSION*"])
    result = pytester.runpytest("-p", "no:xdist")
    result.stdout.fnmatch_lines(["*the agentv_release fixture needs a release to evaluate*"])


def test_verify_catches_a_forged_verdict_with_a_valid_checksum(
    pytester: pytest.Pytester, git_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    remote = _project(pytester, tmp_path)
    result = pytester.runpytest("-p", "no:xdist", "--agentv-release", SLUG, "-k", "not 0")
    assert result.ret == 1  # 66.7 < 75: rejected
    # someone rewrites the verdict, recomputing the checksum with the library itself
    clone = tmp_path / "forger"
    git("clone", "--quiet", "--branch", BRANCH, str(remote), str(clone))
    path = clone / "agents" / SLUG / "releases" / "v1.yaml"
    release = load_release(path.read_bytes(), str(path))
    assert release.metadata.evaluation is not None
    evaluation = release.metadata.evaluation.model_copy(update={"score": 90.0})
    metadata = release.metadata.model_copy(
        update={"status": "active", "changelog": "First release", "evaluation": evaluation}
    )
    forged = with_checksum(release.model_copy(update={"metadata": metadata}))
    path.write_bytes(canonical_bytes(forged))
    current = path.parent.parent / "current.yaml"
    current.write_bytes(canonical_bytes(forged))
    git("add", "-A", cwd=clone)
    git("-c", "user.name=F", "-c", "user.email=f@example.com", "commit", "-qm", "x", cwd=clone)
    git("push", "--quiet", "origin", BRANCH, cwd=clone)
    capsys.readouterr()
    assert release_main(["verify", "--json", "--rootdir", str(pytester.path)]) == 1
    findings = json.loads(capsys.readouterr().out)["findings"]
    messages = [f["message"] for f in findings]
    assert "metadata.changelog was rewritten; it may only gain a suffix" in messages
    assert any("status rejected -> active is not an allowed transition" in m for m in messages)
    assert any(
        m.startswith("eval run ") and "scores 66.6667, the release records 90" in m
        for m in messages
    )


def test_a_gate_on_the_local_backend_says_its_evidence_is_local(
    pytester: pytest.Pytester, git_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    remote = _project(pytester, tmp_path)
    result = pytester.runpytest(
        "-p", "no:xdist", "--agentv-release", SLUG, "--agentv-backend", "local"
    )
    assert result.ret == 0
    result.stdout.fnmatch_lines(["agentv: note: the run is in the local directory only*"])
    evaluation = _status(remote)["evaluation"]
    assert isinstance(evaluation, dict)
    assert evaluation["results_branch"] == "local"
    capsys.readouterr()
    assert release_main(["verify", "--json", "--rootdir", str(pytester.path)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["findings"] == []
    assert len(report["unchecked"]) == 1
    assert report["unchecked"][0].endswith("not checked: it was stored in a local directory only")


MIXED_SUITE = """
import pytest

def test_flaky(agentv_release, agentv, request):
    assert "repeat1of2" in request.node.name  # passes on its first repeat only

def test_steady(agentv_release, agentv):
    pass

@pytest.mark.xfail(reason="known")
def test_known(agentv_release, agentv):
    assert False

@pytest.mark.skip(reason="later")
def test_later(agentv_release, agentv):
    pass

def test_plain():  # no agentv fixture: not repeated
    assert False
"""


def test_the_release_gate_and_min_pass_rate_read_one_rule(
    pytester: pytest.Pytester, git_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # per test: flaky 1/2, steady 1, known (xfailed) 1, later (skipped) left out, plain 0
    # -> (0.5 + 1 + 1 + 0) / 4 = 62.5; counted by repeat, without xfailed: 3 / 5 = 60
    remote = init_bare(tmp_path / "state.git")
    pytester.makepyfile(test_gate=MIXED_SUITE)
    init_release_project(pytester.path, str(remote))
    draft = DRAFT_YAML.replace("min_quality_score: 75", "min_quality_score: 62")
    (pytester.path / "draft.yaml").write_text(draft)
    assert release_main(["create", "draft.yaml", "--rootdir", str(pytester.path)]) == 0
    result = pytester.runpytest(
        "-p", "no:xdist", "--agentv-release", SLUG, "--agentv-repeat", "2",
        "--agentv-min-pass-rate", "0.62",
    )  # fmt: skip
    result.assert_outcomes(passed=3, failed=2, xfailed=2, skipped=2)
    result.stdout.fnmatch_lines(
        [
            f"agentv: release {SLUG}@1 ACTIVATED: score 62.5 >= 62 (pass_rate)*",
            "*min-pass-rate *pass_rate *0.625 * >= 0.62 *PASS",
        ]
    )
    assert result.ret == 0
    assert _status(remote)["status"] == "active"
    capsys.readouterr()
    assert release_main(["verify", "--json", "--rootdir", str(pytester.path)]) == 0
    assert json.loads(capsys.readouterr().out)["findings"] == []

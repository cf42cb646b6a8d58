"""Helpers for the dashboard tests: a results branch with many varied runs, written quickly.

No tests here. Runs are built by the real payload builder and written by the real git store (one
commit each), so the site is generated from a branch exactly as sessions leave it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from pytest_agentv.models import TestRecord
from pytest_agentv.payload import Provenance, RawEvent
from pytest_agentv.serial import iso
from pytest_agentv.settings import resolve_settings
from pytest_agentv.store.base import RunArtifacts
from pytest_agentv.store.git import GitArtifactStore
from tests import runs
from tests.git_fixtures import git
from tests.runs import EVAL, T0, VERSIONS, record

MODELS = ("gpt-4o", "claude-3")
# a secret in a prompt: the payload builder redacts it, so transcripts show a redaction marker
HINT = {"test_refund": "; my token is ghp_R7d2kQ9xLmN4pV8sT1wY6zB3cF5hJ0gK2aE7"}


@dataclass(frozen=True)
class Planned:
    """One run written to the branch, and what the tests expect of it."""

    run_id: str
    model: str
    branch: str
    tags: tuple[str, ...]
    tests: tuple[TestRecord, ...]


def run_id_of(n: int) -> str:
    """A deterministic run id."""
    return hashlib.sha256(f"dashboard-{n}".encode()).hexdigest()[:16]


def planned_tests(n: int, model: str, *, regress: bool = False) -> tuple[TestRecord, ...]:
    """Varied tests: accuracy drifts, escalation flips on claude-3, one test always skips."""
    accuracy = 0.70 + (n % 7) * 0.03
    flipping = model == "claude-3" and n % 4 == 1
    return (
        record(
            "test_refund",
            "failed" if regress else "passed",
            accuracy=(0.4 if regress else accuracy, 0.6),
            tone=0.5 + (n % 5) * 0.1,
        ),
        record("test_greeting", accuracy=(0.8, 0.6)),
        record("test_escalation", "failed" if flipping else "passed", accuracy=(0.65, 0.6)),
        record("test_later", "skipped"),
    )


def plan(count: int) -> list[Planned]:
    """``count`` runs alternating models; every fifth from a feature branch tagged ``pr``; the
    last gpt-4o run regresses ``test_refund`` against the gpt-4o run before it."""
    last_gpt = max(n for n in range(count) if MODELS[n % 2] == "gpt-4o")
    runs = []
    for n in range(count):
        model = MODELS[n % 2]
        branch = "feature/tone" if n % 5 == 4 else "main"
        tags = ("pr",) if branch != "main" else ("nightly",)
        runs.append(
            Planned(
                run_id_of(n), model, branch, tags, planned_tests(n, model, regress=n == last_gpt)
            )
        )
    return runs


def build(planned: Planned, minutes: int) -> RunArtifacts:
    """The run's files, as the payload builder makes them, ``minutes`` after the first run."""
    started = T0 + timedelta(minutes=minutes)
    transcript = []
    for test in planned.tests:
        name = test.nodeid.split("::")[-1]
        transcript += [
            RawEvent(test.nodeid, "user", f"question for {name}{HINT.get(name, '')}", iso(started)),
            RawEvent(
                test.nodeid,
                "tool",
                {"name": "lookup", "result": f"order of {name}"},
                iso(started),
                {"tool_call_id": "call-1"},
            ),
            RawEvent(test.nodeid, "assistant", f"answer for {name}", iso(started)),
        ]
    return runs.build(
        planned.run_id,
        started=started,
        seconds=3,
        tests=planned.tests,
        transcript=transcript,
        versions=VERSIONS,
        provenance=Provenance(
            repo="acme/agent",
            commit=hashlib.sha1(planned.run_id.encode()).hexdigest(),
            branch=planned.branch,
            dirty=False,
        ),
        model=planned.model,
        eval_file=EVAL,
        tags=planned.tags,
    )


def make_project(root: Path) -> Path:
    """A source repository with one commit on ``main`` (no user git configuration needed)."""
    root.mkdir(parents=True, exist_ok=True)
    git("init", "--quiet", "--initial-branch=main", cwd=root)
    (root / "README").write_text("project\n")
    git("add", "README", cwd=root)
    git(
        "-c",
        "user.name=Eval Author",
        "-c",
        "user.email=author@example.com",
        "commit",
        "--quiet",
        "-m",
        "start",
        cwd=root,
    )
    (root / ".agentv").mkdir(exist_ok=True)
    (root / ".agentv" / "config.yaml").write_text("artifacts:\n  backend: git\n")
    return root


def write_runs(root: Path, runs: Sequence[Planned], start_minute: int = 0) -> None:
    """Write runs to the project's local results branch through the git store."""
    store = GitArtifactStore(resolve_settings(root, cli={"backend": "git"}, env={}, ini={}))
    for offset, planned in enumerate(runs):
        result = store.write(build(planned, start_minute + offset))
        assert result.delivered and not result.problems, result.problems


def create_release(root: Path, draft_yaml: str, changelog: str) -> int:
    """Create a pending_eval release through the releases API; returns its version."""
    from pytest_agentv.releases.loading import load_draft
    from pytest_agentv.releases.operations import plan_create
    from pytest_agentv.releases.store import Applied, ReleaseStore, now_utc

    draft = load_draft(draft_yaml.encode(), "draft.yaml")
    store = ReleaseStore.for_settings(resolve_settings(root, cli={}, env={}, ini={}))
    result = store.apply(
        draft.metadata.name,
        lambda state: plan_create(
            state,
            draft,
            file="draft.yaml",
            author="Eval Author <author@example.com>",
            timestamp=now_utc(),
            changelog=changelog,
        ),
    )
    assert isinstance(result, Applied) and not result.problems, result
    return result.plan.version

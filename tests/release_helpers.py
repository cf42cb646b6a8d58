"""Release artifacts for the release tests: one valid draft as YAML, and models built from it."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

from pytest_agentv.releases.canonical import with_checksum
from pytest_agentv.releases.models import AgentRelease
from tests.git_fixtures import git

DRAFT_YAML = """\
apiVersion: agents.recif.dev/v1
kind: AgentRelease
metadata:
  name: support-agent
  changelog: First release
runtime:
  image: ghcr.io/acme/support-agent:1.0.0
  replicas: 2
  resources:
    requests: {cpu: 500m, memory: 256Mi}
    limits: {memory: 512Mi}
agent:
  model: {provider: openai, id: gpt-4o}
  system_prompt: |
    You are the support agent of Acme.
    Answer briefly.
  skills: [triage]
  tools: [search_kb, open_ticket]
  knowledge_bases: [faq]
  memory: {backend: redis}
governance:
  guards: [pii]
  risk_profile: standard
  policies: [no-refunds]
  eval_dataset: evals/support.jsonl
  min_quality_score: 75
deployment:
  namespace: agents
  environment: production
"""


def release_data(version: int = 1, **sections: Any) -> dict[str, Any]:
    """A stored release's data (status pending_eval), with sections overridden by keyword."""
    data: dict[str, Any] = {
        "apiVersion": "agents.recif.dev/v1",
        "kind": "AgentRelease",
        "metadata": {
            "name": "support-agent",
            "version": version,
            "previous": version - 1,
            "author": "Ada Lovelace <ada@example.com>",
            "timestamp": "2026-12-01T10:00:00Z",
            "changelog": f"Release {version}",
        },
        "runtime": {"image": "ghcr.io/acme/support-agent:1.0.0", "replicas": 2},
        "agent": {
            "model": {"provider": "openai", "id": "gpt-4o"},
            "system_prompt": "You are the support agent of Acme.\nAnswer briefly.\n",
            "tools": ["search_kb", "open_ticket"],
        },
        "governance": {"min_quality_score": 75},
        "deployment": {"namespace": "agents", "environment": "production"},
    }
    for name, value in sections.items():
        data[name] = value
    return data


def make_release(version: int = 1, status: str = "pending_eval", **sections: Any) -> AgentRelease:
    """A valid, checksummed release."""
    data = release_data(version, **sections)
    data["metadata"]["status"] = status
    return with_checksum(AgentRelease.model_validate(data))


def init_release_project(root: Path, releases_remote: str, runs_remote: str | None = None) -> None:
    """``root`` as an eval project: ``.agentv/config.yaml`` sending runs (to ``runs_remote``, by
    default the releases remote) and releases to git, and a source repository on ``main`` with
    a committer identity (the release author)."""
    (root / ".agentv").mkdir()
    (root / ".agentv" / "config.yaml").write_text(
        textwrap.dedent(
            f"""\
            artifacts:
              backend: git
              git: {{remote: "{runs_remote or releases_remote}"}}
            releases:
              remote: "{releases_remote}"
            """
        )
    )
    git("init", "--quiet", "--initial-branch=main", cwd=root)
    git("config", "user.name", "Eval Author", cwd=root)
    git("config", "user.email", "author@example.com", cwd=root)


def release_cli() -> str:
    """The installed ``agentv-release`` console script beside this interpreter."""
    script = Path(sys.executable).with_name("agentv-release")
    assert script.exists(), "the agentv-release console script is not installed"
    return str(script)

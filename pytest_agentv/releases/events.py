"""Release events as JSON, for the ``pytest_agentv_release_event`` hook and the configured command.

Every committed operation is one event; ``releases.on_event`` (``AGENTV_RELEASES_ON_EVENT``) names
a shell command that gets the event's JSON on stdin, e.g. to patch the agent's Kubernetes
resource or notify a channel after a deploy. A failing command is reported, never fatal: the
event is already committed.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

from pytest_agentv.releases.store import Applied

COMMAND_TIMEOUT = 60.0


def event_payload(applied: Applied, branch: str) -> dict[str, Any]:
    """The JSON of one event (docs/releases.md, "Events")."""
    plan = applied.plan
    trailers = dict(plan.trailers)
    return {
        "event": plan.event,
        "agent": plan.slug,
        "version": plan.version,
        "status": plan.release.metadata.status,
        "checksum": plan.release.metadata.checksum,
        "commit": applied.commit,
        "branch": branch,
        "pushed": applied.pushed,
        "subject": plan.subject,
        "eval_run": trailers.get("AgentV-Eval-Run"),
        "files": sorted(plan.files),
    }


def run_event_command(command: str, payload: dict[str, Any]) -> str | None:
    """Run ``command`` with ``payload`` on stdin; a problem to report, or None."""
    try:
        completed = subprocess.run(
            command,
            shell=True,
            input=json.dumps(payload, sort_keys=True) + "\n",
            text=True,
            capture_output=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"the release event command {command!r} failed: {exc}"
    if completed.returncode != 0:
        detail = completed.stderr.strip().splitlines()[-1:] or ["no output"]
        return f"the release event command {command!r} exited {completed.returncode}: {detail[0]}"
    return None

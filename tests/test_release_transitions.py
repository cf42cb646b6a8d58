"""The status table and the diff of two releases."""

from __future__ import annotations

import pytest

from pytest_agentv.releases.diff import diff_releases
from pytest_agentv.releases.errors import TransitionError
from pytest_agentv.releases.models import STATUSES
from pytest_agentv.releases.transitions import (
    allowed_from,
    check_transition,
    is_allowed,
    rejected_changelog,
)
from tests.release_helpers import make_release, release_data


def test_the_allowed_moves_of_each_status() -> None:
    assert allowed_from("pending_eval") == ["active", "rejected", "deleted"]
    assert allowed_from("active") == ["archived", "deleted"]
    assert allowed_from("archived") == ["active", "deleted"]
    assert allowed_from("rejected") == ["deleted"]
    assert allowed_from("deleted") == []
    assert all(is_allowed(status, "deleted") for status in STATUSES)


@pytest.mark.parametrize(
    ("old", "new"), [("rejected", "active"), ("active", "pending_eval"), ("archived", "rejected")]
)
def test_a_refused_move_names_the_allowed_ones(old: str, new: str) -> None:
    with pytest.raises(TransitionError) as caught:
        check_transition(old, new, "support-agent v4")  # type: ignore[arg-type]
    assert str(caught.value).startswith(f"support-agent v4: {old} -> {new} is not allowed")
    assert "(allowed: " in str(caught.value)


def test_rejection_appends_its_reason_to_the_changelog() -> None:
    assert rejected_changelog("Shorter prompt", "score 62 < 75") == (
        "Shorter prompt [REJECTED: score 62 < 75]"
    )
    assert rejected_changelog("", "score 0 < 75") == "[REJECTED: score 0 < 75]"


def test_diff_lists_changed_leaves_by_dotted_path_and_lists_as_whole_values() -> None:
    old = make_release(3, "archived")
    data = release_data(5)
    data["agent"]["model"] = {"provider": "anthropic", "id": "claude-sonnet"}
    data["agent"]["tools"] = ["search_kb"]
    data["runtime"]["replicas"] = 4
    new = make_release(5, "active", agent=data["agent"], runtime=data["runtime"])
    changes = [change.to_json() for change in diff_releases(old, new)]
    assert changes == [
        {"path": "runtime.replicas", "from": 2, "to": 4},
        {"path": "agent.model.provider", "from": "openai", "to": "anthropic"},
        {"path": "agent.model.id", "from": "gpt-4o", "to": "claude-sonnet"},
        {"path": "agent.tools", "from": ["search_kb", "open_ticket"], "to": ["search_kb"]},
    ]


def test_diff_of_releases_that_differ_only_in_their_life_is_empty() -> None:
    assert diff_releases(make_release(1, "rejected"), make_release(2, "active")) == []


def test_diff_reports_a_section_that_appears_as_one_change() -> None:
    old = make_release(1)
    agent = dict(release_data()["agent"], memory={"backend": "redis"})
    assert [c.to_json() for c in diff_releases(old, make_release(2, agent=agent))] == [
        {"path": "agent.memory", "from": None, "to": {"backend": "redis"}}
    ]

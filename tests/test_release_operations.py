"""The operations as pure plans, and the gate's arithmetic."""

from __future__ import annotations

import pytest

from pytest_agentv.releases.canonical import canonical_bytes, compute_checksum
from pytest_agentv.releases.errors import ArtifactError, NotFoundError, ReleaseError
from pytest_agentv.releases.gate import decide
from pytest_agentv.releases.layout import current_path, release_path
from pytest_agentv.releases.loading import load_draft, load_release
from pytest_agentv.releases.models import AgentRelease, Evaluation, ReleaseTombstone
from pytest_agentv.releases.operations import (
    ABSENT,
    AgentState,
    Plan,
    Skipped,
    StoredRelease,
    pending_version,
    plan_create,
    plan_delete,
    plan_deploy,
    plan_gate,
)
from tests.release_helpers import DRAFT_YAML, make_release
from tests.runs import record

SLUG = "support-agent"
DRAFT = load_draft(DRAFT_YAML.encode(), "support.yaml")
NOW = "2026-12-01T12:00:00Z"


def _state(
    *releases: AgentRelease, current: AgentRelease | ReleaseTombstone | None = None
) -> AgentState:
    return AgentState(
        SLUG,
        {r.version: StoredRelease(r, f"blob-{r.version}-{r.status}") for r in releases},
        current,
        "blob-current" if current is not None else None,
    )


def _evaluation(release: AgentRelease, score: float) -> Evaluation:
    return Evaluation(
        run_id="20261201T120000Z-abcd",
        score=score,
        threshold=75,
        metric="pass_rate",
        results_branch="agentv/checkpoints/v1",
        release_checksum=release.metadata.checksum,
    )


def _plan(result: Plan | Skipped) -> Plan:
    assert isinstance(result, Plan), result
    return result


def test_create_numbers_the_first_release_and_requires_its_file_to_be_new() -> None:
    plan = _plan(plan_create(_state(), DRAFT, file="support.yaml", author="Ada", timestamp=NOW))
    assert plan.subject == "support-agent v1: created — First release"
    assert plan.expected == {release_path(SLUG, 1): ABSENT}
    release = load_release(plan.files[release_path(SLUG, 1)], "v1.yaml")
    assert (release.version, release.metadata.previous, release.status) == (1, 0, "pending_eval")
    assert (release.metadata.author, release.metadata.timestamp) == ("Ada", NOW)
    assert release.metadata.checksum == compute_checksum(release)
    assert dict(plan.trailers)["AgentV-Event"] == "ReleaseCreated"
    assert dict(plan.trailers)["AgentV-Version"] == "1"


def test_create_after_v3_is_v4_and_the_changelog_option_wins() -> None:
    state = _state(
        make_release(1, "archived"), make_release(2, "rejected"), make_release(3, "active")
    )
    plan = _plan(
        plan_create(state, DRAFT, file="f.yaml", author="Ada", timestamp=NOW, changelog="New tone")
    )
    assert plan.version == 4
    assert plan.subject == "support-agent v4: created — New tone"


def test_create_of_the_latest_config_is_skipped() -> None:
    first = _plan(plan_create(_state(), DRAFT, file="f.yaml", author="Ada", timestamp=NOW))
    assert isinstance(first.release, AgentRelease)
    again = plan_create(_state(first.release), DRAFT, file="f.yaml", author="Bob", timestamp=NOW)
    assert isinstance(again, Skipped)
    assert again.reason == (
        "the config is identical to support-agent v1 (pending_eval); nothing to create"
    )


def test_create_refuses_a_version_that_is_not_next() -> None:
    draft = DRAFT.model_copy(update={"metadata": DRAFT.metadata.model_copy(update={"version": 3})})
    with pytest.raises(ArtifactError) as caught:
        plan_create(_state(make_release(1)), draft, file="f.yaml", author="A", timestamp=NOW)
    assert str(caught.value) == (
        "f.yaml: metadata.version: 3: the next version of support-agent is 2; "
        "remove the field or set it"
    )


def test_passing_gate_activates_archives_and_writes_current_in_one_plan() -> None:
    v1, v2 = make_release(1, "active"), make_release(2)
    plan = plan_gate(_state(v1, v2, current=v1), 2, _evaluation(v2, 80), True, "score 80 >= 75")
    assert plan.subject == "support-agent v2: activated — Release 2"
    assert set(plan.expected) == {release_path(SLUG, 1), release_path(SLUG, 2), current_path(SLUG)}
    assert plan.expected[current_path(SLUG)] == "blob-current"
    assert plan.expected[release_path(SLUG, 2)] == "blob-2-pending_eval"
    archived = load_release(plan.files[release_path(SLUG, 1)], "v1")
    active = load_release(plan.files[release_path(SLUG, 2)], "v2")
    assert (archived.status, active.status) == ("archived", "active")
    assert archived.metadata.checksum == compute_checksum(archived)
    assert plan.files[current_path(SLUG)] == canonical_bytes(active)
    assert active.metadata.evaluation == _evaluation(v2, 80)
    assert dict(plan.trailers)["AgentV-Eval-Run"] == "20261201T120000Z-abcd"


def test_failing_gate_rejects_with_the_reason_in_the_changelog() -> None:
    v1 = make_release(1)
    plan = plan_gate(_state(v1), 1, _evaluation(v1, 62), False, "score 62 < 75")
    rejected = load_release(plan.files[release_path(SLUG, 1)], "v1")
    assert rejected.metadata.changelog == "Release 1 [REJECTED: score 62 < 75]"
    assert plan.subject == "support-agent v1: rejected — score 62 < 75"
    assert list(plan.files) == [release_path(SLUG, 1)]


def test_the_gate_picks_the_latest_pending_release_and_refuses_others() -> None:
    state = _state(make_release(1, "active"), make_release(2), make_release(3))
    assert pending_version(state, None).version == 3
    with pytest.raises(ReleaseError, match="v1 is active, not pending_eval"):
        pending_version(state, 1)
    with pytest.raises(NotFoundError, match="has no release waiting"):
        pending_version(_state(make_release(1, "active")), None)


def test_deploy_rolls_back_to_an_archived_release() -> None:
    v1, v2 = make_release(1, "archived"), make_release(2, "active")
    plan = _plan(plan_deploy(_state(v1, v2, current=v2), 1))
    assert plan.subject == "support-agent v1: deployed — rollback from v2"
    assert dict(plan.trailers)["AgentV-Event"] == "ReleaseDeployed"
    assert load_release(plan.files[release_path(SLUG, 2)], "v2").status == "archived"
    assert load_release(plan.files[current_path(SLUG)], "current").version == 1


@pytest.mark.parametrize(
    ("status", "why"),
    [("rejected", "it failed its eval gate"), ("pending_eval", "it has not been evaluated")],
)
def test_deploy_refuses_a_release_that_did_not_pass_its_gate(status: str, why: str) -> None:
    with pytest.raises(ReleaseError) as caught:
        plan_deploy(_state(make_release(1, status)), 1)
    assert f"cannot deploy support-agent v1: it is {status}, {why}" in str(caught.value)


def test_deploy_of_what_is_deployed_is_skipped() -> None:
    v1 = make_release(1, "active")
    assert isinstance(plan_deploy(_state(v1, current=v1), 1), Skipped)


def test_delete_writes_a_tombstone_and_marks_active_and_pending_deleted() -> None:
    v1, v2, v3 = make_release(1, "archived"), make_release(2, "active"), make_release(3)
    plan = _plan(
        plan_delete(_state(v1, v2, v3, current=v2), author="Ada", timestamp=NOW, reason="retired")
    )
    assert set(plan.files) == {release_path(SLUG, 2), release_path(SLUG, 3), current_path(SLUG)}
    tombstone = plan.release
    assert isinstance(tombstone, ReleaseTombstone)
    assert tombstone.metadata.changelog == "[DELETED] retired"
    assert tombstone.metadata.deleted_at == NOW
    assert tombstone.metadata.version == 2
    assert tombstone.metadata.checksum == compute_checksum(tombstone)
    again = plan_delete(_state(v1, current=tombstone), author="Ada", timestamp=NOW, reason="")
    assert isinstance(again, Skipped)


def test_pass_rate_and_metric_scores() -> None:
    tests = [
        *(record(f"test_p{i}", helpful=0.8) for i in range(5)),
        *(record(f"test_f{i}", "failed") for i in range(2)),
        record("test_e", "error"),
        *(record(f"test_s{i}", "skipped") for i in range(3)),
    ]
    verdict = decide(tests, None, 75)
    assert (verdict.score, verdict.passed, verdict.reason) == (62.5, False, "score 62.5 < 75")
    verdict = decide(tests, "helpful", 75)
    assert (verdict.score, verdict.passed, verdict.metric) == (80.0, True, "helpful")
    missing = decide(tests, "accuracy", 0)
    assert not missing.passed
    assert missing.reason.startswith("metric 'accuracy' was not recorded (recorded: helpful)")
    assert not decide([record("test_s", "skipped")], None, 0).passed


def test_a_hand_edited_release_is_never_rewritten_with_a_valid_checksum() -> None:
    v1 = make_release(1, "archived")
    forged = v1.model_copy(
        update={"metadata": v1.metadata.model_copy(update={"changelog": "edited"})}
    )
    v2 = make_release(2, "active")
    with pytest.raises(ReleaseError) as caught:
        plan_deploy(_state(forged, v2, current=v2), 1)
    assert str(caught.value).startswith(
        f"{release_path(SLUG, 1)}: its checksum does not match its content"
    )

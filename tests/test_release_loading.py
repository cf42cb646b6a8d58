"""Loading release files: valid artifacts parse, every kind of bad input is one clear error."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import yaml

from pytest_agentv.releases.canonical import canonical_bytes
from pytest_agentv.releases.errors import ArtifactError
from pytest_agentv.releases.loading import MAX_FILE_BYTES, load_current, load_draft, load_release
from pytest_agentv.releases.models import ReleaseTombstone
from tests.release_helpers import DRAFT_YAML, make_release, release_data

FILE = "agents/support-agent/releases/v1.yaml"


def _error(data: bytes, loader: Callable[[bytes, str], object] = load_release) -> ArtifactError:
    with pytest.raises(ArtifactError) as caught:
        loader(data, FILE)
    return caught.value


def _yaml(data: object) -> bytes:
    return yaml.safe_dump(data, sort_keys=False).encode()


def test_a_draft_gets_the_defaults_of_the_format() -> None:
    draft = load_draft(DRAFT_YAML.encode(), "support.yaml")
    assert draft.metadata.name == "support-agent"
    assert draft.metadata.version is None
    assert draft.runtime.channel == "rest"
    assert draft.runtime.strategy == "agent-react"
    assert draft.runtime.resources.requests == {"cpu": "500m", "memory": "256Mi"}
    assert draft.agent.system_prompt == "You are the support agent of Acme.\nAnswer briefly.\n"
    assert draft.governance.min_quality_score == 75.0


def test_a_stored_release_round_trips_through_its_canonical_bytes() -> None:
    release = make_release(3, "active")
    assert load_release(canonical_bytes(release), FILE) == release


def test_an_unquoted_timestamp_stays_the_string_it_was() -> None:
    data = _yaml(release_data()).replace(b"'2026-12-01T10:00:00Z'", b"2026-12-01T10:00:00Z")
    assert b"timestamp: 2026-12-01T10:00:00Z" in data
    assert load_release(data, FILE).metadata.timestamp == "2026-12-01T10:00:00Z"


def test_an_unknown_field_names_the_dotted_path_and_the_allowed_fields() -> None:
    data = release_data()
    data["agent"]["model"]["temperature"] = 0.2
    message = str(_error(_yaml(data)))
    assert message == (
        f"{FILE}: agent.model.temperature: 0.2: unknown field; allowed here: provider, id"
    )


@pytest.mark.parametrize(
    ("section", "key", "value", "expected"),
    [
        ("metadata", "name", "Support_Agent", "'Support_Agent': must be a DNS-1123 label"),
        ("governance", "risk_profile", "extreme", "'extreme': Input should be 'low', 'standard'"),
        ("governance", "min_quality_score", 101, "101: Input should be less than or equal to 100"),
        ("governance", "min_quality_score", -1, "-1: Input should be greater than or equal to 0"),
        ("metadata", "status", "live", "'live': Input should be 'pending_eval', 'active'"),
        ("metadata", "version", 0, "0: Input should be greater than or equal to 1"),
        ("deployment", "namespace", "Prod NS", "'Prod NS': must be a DNS-1123 label"),
    ],
)
def test_a_bad_value_names_file_field_value_and_what_is_allowed(
    section: str, key: str, value: object, expected: str
) -> None:
    data = release_data()
    data[section][key] = value
    error = _error(_yaml(data))
    assert error.file == FILE
    assert [p.field for p in error.problems] == [f"{section}.{key}"]
    assert f"{FILE}: {section}.{key}: {expected}" in str(error)


def test_a_slug_longer_than_a_dns_label_is_refused() -> None:
    data = release_data()
    data["metadata"]["name"] = "a" * 64
    assert "metadata.name" in str(_error(_yaml(data)))
    data["metadata"]["name"] = "a" * 63
    assert load_release(_yaml(data), FILE).slug == "a" * 63


def test_every_missing_field_is_named_at_once() -> None:
    data = release_data()
    del data["agent"]["system_prompt"]
    del data["runtime"]
    error = _error(_yaml(data))
    assert {p.field for p in error.problems} == {"agent.system_prompt", "runtime"}
    assert "agent.system_prompt: required field is missing" in str(error)


def test_a_wrong_api_version_or_kind_is_refused() -> None:
    data = release_data()
    data["apiVersion"] = "agents.recif.dev/v2"
    data["kind"] = "Deployment"
    error = _error(_yaml(data))
    assert {p.field for p in error.problems} == {"apiVersion", "kind"}


def test_a_draft_may_not_claim_a_status_other_than_pending_eval() -> None:
    draft = DRAFT_YAML.replace("  changelog: First release\n", "  status: active\n")
    error = _error(draft.encode(), load_draft)
    assert "metadata.status: 'active': Input should be 'pending_eval'" in str(error)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\xff\xfeapiVersion: x\n", "not UTF-8 (byte 0)"),
        (b"metadata: [unclosed\n", "line 2, column 1: invalid YAML"),
        (b"a: 1\na: 2\n", "line 2, column 1: invalid YAML: duplicate key 'a'"),
        (b"--- 1\n--- 2\n", "invalid YAML: expected a single document"),
        (b"", "expected a mapping (apiVersion, kind, ...), got empty"),
        (b"- a\n- b\n", "expected a mapping (apiVersion, kind, ...), got list"),
        (b"\t- a: b\n", "invalid YAML"),
    ],
)
def test_unreadable_bytes_give_one_clean_error(data: bytes, expected: str) -> None:
    assert expected in str(_error(data))


def test_an_alias_bomb_is_refused_before_it_expands() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    error = _error("\n".join(lines).encode())
    assert "line 2, column 10: invalid YAML: YAML aliases (*name) are not allowed" in str(error)


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    assert "invalid YAML" in str(_error(b"[" * 100_000))


def test_an_oversized_file_is_refused_unread() -> None:
    data = b"a: " + b"x" * MAX_FILE_BYTES
    assert f"over the {MAX_FILE_BYTES} limit" in str(_error(data))


def test_current_yaml_is_a_release_or_a_tombstone() -> None:
    release = make_release(2, "active")
    assert load_current(canonical_bytes(release), "current.yaml") == release
    tombstone = {
        "apiVersion": "agents.recif.dev/v1",
        "kind": "AgentRelease",
        "metadata": {
            "name": "support-agent",
            "version": 2,
            "previous": 1,
            "author": "Ada",
            "timestamp": "2026-12-01T10:00:00Z",
            "changelog": "[DELETED] retired",
            "status": "deleted",
            "deleted_at": "2026-12-01T10:00:00Z",
        },
    }
    assert isinstance(load_current(_yaml(tombstone), "current.yaml"), ReleaseTombstone)
    tombstone["runtime"] = {"image": "x"}
    assert "runtime: {'image': 'x'}: unknown field; allowed here: apiVersion, kind, metadata" in (
        str(_error(_yaml(tombstone), load_current))
    )


def test_a_control_character_in_a_key_is_escaped_not_printed() -> None:
    """Found by tests/test_release_fuzz.py: a key "\\r" split (and could overwrite) the message."""
    data = release_data()
    data["metadata"]["status"] = "pending_eval"
    data["governance"]["\rmin_quality_score\x1b[2K"] = 1
    message = str(_error(_yaml(data)))
    assert message.splitlines() == [message]
    assert "governance.\\rmin_quality_score\\x1b[2K" in message


def test_a_control_character_in_the_bytes_is_one_line_naming_where() -> None:
    """Found by tests/test_release_fuzz.py: PyYAML's reader error spanned two lines."""
    message = str(_error(b"apiVersion: agents.recif.dev/v1\nkind: \x07\n"))
    assert message.splitlines() == [message]
    assert message.startswith(f"{FILE}: character 39: '\\x07': invalid YAML:")

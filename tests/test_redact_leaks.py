"""Secrets that used to slip past redaction, through a real session onto a real git branch:
secrets used as names (score names, metadata keys, message field names) and pytest's
abbreviated assertion text, which keeps both ends of a long token.

Tokens are built at run time from a seeded generator, so no secret-shaped literal sits in the
repository, and each has its real format's length and alphabet.
"""

from __future__ import annotations

import json
import random
import string
import subprocess
from pathlib import Path

import pytest

from pytest_agentv.redact import Redactor
from tests.git_fixtures import git

BRANCH = "agentv/checkpoints/v1"
_RNG = random.Random(20261201)
ALNUM = string.ascii_letters + string.digits


def rand(alphabet: str, n: int) -> str:
    while True:
        value = "".join(_RNG.choice(alphabet) for _ in range(n))
        if alphabet != ALNUM or (
            any(c.isdigit() for c in value)
            and any(c.isupper() for c in value)
            and any(c.islower() for c in value)
        ):
            return value


GITHUB_PAT = "ghp_" + rand(ALNUM, 36)
OTHER_PAT = "ghp_" + rand(ALNUM, 36)
OPENAI_KEY = "sk-proj-" + rand(ALNUM + "_-", 156)
AWS_KEY_ID = "AKIA" + rand("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
SLACK_TOKEN = (
    "xoxb-" + rand(string.digits, 12) + "-" + rand(string.digits, 13) + "-" + rand(ALNUM, 24)
)


@pytest.fixture
def project(pytester: pytest.Pytester, git_env: Path) -> pytest.Pytester:
    """A pytester project that is a git repository with a first commit."""
    root = pytester.path
    git("init", "--quiet", "--initial-branch=main", cwd=root)
    git("config", "user.name", "Eval Author", cwd=root)
    git("config", "user.email", "author@example.com", cwd=root)
    git("commit", "--quiet", "--allow-empty", "-m", "start", cwd=root)
    return pytester


def branch_objects(repo: Path) -> bytes:
    """Every object reachable from the results branch, as `git cat-file --batch` prints them."""
    ids = git("rev-list", "--objects", BRANCH, cwd=repo).splitlines()
    request = "".join(f"{line.split()[0]}\n" for line in ids).encode()
    done = subprocess.run(
        ["git", "cat-file", "--batch"], cwd=repo, capture_output=True, check=True, input=request
    )
    return done.stdout


def run_file(repo: Path, name: str) -> str:
    tree = git("ls-tree", "-r", "--name-only", BRANCH, cwd=repo).splitlines()
    (path,) = [p for p in tree if p.endswith(name)]
    return git("show", f"{BRANCH}:{path}", cwd=repo)


SECRET_NAMES_SUITE = f'''
import pytest

@pytest.fixture(scope="session", autouse=True)
def _run(agentv_run):
    agentv_run.metadata["{AWS_KEY_ID}"] = "run-level value"

def test_named_after_secrets(agentv):
    agentv.score("{GITHUB_PAT}", 0.75)
    agentv.score("{OTHER_PAT}", 0.75)
    agentv.score("accuracy", 1.0)
    agentv.metadata["{OPENAI_KEY}"] = "test-level value"
    agentv.message("tool", "done", **{{"{SLACK_TOKEN}": "field value"}})

def test_same_score_again(agentv):
    agentv.score("{GITHUB_PAT}", 0.25)
    agentv.message("tool", "again", **{{"{GITHUB_PAT}": "as a field name"}})
'''


def test_secrets_used_as_names_reach_no_object_and_no_trailer(project: pytest.Pytester) -> None:
    project.makepyfile(test_names=SECRET_NAMES_SUITE)
    result = project.runpytest("-p", "no:xdist", "--agentv-git")
    result.assert_outcomes(passed=2)
    root = project.path

    objects = branch_objects(root)
    for secret in (GITHUB_PAT, OTHER_PAT, OPENAI_KEY, AWS_KEY_ID, SLACK_TOKEN):
        assert secret.encode() not in objects
        assert secret[-12:].encode() not in objects
    trailers = git("log", "-1", "--format=%(trailers)", BRANCH, cwd=root)
    (scores,) = [line for line in trailers.splitlines() if line.startswith("AgentV-Scores:")]
    metadata = json.loads(run_file(root, "metadata.json"))
    # the two scores named after two different tokens stay two aggregates, and the token both
    # tests used has one name in every test and in the aggregates
    aggregates = metadata["scores"]
    assert set(aggregates) == {"[REDACTED:github-pat]", "[REDACTED:github-pat]~2", "accuracy"}
    (shared,) = [name for name, agg in aggregates.items() if agg["count"] == 2]
    (other,) = set(aggregates) - {shared, "accuracy"}
    assert aggregates[shared]["mean"] == 0.5 and aggregates[other]["mean"] == 0.75
    assert set(scores.split()[1:]) == {f"{shared}=0.5", f"{other}=0.75", "accuracy=1"}
    first, second = metadata["tests"]
    assert set(first["scores"]) == set(aggregates)
    assert set(second["scores"]) == {shared}
    assert first["metadata"] == {"[REDACTED:openai-api-key]": "test-level value"}
    assert metadata["metadata"] == {"[REDACTED:aws-access-key-id]": "run-level value"}
    first_event, second_event = [
        json.loads(line) for line in run_file(root, "transcript.jsonl").splitlines()
    ]
    assert first_event["[REDACTED:slack-token]"] == "field value"
    # the token has the same name in the transcript as in the metadata
    assert second_event[shared] == "as a field name"


TRUNCATED_SUITE = f'''
def test_compares_a_key():
    key = "{OPENAI_KEY}"
    assert key == "nothing"

def test_compares_a_token():
    assert "{GITHUB_PAT}" == "nothing"
'''


def test_pytests_abbreviated_assertion_keeps_no_part_of_a_token(project: pytest.Pytester) -> None:
    project.makepyfile(test_truncated=TRUNCATED_SUITE)
    result = project.runpytest("-p", "no:xdist", "--agentv-git")
    result.assert_outcomes(failed=2)
    root = project.path

    # what pytest itself shows: both ends of the key, the middle elided
    shown = OPENAI_KEY[:12] + "..." + OPENAI_KEY[-13:]
    assert any(shown in line for line in result.outlines)
    objects = branch_objects(root)
    for secret in (OPENAI_KEY, GITHUB_PAT):
        assert secret[-8:].encode() not in objects
        assert secret[:12].encode() not in objects
    failures = [t["failure"] for t in json.loads(run_file(root, "metadata.json"))["tests"]]
    assert all("[REDACTED:truncated-token]" in text for text in failures), failures


@pytest.mark.parametrize(
    "text",
    [
        "assert 'sk-proj-QAtK...KJC06DPdRO9Yr' == 'nothing'",
        "'ghp_" + "aB3dE5" + "...G7hJ9kL1mN3pQ'",
        "token eyJhbGciOiJI...s7dwx9F8Yk8dQ in the header",
        "xoxb-1234567...89012-Zq8Rt3Wm9Kx2",
        "AKIA2E3F\u2026Q4R5S6T7",
    ],
)
def test_truncated_token_fragments_are_redacted(text: str) -> None:
    out = Redactor().text(text)
    assert "[REDACTED:truncated-token]" in out
    tail = text.replace("\u2026", "...").split("...")[1].split()[0].strip("'")[-6:]
    assert tail not in out


@pytest.mark.parametrize(
    "text",
    [
        "references in the manifest, e.g. `{'OPENAI_API_KEY': 'sk-...'}`.",
        "the dashboard lists the key as sk-...AbC9",  # the provider's own masked display
        "GITHUB_TOKEN=ghp_xxxx...xxxx",
        "use a token like ghp_... or gho_... here",
        "AKIA... is an access key id prefix; sk-... an OpenAI one",
        "loading...done in 3.2s",
        "tests/test_agent.py ....... [100%]",
        "the task-...-list",
    ],
)
def test_ellipses_that_keep_no_secret_are_left_alone(text: str) -> None:
    assert Redactor().text(text) == text

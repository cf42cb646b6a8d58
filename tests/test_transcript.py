"""The run's transcript, redacted and written as the session goes (pytest_agentv.transcript)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_agentv.models import TranscriptEvent
from pytest_agentv.redact import KeyNames, Redactor
from pytest_agentv.transcript import (
    ORPHAN_AFTER,
    SESSION_PREFIX,
    RawEvent,
    TranscriptSpool,
    event_document,
    remove_orphans,
    serialise_events,
)
from tests.helpers import load_run, only_run_dir

SECRET = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"

EVENTS = [
    RawEvent("t.py::a", "user", "hello there", "2026-01-01T00:00:00.000000Z"),
    RawEvent("t.py::a", "tool", {"args": [1, 2.5, None, True], "out": "ok"}, "ts", {"x": 1}),
    RawEvent("t.py::a", "assistant", f"the token is {SECRET}", "ts", {"note": "n"}),
    RawEvent("t.py::a", "user", "password = hunter2hunter2", "ts"),
    RawEvent("t.py::a", "user", {"api_key": "sk-live-0123456789abcdef"}, "ts"),
]


def test_the_event_document_is_the_models_line() -> None:
    for seq, event in enumerate(EVENTS):
        model = TranscriptEvent(
            test=event.test,
            seq=seq,
            role=event.role,
            content=event.content,
            timestamp=event.timestamp,
            **event.fields,
        )
        assert event_document(event, seq) == model.model_dump(mode="json")


@pytest.mark.parametrize("events", [EVENTS, EVENTS[:2], EVENTS[2:3], [EVENTS[0]] * 40])
def test_a_batch_is_redacted_as_each_event_alone(events: list[RawEvent]) -> None:
    seen: list[tuple[str, str]] = []

    def hook(text: str, context: str) -> str:
        seen.append((text, context))
        return text.replace("hello", "HELLO")

    redactor = Redactor(extra=hook)
    documents = [event_document(event, n) for n, event in enumerate(events)]
    one_by_one = [redactor.json(doc, "transcript", KeyNames()) for doc in documents]
    alone_seen, seen[:] = list(seen), []
    assert redactor.json_many(documents, "transcript", KeyNames()) == one_by_one
    assert seen == alone_seen  # the hook sees every string, with the same path
    assert SECRET not in repr(one_by_one)


def test_a_big_message_is_scanned_on_its_own() -> None:
    big = "lorem ipsum dolor " * 200_000 + SECRET
    (line,) = serialise_events([RawEvent("t", "user", big, "ts")], 0, Redactor(), KeyNames())
    assert SECRET not in line and "[REDACTED:" in line


def test_discard_takes_back_a_tests_lines_only(tmp_path: Path) -> None:
    spool = TranscriptSpool(lambda: tmp_path / "spool", "0123456789abcdef", Redactor(), KeyNames())
    assert spool.read() == b"" and spool.path is None  # nothing made before the first write
    spool.write("a", EVENTS[:2])
    spool.commit("a")
    spool.write("b", EVENTS[2:4])
    spool.write("b", EVENTS[4:])
    spool.discard("b")  # b is run again
    spool.write("b", EVENTS[:1])
    spool.commit("b")
    lines = spool.read().decode().splitlines()
    assert [line.count('"seq":') for line in lines] == [1, 1, 1]
    assert [f'"seq":{n},' in line for n, line in enumerate(lines)] == [True] * 3
    assert ["hello there" in line for line in lines] == [True, False, True]  # b's second try
    assert spool.path is not None and spool.path.parent.name.startswith(SESSION_PREFIX)
    spool.close()
    assert not spool.path.parent.exists()


def _dead_pid() -> int:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                           capture_output=True, text=True)  # fmt: skip
    return int(child.stdout)


def test_orphans_of_dead_sessions_are_removed_live_ones_kept(tmp_path: Path) -> None:
    dead = tmp_path / f"{SESSION_PREFIX}0123456789abcdef-{_dead_pid()}"
    live = tmp_path / f"{SESSION_PREFIX}fedcba9876543210-{os.getpid()}"
    young = tmp_path / f"{SESSION_PREFIX}00000000000000ff-{_dead_pid()}"
    for directory in (dead, live, young):
        directory.mkdir()
        (directory / "transcript.jsonl").write_text('{"half": ')
    for directory in (dead, live):
        os.utime(directory, (0, 0))
    assert remove_orphans(tmp_path, now=ORPHAN_AFTER + 10.0) == [dead]
    assert live.exists() and young.exists()


SESSION_FILE_CHECK = f"""
import pathlib

def test_a_secret(agentv):
    agentv.message("assistant", "here: {SECRET}")

def test_reads_the_session_file(agentv):
    (found,) = pathlib.Path(".agentv/spool").glob(".session-*/transcript.jsonl")
    text = found.read_text()
    assert "here: [REDACTED:" in text
    assert "{SECRET}" not in text
"""


def test_only_redacted_text_is_on_disk_during_the_session(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SESSION_FILE_CHECK)
    result = pytester.runpytest("-p", "no:xdist")
    result.assert_outcomes(passed=2)
    _, events, _ = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    assert [e["content"].startswith("here: [REDACTED:") for e in events] == [True]
    assert not list((pytester.path / ".agentv" / "spool").glob(".session-*"))


BIG_MESSAGES = """
import os
import pathlib

def test_big(agentv):
    for n in range(3):
        agentv.message("tool", f"{n} " + "x y " * 400_000)
    if "PYTEST_XDIST_WORKER" not in os.environ:  # a worker sends its messages with the report
        (found,) = pathlib.Path(".agentv/spool").glob(".session-*/transcript.jsonl")
        assert found.stat().st_size > 3_000_000  # written while the test runs

def test_after(agentv):
    agentv.message("user", "last")
"""


@pytest.mark.parametrize("mode", [["-p", "no:xdist"], ["-n2"]])
def test_big_transcripts_are_written_as_they_are_recorded(
    pytester: pytest.Pytester, mode: list[str]
) -> None:
    pytester.makepyfile(test_suite=BIG_MESSAGES)
    pytester.runpytest(*mode).assert_outcomes(passed=2)
    _, events, summary = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    assert sorted(e["seq"] for e in events) == list(range(4))
    assert sorted(e["content"][:2] for e in events) == ["0 ", "1 ", "2 ", "la"]
    assert summary["counts"]["total"] == 2


RERUN_MESSAGES = """
import pathlib

def test_flaky(agentv):
    marker = pathlib.Path("attempts.txt")
    count = int(marker.read_text()) if marker.exists() else 0
    marker.write_text(str(count + 1))
    agentv.message("user", f"attempt {count}")
    agentv.message("tool", "x " * 600_000)  # past the flush size: written mid-test
    assert count >= 1
"""


@pytest.mark.parametrize("mode", [["-p", "no:xdist"], ["-n2"]])
def test_a_rerun_attempts_messages_are_taken_back(
    pytester: pytest.Pytester, mode: list[str]
) -> None:
    pytester.makepyfile(test_flaky=RERUN_MESSAGES)
    result = pytester.runpytest(*mode, "--reruns", "2")
    assert result.parseoutcomes() == {"passed": 1, "rerun": 1}
    _, events, _ = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    assert [(e["seq"], e["content"][:9]) for e in events] == [(0, "attempt 1"), (1, "x x x x x")]


def test_a_crashed_sessions_file_is_not_taken_for_a_run(pytester: pytest.Pytester) -> None:
    orphan = pytester.path / ".agentv" / "spool" / f"{SESSION_PREFIX}0123456789abcdef-{_dead_pid()}"
    orphan.mkdir(parents=True)
    (orphan / "transcript.jsonl").write_text('{"test":"x","seq":0,"content":"half')
    os.utime(orphan, (0, 0))
    pytester.makepyfile("def test_one(agentv):\n    agentv.message('user', 'hi')\n")
    result = pytester.runpytest("-p", "no:xdist", "--agentv-git")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*agentv: run * (1 test) written to*"])
    assert not orphan.exists()
    listed = subprocess.run(
        [sys.executable, "-m", "pytest_agentv.cli", "list", "--backend", "git", "--json"],
        cwd=pytester.path,
        capture_output=True,
        text=True,
    )
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)) == 1


def test_a_big_texts_token_runs_are_those_of_the_whole_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pytest_agentv import redact

    pieces = [SECRET, "word ", "x" * 70, "\n", "base64,", "a" * 1500, " ", "Zz09_-" * 5]
    big = "".join(pieces[n % len(pieces)] for n in range(200_000))
    sliced = redact.token_runs(big)
    monkeypatch.setattr(redact, "_MASK_SLICE", len(big) + 1)  # the one-copy path
    assert redact.token_runs(big) == sliced


@pytest.mark.parametrize("seed", range(5))
def test_a_line_written_member_by_member_is_the_json_dumps_line(
    monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    import json
    import random

    from pytest_agentv import serial

    chars = 'ab "\\\n\t\u0085\u2028\u2029é😀{}'
    pick = random.Random(seed)
    docs = [
        {
            "content": "".join(pick.choice(chars) for _ in range(pick.randint(0, 80))),
            "seq": n,
            "nested": [1.5, None, {"k": pick.choice(chars)}],
            "é": True,
        }
        for n in range(50)
    ]
    whole = [serial.jsonl_text(doc) for doc in docs]
    monkeypatch.setattr(serial, "_BIG_MEMBER", 0)  # every member on its own
    assert ["".join(serial.jsonl_chunks(doc)) for doc in docs] == whole
    assert all("\u2028" not in line and "\n" not in line for line in whole)
    dumped = json.dumps(docs[0], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert json.loads(whole[0]) == json.loads(dumped)

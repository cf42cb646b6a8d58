"""Hostile input, fuzzed: config files, run references, transcript content and scores.

The property everywhere: either a clear, typed error (the one the user sees as one line) or a
value that can be stored; never a traceback of another kind, never a half-built run.
"""

from __future__ import annotations

import json
import math
import string
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_agentv.config_file import load_config_file
from pytest_agentv.exceptions import AgentvRecordError
from pytest_agentv.models import Score, TestRecord
from pytest_agentv.options import SettingsError
from pytest_agentv.payload import RawEvent, aggregate_scores
from pytest_agentv.recorder import EvalRecorder
from pytest_agentv.settings import Settings
from pytest_agentv.sources import RefError, RefSyntaxError, open_source, resolve_ref
from tests.cli_support import write_local
from tests.runs import build, make_run

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# text with lone surrogates, controls and astral characters: what a model's output can hold
hostile_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
json_like = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | hostile_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=4),
    max_leaves=30,
)
yaml_fragments = st.sampled_from(
    ["artifacts:", "  backend: git", "  git:", "    branch: x.lock/y", "    remote: *r", "&r a",
     "redaction:", "  patterns: [", "- *a", "? [1]", "\t", "%YAML 1.1", "---", "!!python/none",
     "a: &a [*a]", "\ufeff", "artifacts: {backend: local, strict: maybe}"]
)  # fmt: skip


@FUZZ
@given(st.binary(max_size=300) | st.lists(yaml_fragments, max_size=12).map("\n".join))
def test_config_loader_never_raises_anything_else(content: bytes | str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.yaml"
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        try:
            load_config_file(path)
        except SettingsError as exc:
            assert str(path) in str(exc) and len(str(exc)) < 5000


_SOURCE_DIR = tempfile.TemporaryDirectory()
write_local(Path(_SOURCE_DIR.name), [make_run(), make_run()])


@FUZZ
@given(
    st.text(string.hexdigits + "latest~^@-x ", max_size=30)
    | st.from_regex(r"latest~[0-9]{1,40}", fullmatch=True)
    | hostile_text
)
def test_run_references_resolve_or_fail_cleanly(ref: str) -> None:
    source = open_source(Settings(rootdir=Path(_SOURCE_DIR.name)))
    try:
        run_id = resolve_ref(source, ref)
    except (RefError, RefSyntaxError) as exc:
        assert str(exc)
    else:
        assert len(run_id) == 16
    finally:
        source.close()


@FUZZ
@given(role=hostile_text, content=json_like, fields=st.dictionaries(hostile_text, json_like))
def test_transcript_content_is_refused_or_stored(
    role: str, content: Any, fields: dict[str, Any]
) -> None:
    recorder = EvalRecorder("test_x.py::test_x")
    try:
        recorder.message(role, content, **fields)
    except (AgentvRecordError, TypeError):
        return  # TypeError: a field name Python cannot pass as a keyword
    wire = recorder.to_wire()
    events = [
        RawEvent(test="t::x", role=e["role"], content=e["content"], timestamp=e["timestamp"],
                 fields=e["fields"])
        for e in wire["events"]
    ]  # fmt: skip
    run = build(
        None,
        started=make_run().summary and __import__("datetime").datetime(2025, 1, 1),
        seconds=1.0,
        tests=[TestRecord(nodeid="t::x", outcome="passed", duration=0.1)],
        transcript=events,
        versions=make_run_versions(),
    )
    # any JSON Lines reader: str.splitlines() also splits at U+0085, U+2028 and U+2029
    lines = run.files["transcript.jsonl"].decode("utf-8").splitlines()
    assert [json.loads(line)["role"] for line in lines] == [role]


def make_run_versions() -> Any:
    from pytest_agentv.models import Versions

    return Versions(agentv="0", pytest="0", python="3", platform="linux")


numbers = st.floats() | st.integers(min_value=-(10**400), max_value=10**400) | st.booleans()


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["a", "b"]), numbers), min_size=1, max_size=20))
def test_scores_are_refused_or_aggregate_to_finite_numbers(values: list[tuple[str, Any]]) -> None:
    records = []
    for n, (name, value) in enumerate(values):
        recorder = EvalRecorder(f"t::{n}")
        try:
            recorder.score(name, value)
        except (AgentvRecordError, OverflowError):
            continue
        records.append(TestRecord(nodeid=f"t::{n}", outcome="passed", duration=0.0,
                                  scores=recorder.scores))  # fmt: skip
    for aggregate in aggregate_scores(records).values():
        assert math.isfinite(aggregate.mean)
        assert math.isfinite(aggregate.min) and math.isfinite(aggregate.max)
    assert all(isinstance(score, Score) for r in records for score in r.scores.values())

"""Export a stored run for other tools (pure: a run in, bytes out).

JUnit XML follows what pytest's own ``--junitxml`` writes (``classname``/``name`` from the node id,
``failure``/``error``/``skipped`` children), so CI test-report UIs read it unchanged; the JUnit
schema (tests/data/junit-10.xsd) has no properties on a test case, so each score is a suite
property ``<nodeid>::score.<metric>`` and a line ``score.<metric> = <value>`` of the test's
``<system-out>``.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

from pytest_agentv.models import RunMetadata, RunSummary, TestRecord, TranscriptEvent
from pytest_agentv.serial import dump_json

# XML 1.0 forbids most control characters even when escaped; pytest replaces them the same way
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(value: str) -> str:
    return _ILLEGAL_XML.sub(lambda m: f"#x{ord(m.group()):02X}", value)


def junit_names(nodeid: str) -> tuple[str, str]:
    """``(classname, name)`` the way pytest's junitxml derives them from a node id."""
    parts = nodeid.split("::")
    if len(parts) == 1:
        return "", parts[0]
    module = parts[0].replace("\\", "/").removesuffix(".py").replace("/", ".")
    return ".".join([module, *parts[1:-1]]), parts[-1]


def _properties(parent: ET.Element, items: Sequence[tuple[str, Any]]) -> None:
    present = [(name, value) for name, value in items if value is not None]
    if not present:
        return
    properties = ET.SubElement(parent, "properties")
    for name, value in present:
        ET.SubElement(
            properties, "property", name=_xml_text(name), value=_xml_text(_text_value(value))
        )


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""


def _test_items(test: TestRecord) -> list[tuple[str, Any]]:
    """A test's scores and usage as ``(name, value)`` pairs (None values dropped later)."""
    items: list[tuple[str, Any]] = []
    for metric, score in sorted(test.scores.items()):
        items += [
            (f"score.{metric}", score.value),
            (f"score.{metric}.label", score.label),
            (f"score.{metric}.threshold", score.threshold),
            (f"score.{metric}.passed", score.passed),
            (f"score.{metric}.reason", score.reason),
        ]
    if test.usage.input_tokens or test.usage.output_tokens or test.usage.cost_usd:
        items += [
            ("usage.inputTokens", test.usage.input_tokens),
            ("usage.outputTokens", test.usage.output_tokens),
            ("usage.costUsd", test.usage.cost_usd),
        ]
    return items


def _text_value(value: Any) -> str:
    return json.dumps(value) if isinstance(value, bool) else str(value)


def _testcase(suite: ET.Element, test: TestRecord, transcript: Sequence[TranscriptEvent]) -> None:
    # the JUnit schema has no <properties> in a <testcase>: a test's scores are suite
    # properties named after the test, and lines of its <system-out>
    classname, name = junit_names(test.nodeid)
    case = ET.SubElement(
        suite,
        "testcase",
        classname=_xml_text(classname),
        name=_xml_text(name),
        time=f"{test.duration:.3f}",
    )
    items = [(key, value) for key, value in _test_items(test) if value is not None]
    if test.outcome in ("failed", "error"):
        tag = "failure" if test.outcome == "failed" else "error"
        child = ET.SubElement(case, tag, message=_xml_text(_first_line(test.failure)))
        child.text = _xml_text(test.failure or "")
    elif test.outcome in ("skipped", "xfailed"):
        kind = "pytest.skip" if test.outcome == "skipped" else "pytest.xfail"
        ET.SubElement(case, "skipped", type=kind, message=_xml_text(test.reason or ""))
    lines = [f"{key} = {_text_value(value)}\n" for key, value in items]
    lines += [_transcript_line(event) for event in transcript]
    if lines:
        out = ET.SubElement(case, "system-out")
        out.text = _xml_text("".join(lines))


def _transcript_line(event: TranscriptEvent) -> str:
    content = event.content if isinstance(event.content, str) else json.dumps(event.content)
    extra = "".join(
        f"    {name}: {value if isinstance(value, str) else json.dumps(value)}\n"
        for name, value in (event.model_extra or {}).items()
    )
    return f"[{event.seq}] {event.role}: {content}\n{extra}"


def to_junit(metadata: RunMetadata, transcript: Sequence[TranscriptEvent] = ()) -> bytes:
    """The run as a JUnit XML document (one ``testsuite`` inside ``testsuites``)."""
    counts = metadata.counts
    root = ET.Element("testsuites")
    suite = ET.SubElement(
        root,
        "testsuite",
        name=_xml_text(metadata.eval_file or "agentv"),
        tests=str(counts.total),
        failures=str(counts.failed),
        errors=str(counts.errors),
        skipped=str(counts.skipped + counts.xfailed),
        time=f"{metadata.duration_seconds:.3f}",
        timestamp=metadata.started_at,
    )
    items: list[tuple[str, Any]] = [
        ("agentv.runId", metadata.run_id),
        ("agentv.model", metadata.model),
        ("agentv.eval", metadata.eval_file),
        ("agentv.sourceRepo", metadata.source_repo),
        ("agentv.sourceCommit", metadata.source_commit),
        ("agentv.sourceBranch", metadata.source_branch),
    ]
    for metric, agg in sorted(metadata.scores.items()):
        items += [
            (f"score.{metric}.mean", agg.mean),
            (f"score.{metric}.min", agg.min),
            (f"score.{metric}.max", agg.max),
        ]
    for test in metadata.tests:
        items += [(f"{test.nodeid}::{key}", value) for key, value in _test_items(test)]
    _properties(suite, items)
    by_test: dict[str, list[TranscriptEvent]] = {}
    for event in transcript:
        by_test.setdefault(event.test, []).append(event)
    for test in metadata.tests:
        _testcase(suite, test, by_test.get(test.nodeid, ()))
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"


def to_json(
    summary: RunSummary, metadata: RunMetadata, transcript: Sequence[TranscriptEvent]
) -> bytes:
    """The whole run as one JSON document: ``{"summary", "metadata", "transcript"}``."""
    return dump_json(
        {
            "summary": summary.model_dump(mode="json", by_alias=True),
            "metadata": metadata.model_dump(mode="json", by_alias=True),
            "transcript": [event.model_dump(mode="json") for event in transcript],
        }
    )


def parse_transcript(data: bytes) -> list[TranscriptEvent]:
    """The events of a ``transcript.jsonl`` file (ValueError naming the bad line)."""
    events = []
    for number, line in enumerate(data.decode("utf-8").split("\n"), start=1):
        if not line.strip():
            continue
        try:
            events.append(TranscriptEvent.model_validate_json(line))
        except ValueError as exc:
            raise ValueError(f"transcript.jsonl line {number}: {_short(exc)}") from None
    return events


def _short(exc: Exception) -> str:
    """The first problem with its field (``role: Field required``), not pydantic's headline."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            first = errors()[0]
        except (IndexError, TypeError):
            first = None
        if first is not None:
            where = ".".join(str(part) for part in first["loc"]) or "(top level)"
            return f"{where}: {first['msg']}"
    return str(exc).splitlines()[0]

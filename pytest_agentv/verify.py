"""Checking a stored run (pure): checksums, run ids, and that summary, metadata, transcript
and commit trailers agree. ``agentv-results verify`` reads the files and reports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import ValidationError

from pytest_agentv.export import parse_transcript
from pytest_agentv.models import RunMetadata, RunSummary
from pytest_agentv.payload import summarise
from pytest_agentv.serial import sha256
from pytest_agentv.store.paths import METADATA_FILE, RUN_FILES, SUMMARY_FILE, TRANSCRIPT_FILE


def verify_run(
    run_id: str,
    files: Mapping[str, bytes],
    layout_problems: Sequence[str] = (),
    trailer_counts: tuple[int, int, int, int, int] | None = None,
) -> list[str]:
    """Every problem with one stored run: checksums, run ids, summary/metadata agreement.

    ``files`` holds the run's files that could be read (by name); ``layout_problems`` what the
    store found wrong with where they live; ``trailer_counts`` the commit trailer's
    ``(total, passed, failed, skipped, errors)`` when the run is a commit.
    """
    problems = list(layout_problems)
    for name in RUN_FILES:
        if name not in files and f"{name}: missing" not in problems:
            problems.append(f"{name}: missing")
    if SUMMARY_FILE not in files:
        return problems
    try:
        summary = RunSummary.model_validate_json(files[SUMMARY_FILE])
    except ValidationError as exc:
        return [*problems, f"{SUMMARY_FILE}: not a valid summary ({_first_error(exc)})"]
    if summary.run_id != run_id:
        problems.append(
            f"{SUMMARY_FILE}: runId is {summary.run_id}, but the run is stored as {run_id}"
        )
    expected = {METADATA_FILE, TRANSCRIPT_FILE}
    for name in sorted(set(summary.files) - expected):
        problems.append(f"{SUMMARY_FILE}: lists a checksum for unknown file {name!r}")
    for name in sorted(expected):
        digest = summary.files.get(name)
        if digest is None:
            problems.append(f"{SUMMARY_FILE}: no checksum for {name}")
        elif name in files and sha256(files[name]) != digest:
            problems.append(
                f"{name}: SHA-256 is {sha256(files[name])}, but {SUMMARY_FILE} records {digest}"
            )
    if METADATA_FILE in files:
        try:
            metadata = RunMetadata.model_validate_json(files[METADATA_FILE])
        except ValidationError as exc:
            problems.append(f"{METADATA_FILE}: not valid run metadata ({_first_error(exc)})")
        else:
            if metadata.run_id != run_id:
                problems.append(
                    f"{METADATA_FILE}: runId is {metadata.run_id}, "
                    f"but the run is stored as {run_id}"
                )
            derived = summarise(metadata, files[METADATA_FILE], files.get(TRANSCRIPT_FILE, b""))
            for key in ("timestamp", "model", "eval_file", "counts", "scores", "source_commit"):
                if getattr(derived, key) != getattr(summary, key):
                    problems.append(f"{SUMMARY_FILE}: {key} disagrees with {METADATA_FILE}")
    if TRANSCRIPT_FILE in files:
        try:
            parse_transcript(files[TRANSCRIPT_FILE])
        except (ValueError, UnicodeDecodeError) as exc:
            problems.append(str(exc).splitlines()[0])
    if trailer_counts is not None:
        truth = (
            summary.counts.total,
            summary.counts.passed,
            summary.counts.failed,
            summary.counts.skipped,
            summary.counts.errors,
        )
        if trailer_counts != truth:
            problems.append("commit trailer AgentV-Tests disagrees with summary.json counts")
    return problems


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError) and exc.errors():
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        return f"{where}: {error['msg']}"
    return str(exc).splitlines()[0]

"""Commit-message trailers: the one writer and the one parser (pure), and the run trailers.

Messages this project writes are ``<subject>\\n\\n<Key: value lines>``. :func:`parse` reads those
with one regex over the whole block (walks over 100k commits depend on it) and falls back to
git's rules (``git interpret-trailers --parse``) for anything else. :func:`run_trailers` writes
the trailers of a run commit (docs/storage.md) and :data:`RUN_BLOCK` reads them back in one match.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pytest_agentv.credentials import mask_credentials

if TYPE_CHECKING:
    from pytest_agentv.models import RunSummary

_TRAILER_LINE = r"[A-Za-z0-9][A-Za-z0-9-]*: [^\n]*"
_SIMPLE_TRAILERS = re.compile(rf"{_TRAILER_LINE}(?:\n{_TRAILER_LINE})*")
_GENERAL_LINE = re.compile(r"(?P<key>[A-Za-z0-9][A-Za-z0-9-]*)\s*:\s*(?P<value>.*)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def one_line(value: str) -> str:
    """``value`` as a trailer value: one line, control characters and runs of spaces collapsed."""
    return " ".join(_CONTROL.sub(" ", value).split())


def format_message(subject: str, trailers: Sequence[tuple[str, str]]) -> bytes:
    """``subject``, a blank line and one ``Key: value`` line per trailer, newline-terminated."""
    message = subject.encode("utf-8")
    if not trailers:
        return message + b"\n"
    block = "\n".join(f"{key}: {value}" for key, value in trailers)
    return message + b"\n\n" + block.encode("utf-8") + b"\n"


def parse(message: bytes) -> dict[str, str]:
    """The trailers of a commit message, by key (the last one wins for repeated keys)."""
    end = len(message.rstrip(b"\n"))
    start = message.rfind(b"\n\n", 0, end)
    if start < 0:
        return {}
    block = message[start + 2 : end].decode("utf-8", "replace")
    # one C-level check of the whole block instead of a Python test per line and key
    if _SIMPLE_TRAILERS.fullmatch(block):
        return dict(line.split(": ", 1) for line in block.split("\n"))
    return _parse_general(block)


def _parse_general(block: str) -> dict[str, str]:
    """git's rules, simplified: the last paragraph is a trailer block when every line is a
    ``Key: value`` line or a continuation (indented) of the one before."""
    found: list[list[str]] = []
    for line in block.split("\n"):
        if line[:1].isspace() and found:
            found[-1][1] += " " + line.strip()
            continue
        match = _GENERAL_LINE.fullmatch(line)
        if match is None:
            return {}
        found.append([match["key"], match["value"].strip()])
    return {key: value for key, value in found}


# --- run commits ----------------------------------------------------------------------------------

RUN = "AgentV-Run"
EVAL = "AgentV-Eval"
MODEL = "AgentV-Model"
SOURCE_COMMIT = "Source-Commit"
TIMESTAMP = "AgentV-Timestamp"
TESTS = "AgentV-Tests"
SCORES = "AgentV-Scores"
#: only on a run that gated a release (``--agentv-release``): ``<slug>@<version>``
RELEASE = "AgentV-Release"
#: a run tagged ``release:<slug>@<version>`` evaluated that release, and gets :data:`RELEASE`
RELEASE_TAG_PREFIX = "release:"
#: written for a missing value; a list shows it as absent
UNKNOWN = "unknown"

# The trailer block exactly as run_trailers writes it (every key, this order): one C-level match
# gives every index column, where parsing the trailers in Python costs far more on a first index
# of 100k commits. Groups: run, eval, model, source, timestamp, the five counts, scores.
RUN_BLOCK = re.compile(
    rb"\n\nAgentV-Run: ([0-9a-f]{16})\nAgentV-Eval: ([^\n]*)\nAgentV-Model: ([^\n]*)\n"
    rb"Source-Commit: ([^\n]*)\nAgentV-Timestamp: ([^\n]*)\n"
    rb"AgentV-Tests: total=(\d+) passed=(\d+) failed=(\d+) skipped=(\d+) errors=(\d+)\n"
    rb"AgentV-Scores: ([^\n]*)\n?(?:AgentV-Release: [^\n]*\n?)?\Z"
)


def _value(value: str | None) -> str:
    """A run trailer value: one line, credentials masked, ``unknown`` when missing."""
    if value is None:
        return UNKNOWN
    return mask_credentials(one_line(value)) or UNKNOWN


def _score_name(name: str) -> str:
    return re.sub(r"[\s=]+", "_", _value(name))


def run_trailers(summary: RunSummary) -> list[tuple[str, str]]:
    """The trailers of a run commit, in order (docs/storage.md); every key is always present,
    except :data:`RELEASE`, only on a run that gated a release."""
    counts = summary.counts
    release = next((tag for tag in summary.tags if tag.startswith(RELEASE_TAG_PREFIX)), None)
    scores = " ".join(
        f"{_score_name(name)}={aggregate.mean:.12g}" for name, aggregate in summary.scores.items()
    )
    return [
        (RUN, summary.run_id),
        (EVAL, _value(summary.eval_file)),
        (MODEL, _value(summary.model)),
        (SOURCE_COMMIT, _value(summary.source_commit)),
        (TIMESTAMP, _value(summary.timestamp)),
        (
            TESTS,
            f"total={counts.total} passed={counts.passed} failed={counts.failed} "
            f"skipped={counts.skipped} errors={counts.errors}",
        ),
        (SCORES, scores or "none"),
        *([(RELEASE, _value(release.removeprefix(RELEASE_TAG_PREFIX)))] if release else []),
    ]


def run_subject(run_id: str) -> str:
    return f"Run: {run_id}"


def run_message(summary: RunSummary) -> bytes:
    """``Run: <runId>``, a blank line, then :func:`run_trailers`."""
    return format_message(run_subject(summary.run_id), run_trailers(summary))


def parse_pairs(text: str | None) -> dict[str, str]:
    """``"a=1 b=2"`` -> ``{"a": "1", "b": "2"}``; tokens without ``=`` are ignored."""
    pairs: dict[str, str] = {}
    for token in (text or "").split():
        name, sep, value = token.rpartition("=")
        if sep and name:
            pairs[name] = value
    return pairs


def parse_scores(text: str | None) -> dict[str, float]:
    """``AgentV-Scores`` (``"accuracy=0.9 tone=0.8"``, or ``none``) as metric -> mean."""
    scores: dict[str, float] = {}
    for name, value in parse_pairs(text).items():
        try:
            scores[name] = float(value)
        except ValueError:
            continue
    return scores

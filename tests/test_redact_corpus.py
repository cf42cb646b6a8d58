"""Regression gate: recall and false positives of the built-in rules on the labelled corpus.

The corpus is labelled public test data kept in the repository:
``tests/data/redaction_corpus.jsonl``.
A positive counts as caught only if its whole ``secret`` is gone from ``Redactor().text(text)``;
a negative (empty ``secret``) is a false positive if the text changes at all.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from pytest_agentv.redact import NamedPattern, RedactionConfig, Redactor

CORPUS = Path(__file__).resolve().parent / "data" / "redaction_corpus.jsonl"

RECALL_CORE = 0.99
RECALL_ALL = 0.95
MAX_FP_RATE = 0.02


@pytest.fixture(scope="module")
def corpus() -> list[dict[str, str]]:
    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line]
    assert rows, f"{CORPUS} is empty"
    return rows


@pytest.fixture(scope="module")
def outcome(corpus: list[dict[str, str]]) -> dict[str, object]:
    redactor = Redactor()
    caught: Counter[str] = Counter()
    total: Counter[str] = Counter()
    misses: dict[str, list[str]] = defaultdict(list)
    false_positives: list[str] = []
    negatives = 0
    for row in corpus:
        out = redactor.text(row["text"])
        if row["secret"]:
            total[row["tier"]] += 1
            if row["secret"] in out:
                misses[row["kind"]].append(row["text"][:120])
            else:
                caught[row["tier"]] += 1
        else:
            negatives += 1
            if out != row["text"]:
                false_positives.append(f"{row['kind']}: {row['text'][:120]!r} -> {out[:120]!r}")
    return {
        "caught": caught,
        "total": total,
        "misses": misses,
        "false_positives": false_positives,
        "negatives": negatives,
    }


def _miss_report(outcome: dict[str, object]) -> str:
    misses = outcome["misses"]
    assert isinstance(misses, dict)
    lines = [f"  {kind} x{len(texts)}: {texts[0]!r}" for kind, texts in sorted(misses.items())]
    return "missed, per kind:\n" + "\n".join(lines)


def test_recall_core_tier(outcome: dict[str, object]) -> None:
    caught, total = outcome["caught"], outcome["total"]
    assert isinstance(caught, Counter) and isinstance(total, Counter)
    recall = caught["core"] / total["core"]
    assert recall >= RECALL_CORE, f"core recall {recall:.2%} < {RECALL_CORE:.0%}\n" + _miss_report(
        outcome
    )


def test_recall_overall(outcome: dict[str, object]) -> None:
    caught, total = outcome["caught"], outcome["total"]
    assert isinstance(caught, Counter) and isinstance(total, Counter)
    recall = sum(caught.values()) / sum(total.values())
    assert recall >= RECALL_ALL, f"overall recall {recall:.2%} < {RECALL_ALL:.0%}\n" + _miss_report(
        outcome
    )


def test_false_positive_rate(outcome: dict[str, object]) -> None:
    false_positives = outcome["false_positives"]
    negatives = outcome["negatives"]
    assert isinstance(false_positives, list) and isinstance(negatives, int)
    rate = len(false_positives) / negatives
    assert rate <= MAX_FP_RATE, (
        f"false positives {len(false_positives)}/{negatives} = {rate:.2%} > {MAX_FP_RATE:.0%}:\n"
        + "\n".join(false_positives)
    )


def test_the_one_scan_shortcut_gives_what_the_full_pass_gives(corpus: list[dict[str, str]]) -> None:
    """Every corpus text, alone and inside a transcript-like event, comes out of the shortcut
    exactly as out of the full pass (forced by a pattern that never matches)."""
    fast = Redactor()
    full = Redactor(RedactionConfig(patterns=(NamedPattern(name="never", regex=r"(?!)"),)))
    differ = []
    for row in corpus:
        event = {
            "role": "tool",
            "content": [{"type": "tool_result", "content": row["text"]}],
            row["text"][:40]: "key",
            "headers": {"Authorization": row["text"]},
        }
        if fast.json(event, "transcript") != full.json(event, "transcript"):
            differ.append(row["text"][:80])
        if not fast.could_change(row["text"]) and full.text(row["text"]) != row["text"]:
            differ.append("could_change said no: " + row["text"][:80])
    assert not differ, differ

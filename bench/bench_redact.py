"""Benchmark the redactor: recall and false positives on the labelled corpus, and throughput on
a generated transcript-like JSONL of at least 10 MB.

Run on demand (not part of the test suite)::

    python bench/bench_redact.py [--mb 12] [--repeat 7] [--corpus PATH] [--seed 0] [--json OUT]

Throughput is measured for what a session does with a transcript, ``Redactor.json`` over each
parsed event (with one ``KeyNames`` for the run, as ``payload.build_run`` does), and for
``Redactor.text`` over raw lines. The anchor is a ``json.loads`` + ``json.dumps`` round trip of
every line, measured in the same run on the same data. The measurements are interleaved (one of
each per repeat, so a busy neighbour slows all of them alike) and the medians are reported, each
as MB/s and as a ratio of times to the round trip.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import random
import statistics
import string
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pytest_agentv.redact import KeyNames, Redactor  # noqa: E402

DEFAULT_CORPUS = REPO / "tests" / "data" / "redaction_corpus.jsonl"

# Prose and code words; a few secret-sounding ones ('token', 'password', 'api_key') at roughly
# the rate they turn up in coding-agent transcripts, so the keyword scan is exercised.
_WORDS = (  # noqa: SIM905 - prose is easier to read as a sentence than as a list
    "the model returned a response with the expected answer and the grader scored it as correct "
    "usage stayed under the budget while the agent called tools to read files and run tests "
    "def main(): return compute(value, limit=512) # check the result and retry on failure "
    "import os from pathlib import Path class Runner: self.items.append(item) for item in batch "
    "assert response.status_code == 200 print(json.dumps(payload, indent=2)) git diff HEAD~1 "
    "refactor the parser so that it handles nested lists and empty strings without raising "
    "we should add a regression test for the timeout case before merging this change "
    "token password api_key max_tokens=1024 secret"
).split()


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(n))


def _rand(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _secret(rng: random.Random) -> str:
    alnum = string.ascii_letters + string.digits
    return rng.choice(
        [
            "ghp_" + _rand(rng, alnum, 36),
            "sk-proj-" + _rand(rng, alnum + "_-", 100),
            "AKIA" + _rand(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16),
            "xoxb-" + _rand(rng, string.digits, 12) + "-" + _rand(rng, alnum, 24),
            "export DATABASE_URL=postgres://app:" + _rand(rng, alnum, 16) + "@db:5432/app",
            'api_key = "' + _rand(rng, alnum, 32) + '"',
        ]
    )


def make_event(rng: random.Random, i: int) -> dict[str, Any]:
    """One transcript event, shaped like what agents log: chat turns, tool calls and results,
    usage, ids, now and then an image or a secret."""
    kind = rng.random()
    event: dict[str, Any] = {
        "test": f"tests/test_agent.py::test_case_{i % 97}",
        "seq": i,
        "timestamp": "2026-01-01T00:00:00.000000Z",
        "id": "msg_" + _rand(rng, string.ascii_letters + string.digits, 24),
    }
    if kind < 0.4:
        event["role"] = rng.choice(["user", "assistant"])
        event["content"] = _sentence(rng, rng.randint(20, 300))
    elif kind < 0.7:
        event["role"] = "assistant"
        event["content"] = [
            {"type": "text", "text": _sentence(rng, 40)},
            {
                "type": "tool_use",
                "id": "toolu_" + _rand(rng, string.ascii_letters + string.digits, 24),
                "name": "bash",
                "input": {"command": "pytest -q tests/ && git log --format='%H %s' -3"},
            },
        ]
    elif kind < 0.97:
        event["role"] = "tool"
        lines = [
            f"{_rand(rng, '0123456789abcdef', 40)} {_sentence(rng, 8)}"
            if rng.random() < 0.2
            else _sentence(rng, rng.randint(5, 15))
            for _ in range(rng.randint(5, 60))
        ]
        if rng.random() < 0.05:
            lines.insert(rng.randrange(len(lines)), _secret(rng))
        event["content"] = [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "\n".join(lines)}
        ]
    else:
        event["role"] = "user"
        data = base64.b64encode(rng.randbytes(rng.randint(2000, 20000))).decode()
        event["content"] = [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}}
        ]
    event["usage"] = {"input_tokens": rng.randint(1, 9999), "output_tokens": rng.randint(1, 999)}
    return event


def make_jsonl(target_bytes: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    lines: list[str] = []
    size = 0
    i = 0
    while size < target_bytes:
        line = json.dumps(make_event(rng, i))
        lines.append(line)
        size += len(line) + 1
        i += 1
    return lines


def score_corpus(redactor: Redactor, path: Path) -> dict[str, Any]:
    """Recall per tier and the false-positive rate, as the test suite's gate computes them."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    caught: Counter[str] = Counter()
    total: Counter[str] = Counter()
    misses: dict[str, int] = defaultdict(int)
    negatives = false_positives = 0
    for row in rows:
        out = redactor.text(row["text"])
        if row["secret"]:
            total[row["tier"]] += 1
            if row["secret"] in out:
                misses[row["kind"]] += 1
            else:
                caught[row["tier"]] += 1
        else:
            negatives += 1
            false_positives += out != row["text"]
    return {
        "recall_core": caught["core"] / total["core"],
        "recall_all": sum(caught.values()) / sum(total.values()),
        "positives": sum(total.values()),
        "negatives": negatives,
        "false_positives": false_positives,
        "fp_rate": false_positives / negatives,
        "misses": dict(sorted(misses.items())),
    }


def interleaved_medians(runs: dict[str, Any], repeat: int) -> dict[str, float]:
    """Median seconds of each callable, run round-robin ``repeat`` times."""
    times: dict[str, list[float]] = {label: [] for label in runs}
    for _ in range(repeat):
        for label, fn in runs.items():
            start = time.perf_counter()
            fn()
            times[label].append(time.perf_counter() - start)
    return {label: statistics.median(values) for label, values in times.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=12.0, help="size of the generated JSONL")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)

    redactor = Redactor()
    score = score_corpus(redactor, args.corpus)
    print(f"corpus: {score['positives']} positives, {score['negatives']} negatives")
    print(f"  recall core    {score['recall_core']:.2%}")
    print(f"  recall overall {score['recall_all']:.2%}")
    print(f"  false positives {score['false_positives']} ({score['fp_rate']:.2%})")
    if score["misses"]:
        print("  missed kinds: " + ", ".join(f"{k} x{n}" for k, n in score["misses"].items()))

    lines = make_jsonl(int(args.mb * 1_000_000), args.seed)
    events = [json.loads(line) for line in lines]
    mb = sum(len(line) + 1 for line in lines) / 1_000_000

    def redact_events() -> None:
        names = KeyNames()
        for event in events:
            redactor.json(event, "transcript", names)

    # The plugin always passes the pytest_agentv_redact hook, so every string is offered to it
    # even when no conftest implements it; this stand-in keeps each text as it is.
    with_hook = Redactor(extra=lambda text, context: text)

    def redact_events_with_hook() -> None:
        names = KeyNames()
        for event in events:
            with_hook.json(event, "transcript", names)

    medians = interleaved_medians(
        {
            "json round trip (anchor)": lambda: [json.dumps(json.loads(line)) for line in lines],
            "Redactor.json per event": redact_events,
            "... with a no-op hook": redact_events_with_hook,
            "Redactor.text per line": lambda: [redactor.text(line) for line in lines],
        },
        args.repeat,
    )
    machine = f"{platform.python_implementation()} {platform.python_version()}, " + (
        f"{platform.machine()}, {os.cpu_count()} cores"
    )
    print(
        f"\nthroughput on {mb:.1f} MB of generated transcript JSONL ({len(lines)} events), "
        f"medians of {args.repeat} interleaved repeats; {machine}"
    )
    anchor = medians["json round trip (anchor)"]
    figures = {}
    for label, seconds in medians.items():
        figures[label] = {"seconds": seconds, "mb_per_s": mb / seconds, "ratio": seconds / anchor}
        print(
            f"  {label:28s} {mb / seconds:8.1f} MB/s  {seconds:6.3f} s  "
            f"{seconds / anchor:5.2f}x the round trip"
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "mb": mb,
                    "events": len(lines),
                    "repeat": args.repeat,
                    "machine": machine,
                    "corpus": score,
                    "throughput": figures,
                },
                indent=2,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What recording costs a pytest session: the same eval suite with and without the plugin.

Run on demand: ``python bench/bench_plugin.py [--tests 2000] [--messages 5] [--repeat 3]``.
Reports wall time per mode and its ratio to the baseline (``-p no:agentv``) measured in the
same run, on the same generated suite.

:func:`measure` gives the suite's P5 rows (``python -m bench --rows P5``), each mode interleaved
with its baseline: a plain suite whose tests never use the fixture (plugin loaded vs
``-p no:agentv``); eval tests recording 2 messages and a score (``--agentv-git`` vs a no-op
stand-in); and tests recording 10 messages each, reported as microseconds per recorded message.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Row, interleaved, median

SUITE = '''
import pytest

class NoRecorder:
    """Stands in for the fixture in the baseline, so both modes do the same test work."""
    def message(self, *args, **kwargs): pass
    def score(self, *args, **kwargs): pass
    def usage(self, *args, **kwargs): pass

@pytest.mark.parametrize("case", range({tests}))
def test_case(request, case):
    plugin = request.config.pluginmanager.has_plugin("agentv")
    agentv = request.getfixturevalue("agentv") if plugin else NoRecorder()
    for turn in range({messages}):
        agentv.message("user", f"question {{case}} turn {{turn}} " + "lorem ipsum " * 20)
        agentv.message("assistant", {{"text": "answer " * 30, "turn": turn}})
    agentv.score("correct", case % 3 != 0, threshold=1)
    agentv.score("quality", (case % 10) / 10)
    agentv.usage(input_tokens=100, output_tokens=50, cost_usd=0.0002)
'''

PLAIN_SUITE = """
import pytest

@pytest.mark.parametrize("case", range({tests}))
def test_case(case):
    assert case >= 0
"""

EVAL_SUITE = '''
import pytest

class NoRecorder:
    """Stands in for the fixture in the baseline, so both modes do the same test work."""
    def message(self, *args, **kwargs): pass
    def score(self, *args, **kwargs): pass

@pytest.mark.parametrize("case", range({tests}))
def test_case(request, case):
    plugin = request.config.pluginmanager.has_plugin("agentv")
    agentv = request.getfixturevalue("agentv") if plugin else NoRecorder()
    for turn in range({messages}):
        agentv.message("user" if turn % 2 == 0 else "assistant",
                       f"case {{case}} turn {{turn}} " + "lorem ipsum dolor " * 12)
    agentv.score("correct", case % 3 != 0, threshold=1)
'''

MODES = {
    "baseline (-p no:agentv)": ["-p", "no:agentv"],
    "local backend": [],
    "git backend (local branch)": ["--agentv-git"],
}


def run(directory: Path, args: list[str]) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTV_")}
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=directory,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def _project(directory: Path, suite: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "pytest.ini").write_text("[pytest]\n")
    (directory / "test_suite.py").write_text(suite)
    return directory


def measure(
    plain_tests: int = 2000,
    eval_tests: int = 2000,
    message_tests: int = 1000,
    repeat: int = 3,
) -> list[Row]:
    """The P5 rows; every mode alternates with its baseline round by round."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="agentv-bench-p5-") as scratch:
        base = Path(scratch)
        plain = _project(base / "plain", PLAIN_SUITE.format(tests=plain_tests))
        evals = _project(base / "eval", EVAL_SUITE.format(tests=eval_tests, messages=2))
        msgs = _project(base / "messages", EVAL_SUITE.format(tests=message_tests, messages=10))

        def timed(directory: Path, args: list[str]) -> float:
            seconds = run(directory, args)
            shutil.rmtree(directory / ".agentv", ignore_errors=True)
            return seconds

        s = interleaved(
            {
                "plain-off": lambda: timed(plain, ["-p", "no:agentv"]),
                "plain-on": lambda: timed(plain, []),
                "eval-off": lambda: timed(evals, ["-p", "no:agentv"]),
                "eval-git": lambda: timed(evals, ["--agentv-git"]),
                "msgs-off": lambda: timed(msgs, ["-p", "no:agentv"]),
                "msgs-git": lambda: timed(msgs, ["--agentv-git"]),
            },
            repeat,
        )
    m = {k: median(v) for k, v in s.items()}
    plain_ratio = m["plain-on"] / m["plain-off"]
    rows.append(
        Row(
            "P5",
            f"{plain_tests} tests not using the fixture",
            value=m["plain-on"],
            unit="s",
            anchor="-p no:agentv",
            anchor_value=m["plain-off"],
            ratio=plain_ratio,
            target="< 5 % over (ratio < 1.05)",
            met=plain_ratio < 1.05,
            samples={k: s[k] for k in ("plain-on", "plain-off")},
        )
    )
    eval_ratio = m["eval-git"] / m["eval-off"]
    rows.append(
        Row(
            "P5",
            f"{eval_tests} tests x (2 messages + 1 score), --agentv-git",
            value=m["eval-git"],
            unit="s",
            anchor="no-op stand-in, -p no:agentv",
            anchor_value=m["eval-off"],
            ratio=eval_ratio,
            target="< 5 % over (ratio < 1.05)",
            met=eval_ratio < 1.05,
            samples={k: s[k] for k in ("eval-git", "eval-off")},
        )
    )
    per_message = (m["msgs-git"] - m["msgs-off"]) / (message_tests * 10) * 1e6
    rows.append(
        Row(
            "P5",
            f"{message_tests} tests x 10 messages, --agentv-git: cost per message",
            value=per_message,
            unit="µs/message",
            anchor=f"no-op stand-in {m['msgs-off']:.2f} s vs {m['msgs-git']:.2f} s",
            anchor_value=m["msgs-off"],
            ratio=m["msgs-git"] / m["msgs-off"],
            target="≤ 30 µs per message",
            met=per_message <= 30,
            samples={k: s[k] for k in ("msgs-git", "msgs-off")},
        )
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=5, help="user+assistant pairs per test")
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        (directory / "pytest.ini").write_text("[pytest]\n")
        (directory / "test_suite.py").write_text(
            SUITE.format(tests=options.tests, messages=options.messages)
        )
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=directory, check=True)
        subprocess.run(
            [
                "git",
                "-c",
                "user.name=b",
                "-c",
                "user.email=b@b",
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                "init",
            ],
            cwd=directory,
            check=True,
        )
        results: dict[str, float] = {}
        for name, args in MODES.items():
            times = []
            for _ in range(options.repeat):
                times.append(run(directory, args))
                shutil.rmtree(directory / ".agentv" / "runs", ignore_errors=True)
            results[name] = statistics.median(times)
        baseline = results["baseline (-p no:agentv)"]
        print(
            f"{options.tests} tests x {options.messages * 2} messages, "
            f"median of {options.repeat} runs"
        )
        for name, seconds in results.items():
            print(f"  {name:30s} {seconds:7.2f} s   x{seconds / baseline:5.2f}")


if __name__ == "__main__":
    main()

"""What recording costs a pytest session: the same eval suite with and without the plugin.

Run on demand: ``python bench/bench_plugin.py [--tests 2000] [--messages 5] [--repeat 3]``.
Reports wall time per mode and its ratio to the baseline (``-p no:agentv``) measured in the
same run, on the same generated suite.
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

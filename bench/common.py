"""What every benchmark shares: interleaved timing, result rows, the machine's state, fast-import.

A figure is only ever reported next to an anchor measured in the same run: the two (or more)
measurements alternate within each repeat, so a burst of load from other work on the machine
hits both, and the ratio of their medians is the number to read.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

BRANCH = "agentv/checkpoints/v1"


@dataclass
class Row:
    """One line of the suite's table: a figure, its anchor, the ratio and the target."""

    row: str  # P1, P2, ... scale, growth
    figure: str  # what was measured, in words
    value: float | None  # None: not measured (the notes say why)
    unit: str
    anchor: str = ""  # what it is compared with ("" when the target is absolute)
    anchor_value: float | None = None
    ratio: float | None = None  # value / anchor_value (or as the row says)
    target: str = ""
    met: bool | None = None  # None: no target, or not decidable
    notes: str = ""
    samples: dict[str, list[float]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def interleaved(
    measures: Mapping[str, Callable[[], float | None]],
    repeat: int,
    setup: Callable[[], None] | None = None,
) -> dict[str, list[float]]:
    """Call every measure once per round, ``repeat`` rounds, the order rotating each round.

    A measure returns its own figure (seconds, bytes...) or None to have its wall time used.
    """
    names = list(measures)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_number in range(repeat):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            if setup is not None:
                setup()
            started = time.perf_counter()
            figure = measures[name]()
            elapsed = time.perf_counter() - started
            samples[name].append(elapsed if figure is None else figure)
    return samples


def median(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def run_process(
    command: list[str], cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> float:
    """Wall seconds of one whole process (stdout discarded; a failure stops the suite)."""
    started = time.perf_counter()
    done = subprocess.run(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {done.stderr.decode()[-800:]}")
    return elapsed


# Started from a small interpreter: a child forked from this (big) benchmark process would count
# the parent's pages it touched before exec in its own peak RSS.
_RSS_WRAPPER = (
    "import os, resource, subprocess, sys; "
    "code = subprocess.run(sys.argv[1:]).returncode; "
    "os.write({fd}, str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss).encode()); "
    "sys.exit(code)"
)


def peak_rss_process(
    command: list[str], cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of one whole process (and the children it waited for)."""
    read, write = os.pipe()
    os.set_inheritable(write, True)
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-c", _RSS_WRAPPER.format(fd=write), *command],
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            pass_fds=(write,),
            check=False,
        )
        elapsed = time.perf_counter() - started
    finally:
        os.close(write)
    with os.fdopen(read, "rb") as pipe:
        reported = pipe.read()
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {done.stderr.decode()[-800:]}")
    return elapsed, int(reported) * 1024  # Linux reports KiB


def git_out(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout.strip()


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without ``AGENTV_*`` (a developer's settings must not leak in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTV_")}
    env.update(extra)
    return env


def fast_import(repo: Path, stream: bytes) -> float:
    """Feed ``stream`` to ``git fast-import`` in ``repo``; return wall seconds."""
    started = time.perf_counter()
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=stream, check=True)
    return time.perf_counter() - started


def machine() -> dict[str, Any]:
    """What the numbers were measured on, and how busy it was (load averages at this moment)."""
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "git": git_out("--version"),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }


def ratio(value: float, anchor: float) -> float:
    return value / anchor if anchor else float("inf")


def size_label(runs: int) -> str:
    """``1000`` -> ``1k``, ``1000000`` -> ``1M``."""
    if runs >= 1_000_000 and runs % 1_000_000 == 0:
        return f"{runs // 1_000_000}M"
    if runs >= 1000 and runs % 1000 == 0:
        return f"{runs // 1000}k"
    return str(runs)

"""P7: peak memory and wall time of a session recording a big transcript, plugin on and off.

Run on demand (not part of the test suite)::

    python bench/bench_memory.py [--mb 100] [--small-messages 100000] [--repeat 3]

Two generated sessions, each run as a whole ``pytest`` process whose peak RSS is read from
``wait4``: one test recording one ``--mb`` MB message, and one test recording
``--small-messages`` messages of 1 KB. Each runs with ``--agentv-git`` (a local branch) and with
``-p no:agentv`` (the test builds the same strings and hands them to a no-op stand-in),
alternating. Target: peak RSS ≤ 2.5x the payload, counted above the interpreter's floor (the
plugin-off peak less the one copy of the payload the test itself holds), so a small ``--mb``
is not dominated by the ~40 MiB every pytest process needs.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Row, clean_env, interleaved, median, peak_rss_process

SUITE = """
class NoRecorder:
    def message(self, *args, **kwargs): pass

def test_big(request):
    plugin = request.config.pluginmanager.has_plugin("agentv")
    agentv = request.getfixturevalue("agentv") if plugin else NoRecorder()
    line = "the agent read the file and ran the tests; all of them passed again. " * 14 + "\\n"
    if {count} == 1:
        agentv.message("tool", line * ({size} // len(line)))
    else:
        for n in range({count}):
            agentv.message("assistant", f"{{n:08d}} " + line[: {size} - 9])
"""

MIB = 1024 * 1024


def _session(directory: Path, count: int, size: int) -> Path:
    directory.mkdir(parents=True)
    (directory / "pytest.ini").write_text("[pytest]\n")
    (directory / "test_big.py").write_text(SUITE.format(count=count, size=size))
    return directory


def measure(mb: int = 100, small_messages: int = 100_000, repeat: int = 3) -> list[Row]:
    """The two P7 rows: one big message, and many 1 KB messages totalling about as much."""
    rows = []
    shapes = {
        f"one {mb} MB message": (1, mb * 1_000_000),
        f"{small_messages} x 1 KB messages": (small_messages, 1000),
    }
    with tempfile.TemporaryDirectory(prefix="agentv-bench-p7-") as scratch:
        for n, (label, (count, size)) in enumerate(shapes.items()):
            project = _session(Path(scratch) / f"s{n}", count, size)
            payload = count * size
            peaks: dict[str, list[float]] = {"on": [], "off": []}

            def session(
                mode: str,
                args: list[str],
                project: Path = project,
                peaks: dict[str, list[float]] = peaks,
            ) -> float:
                seconds, peak = peak_rss_process(
                    [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                    cwd=project,
                    env=clean_env(),
                )
                peaks[mode].append(peak)
                shutil.rmtree(project / ".agentv", ignore_errors=True)
                return seconds

            wall = interleaved(
                {
                    "on": lambda session=session: session("on", ["--agentv-git"]),
                    "off": lambda session=session: session("off", ["-p", "no:agentv"]),
                },
                repeat,
            )
            peak_on, peak_off = median(peaks["on"]), median(peaks["off"])
            # the interpreter's floor: the plugin-off peak, less the one message the big-message
            # test itself holds (the small-messages test drops each one as it goes)
            floor = max(0.0, peak_off - payload) if count == 1 else peak_off
            wall_on, wall_off = median(wall["on"]), median(wall["off"])
            rows.append(
                Row(
                    "P7",
                    f"{label}, --agentv-git: peak RSS",
                    value=peak_on / MIB,
                    unit="MiB",
                    anchor=f"payload {payload / MIB:.0f} MiB; plugin off {peak_off / MIB:.0f} MiB",
                    anchor_value=payload / MIB,
                    ratio=(peak_on - floor) / payload,
                    target="≤ 2.5x the payload (above the floor)",
                    met=peak_on - floor <= 2.5 * payload,
                    notes=f"wall {wall_on:.1f} s vs {wall_off:.1f} s plugin off "
                    f"({wall_on / wall_off:.1f}x); peak {peak_on / peak_off:.1f}x plugin off",
                    samples={
                        "peak_on": peaks["on"],
                        "peak_off": peaks["off"],
                        "wall_on": wall["on"],
                        "wall_off": wall["off"],
                    },
                )
            )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--small-messages", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for row in measure(args.mb, args.small_messages, args.repeat):
        print(
            f"{row.figure}: {row.value:.0f} {row.unit} ({row.anchor}); "
            f"{row.ratio:.2f}x the payload (target {row.target}); {row.notes}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

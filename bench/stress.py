"""Stress run of the git writer: SIGKILL trials and 16 concurrent writers per transport.

```
python bench/stress.py [--trials 210] [--processes 16] [--runs 10] [--seed 0] [--json OUT]
```

Kill trials (tests/reliability/crash.py): writers killed at random instants over a path
remote, ``git daemon`` and smart HTTP (``git http-backend``), a recovery write and ``sync``
after every batch of 10, with every invariant checked. Concurrency: ``--processes`` writers x
``--runs`` runs at once per transport (two writers per project directory, so clones and shared
checkouts both race); every run must land exactly once on the first try, history linear, fsck
clean. Reports trials, runs lost, write latency p50/p95 and push retries (push attempts beyond
the first, counted by wrapping the writer's push in the writer processes).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.git_fixtures import GitDaemon, HttpGitServer, init_bare  # noqa: E402
from tests.reliability.crash import check_branch, kill_trials  # noqa: E402

COUNTING_WRITER = """
import json, sys, time
from pathlib import Path
from pytest_agentv.git import repository
from pytest_agentv.settings import Settings
from pytest_agentv.store import open_store
from tests.runs import make_run

pushes = [0]
push = repository.GitRepository.push_branch
def counted(self, *args, **kwargs):
    pushes[0] += 1
    return push(self, *args, **kwargs)
repository.GitRepository.push_branch = counted

rootdir, remote, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
store = open_store(Settings(rootdir=rootdir, backend="git", remote=remote))
for _ in range(count):
    before, started = pushes[0], time.monotonic()
    result = store.write(make_run())
    print(json.dumps({"run": result.run_id, "delivered": result.delivered,
                      "seconds": time.monotonic() - started, "pushes": pushes[0] - before,
                      "problems": list(result.problems)}), flush=True)
"""


def isolated_env(home: Path) -> None:
    os.environ.update(
        {
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
        }
    )


def remotes(base: Path) -> dict[str, tuple[str, Path, object]]:
    """name -> (url, bare repository directory, server to stop)."""
    daemon = GitDaemon(base / "daemon")
    (base / "daemon").mkdir()
    daemon.start()
    http_root = base / "http"
    http_root.mkdir()
    http = HttpGitServer(http_root)
    return {
        "path": ("", base / "path", None),
        "daemon": ("", base / "daemon", daemon),
        "http": ("", http_root, http),
    }


def new_remote(kind: str, servers: dict[str, object], base: Path, name: str) -> tuple[str, Path]:
    if kind == "path":
        path = init_bare(base / "path" / f"{name}.git")
        return str(path), path
    server = servers[kind]
    url = server.new_remote(name)  # type: ignore[attr-defined]
    return url, server.path(name)  # type: ignore[attr-defined]


def concurrency(kind: str, url: str, bare: Path, base: Path, processes: int, runs: int) -> dict:
    projects = [base / f"{kind}-project{n % (processes // 2)}" for n in range(processes)]
    for project in projects:
        project.mkdir(exist_ok=True)
    started = time.monotonic()
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", COUNTING_WRITER, str(project), url, str(runs)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for project in projects
    ]
    reports = []
    for writer in writers:
        out, err = writer.communicate(timeout=1800)
        if writer.returncode != 0:
            raise SystemExit(f"a writer failed over {kind}: {err}")
        reports += [json.loads(line) for line in out.splitlines()]
    wall = time.monotonic() - started
    on_branch = check_branch(bare)
    written = [report["run"] for report in reports]
    lost = sorted(set(written) - set(on_branch))
    seconds = sorted(report["seconds"] for report in reports)
    return {
        "transport": kind,
        "writes": len(reports),
        "undelivered_first_try": sum(not report["delivered"] for report in reports),
        "runs_lost": len(lost),
        "duplicates": len(on_branch) - len(set(on_branch)),
        "p50_s": round(statistics.median(seconds), 3),
        "p95_s": round(seconds[int(0.95 * (len(seconds) - 1))], 3),
        "retries": sum(max(0, report["pushes"] - 1) for report in reports),
        "max_retries_one_write": max(max(0, report["pushes"] - 1) for report in reports),
        "wall_s": round(wall, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=210)
    parser.add_argument("--processes", type=int, default=16)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--skip-kills", action="store_true")
    parser.add_argument("--skip-concurrency", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="agentv-stress-") as tmp:
        base = Path(tmp)
        isolated_env(base / "home")
        (base / "home").mkdir()
        (base / "path").mkdir()
        made = remotes(base)
        servers = {kind: server for kind, (_u, _p, server) in made.items()}
        result: dict[str, object] = {}
        try:
            if not args.skip_kills:
                kinds = list(made)
                phases: Counter[str] = Counter()
                per_kind: Counter[str] = Counter()
                extra = 0
                batches = max(1, args.trials // 10)
                started = time.monotonic()
                for batch in range(batches):
                    kind = kinds[batch % len(kinds)]
                    url, bare = new_remote(kind, servers, base, f"kill{batch}")
                    project = base / f"kill-project{batch}"
                    project.mkdir()
                    trials, recovered = kill_trials(project, url, bare, 10, args.seed + batch)
                    phases.update(trial.phase for trial in trials)
                    per_kind[kind] += len(trials)
                    extra += recovered
                    print(f"kill batch {batch + 1}/{batches} over {kind}: ok", flush=True)
                result["kills"] = {
                    "trials": sum(per_kind.values()),
                    "per_transport": dict(per_kind),
                    "kill_fell": dict(phases),
                    "runs_lost": 0,  # kill_trials raises on any lost, partial or duplicated run
                    "left_in_spool_then_delivered_by_sync": extra,
                    "wall_s": round(time.monotonic() - started, 1),
                }
            if not args.skip_concurrency:
                rounds = []
                for kind in made:
                    url, bare = new_remote(kind, servers, base, "race")
                    rounds.append(concurrency(kind, url, bare, base, args.processes, args.runs))
                    print(json.dumps(rounds[-1]), flush=True)
                result["concurrency"] = rounds
        finally:
            for server in servers.values():
                if server is not None:
                    server.stop()  # type: ignore[attr-defined]
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()

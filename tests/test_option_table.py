"""The option table is the one place a setting is declared: a new entry appears as a pytest flag,
an ini key, an environment variable, a config-file key (in a section of its own, if it names
one) and an ``agentv-results`` option, reaches xdist workers, and is resolved with the documented
precedence, with no other edit."""

from __future__ import annotations

import json
import sys

import pytest

#: adds two settings to the table; loaded with ``-p`` before pytest loads the plugin (and so
#: on xdist workers too, which get the same arguments)
MORE_OPTIONS = """
from pytest_agentv import options

options.OPTIONS = (
    *options.OPTIONS,
    options.OptionSpec(
        "budget", "--agentv-budget", "--budget", "AGENTV_BUDGET", "agentv_budget",
        "spend at most VALUE of the month's budget", options.check_rate, kind="number",
        file_key="limits.budget", metavar="VALUE",
    ),
    options.OptionSpec(
        "max_cost", "--agentv-max-cost", None, "AGENTV_MAX_COST", "agentv_max_cost",
        "at most VALUE dollars per METRIC (repeatable)", options.parse_metric_value,
        kind="metric_map", file_key="limits.max_cost", metavar="METRIC=VALUE",
    ),
)
"""

#: pytest with the table extended, or the CLI
SCRIPT = """
import json, sys
import more_options

if sys.argv[1] == "cli":
    from pytest_agentv.cli.common import settings_from_args
    from pytest_agentv.cli.main import build_parser

    settings = settings_from_args(build_parser().parse_args(sys.argv[2:]))
    print(json.dumps({"budget": settings.value("budget"), "source": settings.sources["budget"]}))
else:
    import pytest

    sys.exit(pytest.main(["-p", "more_options", *sys.argv[2:]]))
"""

SUITE = """
import json, os
from pytest_agentv.plugin import SETTINGS_KEY

def test_reads_the_new_settings(pytestconfig):
    settings = pytestconfig.stash[SETTINGS_KEY]
    seen = {
        "budget": settings.value("budget"),
        "source": settings.sources["budget"],
        "max_cost": settings.value("max_cost"),
        "worker": os.environ.get("PYTEST_XDIST_WORKER"),
    }
    with open("seen.json", "w", encoding="utf-8") as out:
        json.dump(seen, out)
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    pytester.makepyfile(more_options=MORE_OPTIONS, run_with_more_options=SCRIPT, test_suite=SUITE)
    monkeypatch.setenv("PYTHONPATH", str(pytester.path))  # for the workers' -p more_options
    return pytester


def run_pytest(project: pytest.Pytester, *args: str) -> dict[str, object]:
    result = project.run(
        sys.executable, "run_with_more_options.py", "pytest", "-p", "no:xdist", *args
    )
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    seen: dict[str, object] = json.loads((project.path / "seen.json").read_text("utf-8"))
    return seen


def test_a_new_entry_is_a_flag_an_ini_key_an_env_var_and_a_file_key(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_pytest(project)["source"] == "default"
    project.makefile(".yaml", **{".agentv/config": "limits:\n  budget: 0.75\n"})
    seen = run_pytest(project)
    assert (seen["budget"], seen["source"]) == (0.75, str(project.path / ".agentv/config.yaml"))
    project.makeini("[pytest]\nagentv_budget = 0.5\n")
    assert run_pytest(project)["budget"] == 0.5
    monkeypatch.setenv("AGENTV_BUDGET", "0.25")
    seen = run_pytest(project)
    assert (seen["budget"], seen["source"]) == (0.25, "environment variable AGENTV_BUDGET")
    seen = run_pytest(project, "--agentv-budget", "0.125")
    assert (seen["budget"], seen["source"]) == (0.125, "command line --agentv-budget")

    cli = project.run(sys.executable, "run_with_more_options.py", "cli", "list", "--budget", "0.1")
    assert json.loads(cli.stdout.str()) == {"budget": 0.1, "source": "command line --agentv-budget"}


def test_a_new_per_metric_entry_merges_and_reaches_the_workers(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.makefile(".yaml", **{".agentv/config": "limits:\n  max_cost: {a: 1, b: 1}\n"})
    monkeypatch.setenv("AGENTV_MAX_COST", "b=2, c=2")
    result = project.run(
        sys.executable,
        "run_with_more_options.py",
        "pytest",
        "-n1",
        "--agentv-max-cost",
        "c=3",
    )
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    seen = json.loads((project.path / "seen.json").read_text("utf-8"))
    assert seen["worker"] == "gw0"
    assert seen["max_cost"] == {"a": 1.0, "b": 2.0, "c": 3.0}


def test_a_new_entry_is_checked_and_listed_like_the_others(project: pytest.Pytester) -> None:
    help_text = project.run(sys.executable, "run_with_more_options.py", "pytest", "--help")
    help_text.stdout.fnmatch_lines(["*--agentv-budget=VALUE*", "*agentv_budget*"])
    project.makefile(".yaml", **{".agentv/config": "limits:\n  budget: 2\n"})
    bad = project.run(sys.executable, "run_with_more_options.py", "pytest", "-p", "no:xdist")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*config.yaml: limits.budget: '2' is not between 0 and 1*"])
    project.makefile(".yaml", **{".agentv/config": "limits:\n  budgett: 0.5\n"})
    bad = project.run(sys.executable, "run_with_more_options.py", "pytest", "-p", "no:xdist")
    bad.stderr.fnmatch_lines(["*unknown field 'limits.budgett'; allowed here: budget, max_cost*"])

"""Gate settings: every source, the per-metric merge, and errors that name the source."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pytest_agentv.options import SettingsError
from tests.helpers import resolve_gate_settings


def test_per_metric_values_merge_with_the_higher_source_winning() -> None:
    gates = resolve_gate_settings(
        cli={"min_score": [("accuracy", 0.9)]},
        env={"AGENTV_MIN_SCORE": "tone=0.5, accuracy=0.1"},
        ini={"agentv_min_score": "grounded=0.2"},
        file={"min_score": {"accuracy": 0.2, "recall": 0.3}, "baseline": "latest"},
    )
    assert gates.min_scores == {"accuracy": 0.9, "tone": 0.5, "grounded": 0.2, "recall": 0.3}
    assert gates.sources["min_score"].startswith("command line --agentv-min-score")
    assert gates.baseline is not None and gates.baseline.kind == "ref"


def test_scalars_take_the_highest_source() -> None:
    gates = resolve_gate_settings(
        env={"AGENTV_MIN_PASS_RATE": "0.8", "AGENTV_REPEAT": "3", "AGENTV_RUN_GROUP": "ci-1"},
        file={"min_pass_rate": 0.5, "cluster_by": "origin"},
    )
    assert (gates.min_pass_rate, gates.repeat, gates.run_group, gates.cluster_by) == (
        0.8,
        3,
        "ci-1",
        "origin",
    )
    assert gates.spec.min_pass_rate == 0.8 and gates.spec.cluster_by == "origin"
    assert gates.sources["min_pass_rate"] == "environment variable AGENTV_MIN_PASS_RATE"


def test_nothing_set_means_no_gate() -> None:
    gates = resolve_gate_settings()
    assert not gates.spec.enabled and gates.repeat == 1 and gates.run_group is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"env": {"AGENTV_MAX_REGRESSION": "accuracy=x", "AGENTV_BASELINE": "latest"}},
            "environment variable AGENTV_MAX_REGRESSION: invalid value 'accuracy=x' for "
            "max_regression: 'accuracy=x': 'x' is not a number",
        ),
        (
            {"file": {"min_pass_rate": 2}},
            ".agentv/config.yaml: gates.min_pass_rate: invalid value '2'",
        ),
        ({"ini": {"agentv_fail_on_regression": "maybe"}}, "is not a boolean"),
        (
            {"env": {"AGENTV_FAIL_ON_REGRESSION": "1"}},
            "fail_on_regression (from environment variable AGENTV_FAIL_ON_REGRESSION) compares "
            "with a baseline, but none is set",
        ),
    ],
)
def test_errors_name_the_source_and_the_value(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        resolve_gate_settings(**kwargs)  # type: ignore[arg-type]
    assert message in str(caught.value)


def test_the_cli_starts_without_pydantic() -> None:
    code = "import sys, pytest_agentv.cli.main; print('pydantic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_gates_need_recording(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_a(agentv):\n    agentv.score('accuracy', 1.0)\n")
    result = pytester.runpytest(
        "-p", "no:xdist", "--agentv-no-record", "--agentv-min-score", "accuracy=0.5"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*gates are evaluated on the recorded run, and recording is off*"])

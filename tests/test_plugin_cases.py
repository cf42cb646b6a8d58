"""Stable case ids from parametrized values; inputs, outputs, reference; diff matches on ids."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_agentv.diff import diff_runs
from pytest_agentv.models import RunMetadata
from tests.helpers import load_run, only_run_dir

DATASET_SUITE = """
import pytest

CASES = {cases}
SCORES = {scores}

@pytest.mark.parametrize("case", CASES)
def test_answer(agentv, case):
    agentv.outputs(answer=case["q"].upper())
    agentv.reference(answer=case["a"])
    agentv.score("accuracy", SCORES.get(case["q"], 1.0), threshold=0.5)
"""


def _runs(root: Path) -> list[RunMetadata]:
    runs = [
        RunMetadata.model_validate_json((p / "metadata.json").read_bytes())
        for p in root.glob(".agentv/runs/??/*")
    ]
    return sorted(runs, key=lambda run: run.started_at)


def test_inserting_a_case_keeps_every_other_case_id(pytester: pytest.Pytester) -> None:
    first = [{"q": "a", "a": "A"}, {"q": "b", "a": "B"}]
    pytester.makepyfile(test_qa=DATASET_SUITE.format(cases=first, scores={}))
    pytester.runpytest("-p", "no:xdist").assert_outcomes(passed=2)
    # a case in front, and case "b" regresses: positional ids would pair "b" with "a"
    second = [{"q": "new", "a": "N"}, *first]
    pytester.makepyfile(test_qa=DATASET_SUITE.format(cases=second, scores={"b": 0.1}))
    pytester.runpytest("-p", "no:xdist").assert_outcomes(passed=3)
    before, after = _runs(pytester.path)
    assert [t.nodeid.split("::")[1] for t in after.tests] == [
        "test_answer[case0]",
        "test_answer[case1]",
        "test_answer[case2]",
    ]
    ids_before = {t.case_id for t in before.tests}
    ids_after = [t.case_id for t in after.tests]
    assert ids_before == set(ids_after[1:])
    diff = diff_runs(before, after)
    assert [t.nodeid.split("::")[1] for t in diff.regressions] == ["test_answer[case2]"]
    assert [t.case_id for t in diff.added] == [ids_after[0]]
    # the CLI judges it the same way
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest_agentv.cli",
            "diff",
            before.run_id,
            after.run_id,
            "--fail-on-regression",
        ],
        cwd=pytester.path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1, result.stdout + result.stderr


def test_explicit_ids_win_and_case_id_overrides(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("n", [pytest.param(1, id="one"), 2])
        @pytest.mark.parametrize("q", [{"x": 1}], ids=["named"])
        def test_ids(agentv, q, n):
            pass

        @pytest.mark.parametrize("text", ["short", "x" * 100])
        def test_text(agentv, text):
            if text == "short":
                agentv.case_id = "mine"
        """
    )
    pytester.runpytest("-p", "no:xdist").assert_outcomes(passed=4)
    metadata, _, _ = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    case_ids = [t["caseId"] for t in metadata["tests"]]
    assert case_ids[:2] == [
        "test_explicit_ids_win_and_case_id_overrides.py::test_ids[named-one]",
        "test_explicit_ids_win_and_case_id_overrides.py::test_ids[named-2]",
    ]
    assert case_ids[2].endswith("::test_text[mine]")
    assert case_ids[3].split("[")[1].startswith("h") and len(case_ids[3].split("[")[1]) == 12


def test_parametrized_arguments_become_json_safe_inputs(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import dataclasses, enum, pathlib
        import pytest

        class Level(enum.Enum):
            HIGH = "high"

        @dataclasses.dataclass
        class Case:
            question: str
            tags: tuple

        @pytest.mark.parametrize("case", [Case("2+2?", ("math",))])
        @pytest.mark.parametrize("level", [Level.HIGH])
        @pytest.mark.parametrize("where", [pathlib.PurePosixPath("a/b")])
        @pytest.mark.parametrize("thing", [object()])
        def test_inputs(agentv, case, level, where, thing):
            agentv.inputs(extra=1)
            agentv.outputs({"answer": "4"}, confidence=0.9)
            agentv.reference(answer="4")

        def test_plain(agentv):
            pass
        """
    )
    pytester.runpytest("-p", "no:xdist").assert_outcomes(passed=2)
    metadata, _, _ = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    first, plain = metadata["tests"]
    assert first["inputs"]["case"] == {"question": "2+2?", "tags": ["math"]}
    assert first["inputs"]["level"] == "high"
    assert first["inputs"]["where"] == "a/b"
    assert first["inputs"]["thing"].startswith("<object object at")
    assert first["inputs"]["extra"] == 1
    assert first["outputs"] == {"answer": "4", "confidence": 0.9}
    assert first["reference"] == {"answer": "4"}
    # a test that is not parametrized keeps exactly the fields it had before
    assert not {"caseId", "inputs", "outputs", "reference"} & set(plain)
    json.dumps(metadata)


def test_equal_values_get_numbered_case_ids(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("v", [{"a": 1}, {"a": 1}])
        def test_dup(agentv, v):
            pass
        """
    )
    pytester.runpytest("-p", "no:xdist").assert_outcomes(passed=2)
    metadata, _, _ = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    first, second = (t["caseId"] for t in metadata["tests"])
    assert second == f"{first}#2"


@pytest.mark.parametrize("mode", [["-p", "no:xdist"], ["-n2"]])
def test_case_ids_and_inputs_cross_xdist(pytester: pytest.Pytester, mode: list[str]) -> None:
    pytester.makepyfile(DATASET_SUITE.format(cases=[{"q": "a", "a": "A"}], scores={}))
    pytester.runpytest(*mode).assert_outcomes(passed=1)
    metadata, _, _ = load_run(only_run_dir(pytester.path / ".agentv" / "runs"))
    (test,) = metadata["tests"]
    assert test["caseId"].endswith("::test_answer[h" + test["caseId"].split("[h")[1])
    assert test["inputs"] == {"case": {"q": "a", "a": "A"}}
    assert test["outputs"] == {"answer": "A"}


def test_bad_case_values_fail_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_bad(agentv):
            agentv.outputs("just text")
        """
    )
    result = pytester.runpytest("-p", "no:xdist")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*agentv.outputs takes a mapping or keyword arguments*"])

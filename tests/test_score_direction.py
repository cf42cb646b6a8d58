"""Scores where lower is better: recorded, judged against their threshold, stored only if set."""

from __future__ import annotations

import pytest

from pytest_agentv.exceptions import AgentvRecordError
from pytest_agentv.models import Score
from pytest_agentv.recorder import EvalRecorder
from pytest_agentv.repeats import repeat_id, split_repeat


def test_a_lower_is_better_threshold_is_a_ceiling() -> None:
    recorder = EvalRecorder("t.py::test_a")
    assert recorder.score("latency", 1.5, threshold=2.0, greater_is_better=False).passed is True
    assert recorder.score("cost", 2.5, threshold=2.0, greater_is_better=False).passed is False
    assert recorder.score("accuracy", 2.5, threshold=2.0).passed is True


def test_the_direction_is_stored_only_when_lower_is_better() -> None:
    recorder = EvalRecorder("t.py::test_a")
    lower = recorder.score("latency", 1.5, greater_is_better=False)
    higher = recorder.score("accuracy", 0.5)
    assert lower.model_dump(by_alias=True)["greaterIsBetter"] is False
    assert "greaterIsBetter" not in higher.model_dump(by_alias=True)
    assert Score.model_validate(lower.model_dump(by_alias=True)) == lower


def test_a_direction_that_is_not_a_bool_fails_the_test() -> None:
    with pytest.raises(AgentvRecordError, match="greater_is_better must be True or False"):
        EvalRecorder("t").score("latency", 1.0, greater_is_better="no")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("nodeid", "base", "index"),
    [
        ("t.py::test_a[repeat1of3]", "t.py::test_a", 0),
        ("t.py::test_a[x-1-repeat3of3]", "t.py::test_a[x-1]", 2),
        ("t.py::test_a[x]", "t.py::test_a[x]", None),
        ("t.py::test_a", "t.py::test_a", None),
    ],
)
def test_split_repeat(nodeid: str, base: str, index: int | None) -> None:
    assert split_repeat(nodeid) == (base, index)


def test_repeat_id_round_trips() -> None:
    assert split_repeat(f"t.py::test_a[{repeat_id(1, 4)}]") == ("t.py::test_a", 1)
    with pytest.raises(ValueError, match=r"outside 0\.\.2"):
        repeat_id(3, 3)

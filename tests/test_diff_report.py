"""The diff report: run facts, caveats, failure texts and the Markdown size cap (pure)."""

from __future__ import annotations

from pytest_agentv.diff import MARKDOWN_LIMIT, caveats, diff_runs, render_markdown, render_text
from pytest_agentv.models import RunMetadata, TestRecord
from pytest_agentv.store.paths import METADATA_FILE
from tests.runs import T0, VERSIONS, build, record


def metadata(
    tests: list[TestRecord], *, model: str = "m1", eval_file: str = "evals/qa.py"
) -> RunMetadata:
    run = build(
        None,
        started=T0,
        seconds=1,
        tests=tests,
        versions=VERSIONS,
        model=model,
        eval_file=eval_file,
    )
    return RunMetadata.model_validate_json(run.files[METADATA_FILE])


def failing(name: str) -> TestRecord:
    return record(name, "failed").model_copy(
        update={"failure": f"assert 'no' == 'yes' for {name}\n+  where ... (test_qa.py:3)"}
    )


def test_a_huge_diff_fits_a_pull_request_comment() -> None:
    before = metadata([record(f"test_{i:05d}_{'x' * 60}") for i in range(5000)])
    after = metadata([failing(f"test_{i:05d}_{'x' * 60}") for i in range(5000)])
    text = render_markdown(diff_runs(before, after))
    assert len(text) <= MARKDOWN_LIMIT
    assert "regressed**" in text.splitlines()[0]
    more = [line for line in text.splitlines() if line.startswith("- … ")]
    assert len(more) == 1 and more[0].endswith("more (`agentv-results diff --json` has all)")
    shown = sum(1 for line in text.splitlines() if line.startswith("- `"))
    assert int(more[0].split()[2]) == 5000 - shown


def test_markdown_names_models_commits_and_failures() -> None:
    before = metadata([record("test_a")], model="gpt-4o")
    after = metadata([failing("test_a")], model="claude-3")
    text = render_markdown(diff_runs(before, after))
    assert "| model | `gpt-4o` | `claude-3` |" in text
    assert "| source commit |" in text
    assert "<br>`assert 'no' == 'yes' for test_a`" in text


def test_runs_of_different_evals_or_partial_runs_are_flagged() -> None:
    full = metadata([record("test_a")])
    other = metadata([record("test_a")], eval_file="evals/tools.py")
    partial = full.model_copy(update={"args": ["-k", "refund"], "run_id": "0" * 16})
    assert caveats(full, full) == ()
    assert caveats(full, other) == (
        "the runs are of different evals: base evals/qa.py, new evals/tools.py",
    )
    (note,) = caveats(full, partial)
    assert note.startswith("the new run 0000000000000000 was filtered or cut short (-k)")
    diff = diff_runs(full, other)
    assert "NOTE: the runs are of different evals" in render_text(diff)
    assert "> ⚠ the runs are of different evals" in render_markdown(diff)
    assert diff.to_json()["caveats"] == list(diff.caveats)


def test_params_are_compared() -> None:
    before = metadata([record("test_a")]).model_copy(update={"params": {"temperature": 0.2}})
    after = metadata([record("test_a")]).model_copy(update={"params": {"temperature": 0.7}})
    diff = diff_runs(before, after)
    assert "param temperature: base 0.2, new 0.7" in render_text(diff)
    assert "| param temperature | `0.2` | `0.7` |" in render_markdown(diff)
    assert diff.to_json()["runs"]["new"]["params"] == {"temperature": 0.7}

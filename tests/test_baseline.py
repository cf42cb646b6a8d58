"""Baseline references: parsing, resolution over stored rows, and the source repo's ancestry."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from pytest_agentv.baseline import (
    BaselineError,
    BaselineRef,
    ThisRun,
    find_baseline,
    parse_baseline_ref,
)
from pytest_agentv.git.history import SourceHistoryError, merge_base_ancestry
from pytest_agentv.index import RunQuery, RunRow, matches
from tests.git_fixtures import git

# newest first, as a run source lists them
ROWS = [
    RunRow("e" * 16, "2024-05-05", model="m2", eval_file="evals", source_commit="c3"),
    RunRow("d" * 16, "2024-05-04", model="m1", eval_file="evals", source_commit="c2"),
    RunRow("c" * 16, "2024-05-03", model="m1", eval_file="other", source_commit="c1"),
    RunRow("b" * 16, "2024-05-02", model="m2", eval_file="evals", source_commit="c1"),
    RunRow("a" * 16, "2024-05-01", model="m1", eval_file="evals", source_commit="c0"),
]
BRANCHES = {
    "e" * 16: "feature",
    "d" * 16: "feature",
    "c" * 16: "main",
    "b" * 16: "main",
    "a" * 16: "main",
}
THIS = ThisRun("f" * 16, model="m1", eval_file="evals", branch="feature")


def rows(query: RunQuery) -> Sequence[RunRow]:
    return [row for row in ROWS if matches(row, query)]


def resolve_ref(text: str) -> str:
    found = [row.run_id for row in ROWS if row.run_id.startswith(text)]
    if len(found) != 1:
        raise LookupError(f"no run starting with {text!r}")
    return found[0]


def find(text: str, ancestry: Sequence[str] | None = None) -> str:
    history = None if ancestry is None else (lambda: ("main", ancestry))
    return find_baseline(parse_baseline_ref(text), THIS, rows, BRANCHES.get, resolve_ref, history)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dddd", "d" * 16),
        ("latest", "e" * 16),
        ("latest:branch=main", "c" * 16),
        ("latest:model=<same>", "d" * 16),
        ("latest:branch=main,model=<same>", "c" * 16),
        ("latest:branch=main, model=<same>, eval=<same>", "a" * 16),
        ("latest:model=m*", "e" * 16),
    ],
)
def test_find_by_id_latest_and_query(text: str, expected: str) -> None:
    assert find(text) == expected


def test_merge_base_takes_the_nearest_ancestor_with_a_run() -> None:
    # c9 (the merge-base) and c8 have no run; c1 has two: the newest wins
    assert find("merge-base", ["c9", "c8", "c1", "c0"]) == "c" * 16
    assert find("merge-base:eval=<same>", ["c9", "c1", "c0"]) == "b" * 16
    assert find("merge-base:model=<same>,eval=<same>", ["c9", "c1", "c0"]) == "a" * 16


def test_this_run_is_never_its_own_baseline() -> None:
    this_row = RunRow("f" * 16, "2024-05-06", model="m1", eval_file="evals", source_commit="c9")
    got = find_baseline(
        parse_baseline_ref("latest"),
        THIS,
        lambda q: [this_row, *rows(q)],
        BRANCHES.get,
        resolve_ref,
    )
    assert got == "e" * 16


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("latest:branch=release", "no stored run matches branch=release"),
        ("9999", "baseline '9999': no run starting with '9999'"),
        (
            "merge-base",
            "was recorded at the merge-base of HEAD and main or at any of its 1 ancestors",
        ),
    ],
)
def test_a_baseline_that_finds_nothing_is_an_error(text: str, message: str) -> None:
    with pytest.raises(BaselineError, match=message.replace("(", r"\(")):
        find(text, ["c9", "c8"])


def test_same_without_a_value_says_so() -> None:
    with pytest.raises(BaselineError, match="this run has no branch"):
        find_baseline(
            parse_baseline_ref("latest:branch=<same>"),
            ThisRun("f" * 16),
            rows,
            BRANCHES.get,
            resolve_ref,
        )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the baseline is empty"),
        ("newest:model=x", "filters follow 'latest:' or 'merge-base:' only"),
        ("latest:model", "'model' is not KEY=VALUE"),
        ("latest:colour=red", "unknown filter 'colour'; the filters are branch, model, eval"),
        ("latest:model=a,model=b", "filter 'model' is given twice"),
    ],
)
def test_bad_references_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_baseline_ref(text)


def test_parsed_form() -> None:
    assert parse_baseline_ref(" latest:model=<same>,branch=main ") == BaselineRef(
        "latest:model=<same>,branch=main", "latest", (("branch", "main"), ("model", "<same>"))
    )
    assert parse_baseline_ref("merge-base").needs_source_history


def commit(root: Path, name: str) -> str:
    (root / f"{name}.txt").write_text(name)
    git("add", f"{name}.txt", cwd=root)
    git("commit", "--quiet", "-m", name, cwd=root)
    return git("rev-parse", "HEAD", cwd=root)


def test_merge_base_ancestry_of_a_feature_branch(source_repo: Path) -> None:
    root = source_repo
    initial = git("rev-parse", "HEAD", cwd=root)
    base = commit(root, "on-main")
    git("checkout", "--quiet", "-b", "feature", cwd=root)
    commit(root, "feature-1")
    commit(root, "feature-2")
    git("checkout", "--quiet", "main", cwd=root)
    commit(root, "main-after")
    git("checkout", "--quiet", "feature", cwd=root)
    branch, commits = merge_base_ancestry(root)
    assert branch == "main"
    assert commits == [base, initial]
    assert commits[0] == git("merge-base", "HEAD", "main", cwd=root)


def test_merge_base_prefers_origin_head(source_repo: Path, tmp_path: Path) -> None:
    root = source_repo
    first = git("rev-parse", "HEAD", cwd=root)
    clone = tmp_path / "clone"
    git("clone", "--quiet", str(root), str(clone))
    git("config", "user.name", "Eval Author", cwd=clone)
    git("config", "user.email", "author@example.com", cwd=clone)
    git("checkout", "--quiet", "-b", "topic", cwd=clone)
    commit(clone, "topic")
    git("branch", "-D", "main", cwd=clone)  # only origin/main is left to say what main is
    assert merge_base_ancestry(clone) == ("origin/main", [first])


def test_merge_base_outside_a_repository(tmp_path: Path) -> None:
    with pytest.raises(SourceHistoryError, match="is not in a git repository"):
        merge_base_ancestry(tmp_path)


def shallow_pair(source_repo: Path, tmp_path: Path, depth: int) -> Path:
    """A repository with main and feature, and a ``--depth`` clone of it on feature."""
    root = source_repo
    for name in ("c2", "c3", "c4"):
        commit(root, name)
    git("checkout", "--quiet", "-b", "feature", cwd=root)
    commit(root, "feature-1")
    git("checkout", "--quiet", "main", cwd=root)
    commit(root, "main-5")
    clone = tmp_path / f"shallow-{depth}"
    git("clone", "--quiet", f"--depth={depth}", "--no-single-branch", f"file://{root}", str(clone))
    git("checkout", "--quiet", "feature", cwd=clone)
    return clone


def test_a_shallow_clone_walks_the_history_it_has(source_repo: Path, tmp_path: Path) -> None:
    clone = shallow_pair(source_repo, tmp_path, depth=3)
    branch, commits = merge_base_ancestry(clone)
    assert branch == "origin/main"
    assert commits[0] == git("merge-base", "HEAD", "origin/main", cwd=clone)
    assert commits == git("rev-list", commits[0], cwd=clone).split()  # up to the boundary


def test_a_too_shallow_clone_says_to_fetch_history(source_repo: Path, tmp_path: Path) -> None:
    clone = shallow_pair(source_repo, tmp_path, depth=1)
    with pytest.raises(SourceHistoryError, match=r"shallow clone.*fetch-depth: 0"):
        merge_base_ancestry(clone)

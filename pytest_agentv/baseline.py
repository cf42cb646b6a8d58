"""Which stored run a baseline gate compares against (``--agentv-baseline REF``).

The forms (docs/gates.md):

* a run id, a unique prefix of one, ``latest`` or ``latest~N`` -- as every ``agentv-results``
  command reads them;
* ``latest:KEY=VALUE,...`` -- the newest run matching every filter;
* ``merge-base[:KEY=VALUE,...]`` -- the run recorded at the merge-base of ``HEAD`` and the default
  branch, or at its nearest ancestor that has one (matched on the run's ``Source-Commit``).

Filter keys are ``branch`` (the source branch), ``model`` and ``eval`` (the eval file; these two
match as ``agentv-results list --model`` does, globs included); the value ``<same>`` stands for
this run's own value. A reference that finds nothing raises
:class:`BaselineError`: a gate never passes for want of a baseline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from pytest_agentv.index import RunQuery, RunRow

BaselineKind = Literal["ref", "latest", "merge-base"]
FILTER_KEYS = ("branch", "model", "eval")
SAME = "<same>"
_FORMS = (
    "a run id or prefix, 'latest', 'latest~N', 'latest:branch=main,model=<same>' or "
    "'merge-base' (filters: branch, model, eval; '<same>' is this run's value)"
)


class BaselineError(LookupError):
    """No stored run matches the baseline reference (or it cannot be looked for)."""


@dataclass(frozen=True)
class BaselineRef:
    """A parsed ``--agentv-baseline`` value."""

    text: str
    kind: BaselineKind
    filters: tuple[tuple[str, str], ...] = ()

    @property
    def needs_source_history(self) -> bool:
        """True for ``merge-base``, which walks the project's git history."""
        return self.kind == "merge-base"


def parse_baseline_ref(text: str) -> BaselineRef:
    """Parse a reference; ``ValueError`` says what is wrong and which forms exist."""
    value = text.strip()
    head, colon, rest = value.partition(":")
    if not colon:
        if not value:
            raise ValueError(f"the baseline is empty; use {_FORMS}")
        return BaselineRef(value, "merge-base" if value == "merge-base" else "ref")
    if head not in ("latest", "merge-base"):
        raise ValueError(f"{text!r}: filters follow 'latest:' or 'merge-base:' only; use {_FORMS}")
    filters: dict[str, str] = {}
    for part in rest.split(","):
        key, equals, wanted = (s.strip() for s in part.partition("="))
        if not equals or not key or not wanted:
            raise ValueError(f"{text!r}: {part.strip()!r} is not KEY=VALUE; use {_FORMS}")
        if key not in FILTER_KEYS:
            raise ValueError(
                f"{text!r}: unknown filter {key!r}; the filters are {', '.join(FILTER_KEYS)}"
            )
        if key in filters:
            raise ValueError(f"{text!r}: filter {key!r} is given twice")
        filters[key] = wanted
    kind: BaselineKind = "latest" if head == "latest" else "merge-base"
    return BaselineRef(value, kind, tuple(sorted(filters.items())))


@dataclass(frozen=True)
class ThisRun:
    """What ``<same>`` refers to, and which run may not be its own baseline."""

    run_id: str
    model: str | None = None
    eval_file: str | None = None
    branch: str | None = None
    parts: tuple[str, ...] = ()  # a run group's runs: none of them is its baseline either


def concrete_filters(ref: BaselineRef, this: ThisRun) -> dict[str, str]:
    """The filters with ``<same>`` replaced by this run's values."""
    own = {"branch": this.branch, "model": this.model, "eval": this.eval_file}
    filters = {}
    for key, wanted in ref.filters:
        if wanted == SAME:
            value = own[key]
            if value is None:
                raise BaselineError(
                    f"baseline {ref.text!r}: this run has no {key}, so '{key}={SAME}' matches "
                    f"nothing; give the {key} explicitly or drop the filter"
                )
            wanted = value
        filters[key] = wanted
    return filters


def _candidates(
    rows: Iterable[RunRow],
    filters: Mapping[str, str],
    this: ThisRun,
    branch_of: Callable[[str], str | None],
) -> Iterator[RunRow]:
    for row in rows:
        if row.run_id == this.run_id or row.run_id in this.parts:
            continue
        # the branch is not in a list row: read it only for rows that match everything else
        if "branch" in filters and branch_of(row.run_id) != filters["branch"]:
            continue
        yield row


def _describe(filters: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(filters.items())) or "no filter"


def find_baseline(
    ref: BaselineRef,
    this: ThisRun,
    rows: Callable[[RunQuery], Sequence[RunRow]],
    branch_of: Callable[[str], str | None],
    resolve_ref: Callable[[str], str],
    ancestry: Callable[[], tuple[str, Sequence[str]]] | None = None,
) -> str:
    """The baseline's run id.

    ``rows`` lists the stored runs matching a query's ``model`` and ``eval_file``, newest
    first; ``branch_of`` reads one run's source branch; ``resolve_ref`` resolves a plain run
    reference (id, prefix, ``latest~N``); ``ancestry`` gives the default branch and the
    merge-base's ancestry, nearest first.
    """
    if ref.kind == "ref":
        if ref.text == "latest":
            return find_baseline(
                BaselineRef("latest", "latest"), this, rows, branch_of, resolve_ref, ancestry
            )
        try:
            return resolve_ref(ref.text)
        except (LookupError, ValueError) as exc:
            raise BaselineError(f"baseline {ref.text!r}: {exc}") from None
    filters = concrete_filters(ref, this)
    query = RunQuery(model=filters.get("model"), eval_file=filters.get("eval"))
    candidates = _candidates(rows(query), filters, this, branch_of)
    if ref.kind == "latest":
        first = next(candidates, None)
        if first is None:
            raise BaselineError(
                f"baseline {ref.text!r}: no stored run matches {_describe(filters)}"
            )
        return first.run_id
    if ancestry is None:
        raise BaselineError(f"baseline {ref.text!r}: the source history cannot be read here")
    branch, commits = ancestry()
    by_commit: dict[str, str] = {}
    for row in candidates:  # newest first: the first run seen at a commit is its newest
        if row.source_commit is not None:
            by_commit.setdefault(row.source_commit, row.run_id)
    for commit in commits:
        if commit in by_commit:
            return by_commit[commit]
    where = f"the merge-base of HEAD and {branch}"
    raise BaselineError(
        f"baseline {ref.text!r}: no stored run ({_describe(filters)}) was recorded at {where} "
        f"or at any of its {len(commits) - 1} ancestors; record a run on {branch} first"
    )

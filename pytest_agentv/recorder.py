"""What eval tests record through the ``agentv`` and ``agentv_run`` fixtures.

Every value is checked where it is recorded, so a bad value fails the test that made it.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from pytest_agentv.exceptions import AgentvRecordError
from pytest_agentv.models import Score, Usage
from pytest_agentv.payload import RawEvent
from pytest_agentv.serial import now_iso
from pytest_agentv.wire import RunContextWire, TestWire, WireEvent

#: Transcript fields the plugin sets itself; ``agentv.message(**fields)`` may not use them.
RESERVED_EVENT_FIELDS = frozenset({"test", "seq", "role", "content", "timestamp"})


#: How deep recorded JSON may nest; deeper values cannot be redacted, validated and stored
#: without recursion limits (real transcripts nest a dozen levels at most).
MAX_DEPTH = 100


def check_text(value: str, what: str) -> str:
    """``value`` if it can be written as UTF-8 (no lone surrogates), else
    :class:`AgentvRecordError`."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise AgentvRecordError(
            f"{what} must be valid UTF-8 text: {value[exc.start : exc.end]!r} at position "
            f"{exc.start} is a lone surrogate; decode bytes with errors='replace' first"
        ) from None
    return value


def check_json(value: Any, what: str) -> None:
    """Raise :class:`AgentvRecordError` unless ``value`` can be stored: JSON-serialisable
    without NaN/inf, text valid UTF-8, nested at most :data:`MAX_DEPTH` levels."""
    # iterative, so a value nested 10**6 deep is refused rather than blowing the stack
    todo: list[tuple[Any, int]] = [(value, 0)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, str):
            check_text(item, what)
        elif isinstance(item, dict | list | tuple):
            if depth >= MAX_DEPTH:
                raise AgentvRecordError(
                    f"{what} is nested deeper than {MAX_DEPTH} levels; flatten it or store it "
                    "as a JSON string"
                )
            if isinstance(item, dict):
                for key in item:
                    if isinstance(key, str):
                        check_text(key, f"{what} key")
                todo.extend((child, depth + 1) for child in item.values())
            else:
                todo.extend((child, depth + 1) for child in item)
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise AgentvRecordError(
            f"{what} must be JSON-serialisable (str, int, float, bool, None, list, dict with str "
            f"keys; no NaN/inf): {exc}"
        ) from None


def _storable(value: Any) -> Any:
    """``value`` if it can be stored, else its repr (the test already failed for it)."""
    try:
        check_json(value, "value")
    except AgentvRecordError:
        return repr(value)
    return value


def _check_name(name: object, what: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise AgentvRecordError(f"{what} must be a non-empty string, got {name!r}")
    return check_text(name, what)


def _check_number(value: object, what: str) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if not isinstance(value, int | float):
        raise AgentvRecordError(f"{what} must be a number or bool, got {type(value).__name__}")
    if not math.isfinite(value):
        raise AgentvRecordError(f"{what} must be finite, got {value!r}")
    return float(value)


class JsonDict(dict[str, Any]):
    """A dict that refuses keys and values that could not be stored as JSON."""

    def __init__(self, what: str, *args: Any, **kwargs: Any):
        super().__init__()
        self._what = what
        self.update(*args, **kwargs)

    def __setitem__(self, key: str, value: Any) -> None:
        _check_name(key, f"{self._what} key")
        check_json(value, f"{self._what}[{key!r}]")
        super().__setitem__(key, value)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]


def json_safe(value: Any) -> Any:
    """``value`` as JSON data: containers recursively, dataclasses and pydantic models as their
    fields, anything else as its ``repr`` (how parametrized arguments become inputs)."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, enum.Enum):
        return json_safe(value.value)
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, set | frozenset):
        return sorted((json_safe(item) for item in value), key=repr)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return json_safe({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return json_safe(dump(mode="json"))
        except Exception:
            pass
    if isinstance(value, PurePath):
        return str(value)
    return repr(value)


def _fields(what: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    if len(args) > 1:
        raise AgentvRecordError(f"{what} takes one mapping and/or keyword arguments")
    merged: dict[str, Any] = {}
    if args:
        if not isinstance(args[0], Mapping):
            raise AgentvRecordError(
                f"{what} takes a mapping or keyword arguments, got {type(args[0]).__name__}; "
                f"name the value: {what}(answer=...)"
            )
        merged.update(args[0])
    merged.update(kwargs)
    return merged


class ThresholdMissed(AssertionError):
    """A score checked with :meth:`EvalRecorder.check` missed its threshold."""


def describe_miss(name: str, score: Score) -> str:
    """``score 'accuracy' = 0.25 is below its threshold 0.8 (reason)``."""
    side = "above" if score.greater_is_better is False else "below"
    text = f"score {name!r} = {score.value:g} is {side} its threshold {score.threshold:g}"
    return text + (f" ({score.reason})" if score.reason else "")


class EvalRecorder:
    """The ``agentv`` fixture: one test's scores, transcript, usage, metadata and case data.

    Scores recorded inside a subtest belong to that subtest (``in_subtest`` says when), so one
    name can be recorded once per subtest.
    """

    def __init__(self, nodeid: str, in_subtest: Callable[[], bool] | None = None):
        self.nodeid = nodeid
        self.metadata: JsonDict = JsonDict("agentv.metadata")
        #: overrides the case id derived from the parametrized values (``diff`` matches on it)
        self.case_id: str | None = None
        self._scores: dict[str, Score] = {}
        self._subtest_scores: dict[str, Score] = {}
        self._in_subtest = in_subtest or (lambda: False)
        self._events: list[RawEvent] = []
        self._usage = Usage()
        self._case: dict[str, JsonDict] = {}

    def score(
        self,
        name: str,
        value: float | int | bool | str,
        *,
        threshold: float | None = None,
        reason: str | None = None,
        comment: str | None = None,
        label: str | None = None,
        greater_is_better: bool = True,
    ) -> Score:
        """Record a named score; with a threshold, whether it passed (``value >= threshold``,
        or ``value <= threshold`` with ``greater_is_better=False``, for latency or cost).

        A string value is a label (categorical feedback, ``score("verdict", "pass")``);
        ``label=`` adds one to a number. ``comment`` is another name for ``reason``.
        """
        _check_name(name, "score name")
        target = self._subtest_scores if self._in_subtest() else self._scores
        if name in target:
            where = "subtest" if target is self._subtest_scores else "test"
            raise AgentvRecordError(f"score {name!r} was already recorded in this {where}")
        if isinstance(value, str):
            if label is not None:
                raise AgentvRecordError(f"score {name!r}: give the label once, as value or label=")
            number, label = None, value
        else:
            number = _check_number(value, f"score {name!r} value")
        if threshold is not None and number is None:
            raise AgentvRecordError(f"score {name!r}: a threshold needs a number, not a label")
        limit = None if threshold is None else _check_number(threshold, f"score {name!r} threshold")
        if comment is not None:
            if reason is not None:
                raise AgentvRecordError(f"score {name!r}: give reason= or comment=, not both")
            reason = comment
        for what, text in (("reason", reason), ("label", label)):
            if text is not None and not isinstance(text, str):
                raise AgentvRecordError(f"score {name!r} {what} must be a string, got {text!r}")
        for what, text in (("reason", reason), ("label", label)):
            if text is not None:
                check_text(text, f"score {name!r} {what}")
        if not isinstance(greater_is_better, bool):
            raise AgentvRecordError(
                f"score {name!r} greater_is_better must be True or False, got {greater_is_better!r}"
            )
        passed = None
        if limit is not None and number is not None:
            passed = number >= limit if greater_is_better else number <= limit
        score = Score(
            value=number,
            threshold=limit,
            passed=passed,
            reason=reason,
            # stored only when it is not the default, so existing files do not change
            greater_is_better=None if greater_is_better else False,
            label=label,
        )
        target[name] = score
        return score

    def check(
        self,
        name: str,
        value: float | int | bool,
        *,
        threshold: float,
        reason: str | None = None,
        comment: str | None = None,
        greater_is_better: bool = True,
    ) -> Score:
        """Record a score like :meth:`score`, then fail the test if it missed its threshold."""
        if threshold is None:
            raise AgentvRecordError(f"check {name!r} needs a threshold")
        score = self.score(
            name,
            value,
            threshold=threshold,
            reason=reason,
            comment=comment,
            greater_is_better=greater_is_better,
        )
        if score.passed is False:
            raise ThresholdMissed(describe_miss(name, score))
        return score

    def missed_thresholds(self) -> list[str]:
        """One line per test-level score below its threshold (``--agentv-fail-on-threshold``)."""
        return [describe_miss(n, s) for n, s in self._scores.items() if s.passed is False]

    def end_subtest(self) -> dict[str, Score]:
        """The scores of the subtest that just ended; the next one starts empty."""
        scores, self._subtest_scores = self._subtest_scores, {}
        return scores

    def _case_fields(self, what: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        fields = self._case.setdefault(what, JsonDict(f"agentv.{what}"))
        fields.update(_fields(f"agentv.{what}", args, kwargs))

    def inputs(self, *mapping: Mapping[str, Any], **fields: Any) -> None:
        """Record the case's inputs (added to those taken from the parametrized arguments)."""
        self._case_fields("inputs", mapping, fields)

    def outputs(self, *mapping: Mapping[str, Any], **fields: Any) -> None:
        """Record what the system under evaluation produced."""
        self._case_fields("outputs", mapping, fields)

    def reference(self, *mapping: Mapping[str, Any], **fields: Any) -> None:
        """Record the reference (expected) outputs."""
        self._case_fields("reference", mapping, fields)

    def message(self, role: str, content: Any, **fields: Any) -> None:
        """Append one transcript event (content: text or any JSON-serialisable structure)."""
        _check_name(role, "message role")
        reserved = RESERVED_EVENT_FIELDS.intersection(fields)
        if reserved:
            raise AgentvRecordError(
                f"message fields {sorted(reserved)} are set by pytest-agentv; use other names"
            )
        check_json(content, "message content")
        check_json(fields, "message fields")
        self._events.append(
            RawEvent(
                test=self.nodeid,
                role=role,
                content=content,
                timestamp=now_iso(),
                fields=dict(fields),
            )
        )

    def usage(self, input_tokens: int = 0, output_tokens: int = 0, cost_usd: float = 0.0) -> Usage:
        """Add token and cost usage; returns the test's running total."""
        for what, count in (("input_tokens", input_tokens), ("output_tokens", output_tokens)):
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise AgentvRecordError(f"usage {what} must be a non-negative int, got {count!r}")
        cost = _check_number(cost_usd, "usage cost_usd")
        if cost < 0:
            raise AgentvRecordError(f"usage cost_usd must not be negative, got {cost_usd!r}")
        total = self._usage + Usage(
            input_tokens=input_tokens, output_tokens=output_tokens, cost_usd=cost
        )
        if not math.isfinite(total.cost_usd):
            raise AgentvRecordError(
                f"usage cost_usd total overflows ({self._usage.cost_usd!r} + {cost!r}); "
                "record costs in a sane unit"
            )
        self._usage = total
        return self._usage

    @property
    def scores(self) -> dict[str, Score]:
        """The test-level scores recorded so far, by name (a copy)."""
        return dict(self._scores)

    def check_metadata(self) -> None:
        """Re-check values at the end of the test: nested values may have changed in place."""
        for key, value in self.metadata.items():
            check_json(value, f"agentv.metadata[{key!r}]")
        for what, fields in self._case.items():
            for key, value in fields.items():
                check_json(value, f"agentv.{what}[{key!r}]")
        if self.case_id is not None and (
            not isinstance(self.case_id, str) or not self.case_id.strip()
        ):
            raise AgentvRecordError(
                f"agentv.case_id must be a non-empty string, got {self.case_id!r}"
            )

    def to_wire(self) -> dict[str, Any]:
        """A JSON-able :class:`TestWire`; it rides on the teardown report, which xdist ships."""
        case_id = self.case_id if isinstance(self.case_id, str) and self.case_id.strip() else None
        case = {
            what: {key: _storable(value) for key, value in fields.items()}
            for what, fields in self._case.items()
        }
        return TestWire(
            scores=dict(self._scores),
            usage=self._usage,
            metadata={key: _storable(value) for key, value in self.metadata.items()},
            events=tuple(
                WireEvent(role=e.role, content=e.content, timestamp=e.timestamp, fields=e.fields)
                for e in self._events
            ),
            case_id=case_id,
            inputs=case.get("inputs"),
            outputs=case.get("outputs"),
            reference=case.get("reference"),
        ).model_dump(mode="json")


@dataclass
class RunContext:
    """The ``agentv_run`` fixture: facts about the run as a whole, settable from conftest."""

    model: str | None = None
    eval_file: str | None = None
    tags: list[str] = field(default_factory=list)
    metadata: JsonDict = field(default_factory=lambda: JsonDict("agentv_run.metadata"))
    #: the run's parameters (temperature, prompt version ...), shown by ``list`` and ``diff``
    params: JsonDict = field(default_factory=lambda: JsonDict("agentv_run.params"))
    #: set when a test or fixture used ``agentv_run``: the session then records a run
    used: bool = False

    def to_wire(self) -> dict[str, Any]:
        """A JSON-able :class:`RunContextWire` for ``workeroutput``."""
        return RunContextWire(
            model=self.model,
            eval_file=self.eval_file,
            tags=tuple(self.tags),
            metadata=dict(self.metadata),
            params=dict(self.params),
            used=self.used,
        ).model_dump(mode="json")

    def merge_wire(self, data: dict[str, Any], initial: RunContext) -> None:
        """Take what a worker set: values it changed from the shared starting point win."""
        wire = RunContextWire.model_validate(data)
        for name in ("model", "eval_file"):
            if getattr(wire, name) != getattr(initial, name):
                setattr(self, name, getattr(wire, name))
        for tag in wire.tags:
            if tag not in self.tags:
                self.tags.append(tag)
        self.metadata.update(wire.metadata)
        self.params.update(wire.params)
        self.used = self.used or wire.used

    def __setattr__(self, name: str, value: Any) -> None:
        # checked where the conftest assigns it, so the error points at that line
        if name in ("model", "eval_file"):
            value = _check_optional_text(value, f"agentv_run.{name}")
        elif name == "tags":
            value = _check_tags(value)
        elif name == "metadata" and not isinstance(value, JsonDict):
            value = JsonDict("agentv_run.metadata", _check_mapping(value))
        super().__setattr__(name, value)

    def check(self) -> list[str]:
        """Re-check what may have changed in place (``tags.append``, nested metadata); a bad
        value is left out of the run, and the returned problems say which."""
        problems = []
        try:
            _check_tags(self.tags)
        except AgentvRecordError as exc:
            problems.append(f"{exc}; the tags were left out of the run")
            self.tags = [tag for tag in self.tags if _is_text(tag)]
        for name, values in (("metadata", self.metadata), ("params", self.params)):
            for key, value in list(values.items()):
                try:
                    check_json(value, f"agentv_run.{name}[{key!r}]")
                except AgentvRecordError as exc:
                    problems.append(f"{exc}; it was left out of the run")
                    dict.__delitem__(values, key)
        return problems


def _is_text(value: object) -> bool:
    try:
        return isinstance(value, str) and bool(check_text(value, ""))
    except AgentvRecordError:
        return False


def _check_optional_text(value: object, what: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise AgentvRecordError(f"{what} must be a string or None, got {value!r}")
    return None if value is None else check_text(value, what)


def _check_tags(value: object) -> list[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(tag, str) for tag in value):
        raise AgentvRecordError(f"agentv_run.tags must be a list of strings, got {value!r}")
    for tag in value:
        check_text(tag, "agentv_run.tags entry")
    return value if isinstance(value, list) else list(value)


def _check_mapping(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise AgentvRecordError(f"agentv_run.metadata must be a dict, got {value!r}")
    return value

"""What eval tests record through the ``agentv`` fixture.

Every value is checked where it is recorded, so a bad value fails the test that made it. On the
process that writes the run, messages go to the session's transcript in batches as the test
goes (:mod:`pytest_agentv.transcript`); elsewhere (an xdist worker) they ride on the test's
teardown report.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pytest_agentv.exceptions import AgentvRecordError
from pytest_agentv.models import Score, Usage
from pytest_agentv.serial import now_iso
from pytest_agentv.transcript import FLUSH_BYTES, RawEvent
from pytest_agentv.values import (
    JsonDict,
    check_json,
    check_name,
    check_number,
    check_text,
    mapping_fields,
    storable,
)
from pytest_agentv.wire import TestWire, WireEvent

#: Transcript fields the plugin sets itself; ``agentv.message(**fields)`` may not use them.
RESERVED_EVENT_FIELDS = frozenset({"test", "seq", "role", "content", "timestamp"})

#: Takes a batch of one test's messages for the run's transcript (redacts and writes them).
TranscriptSink = Callable[[Sequence[RawEvent]], None]


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

    With a ``sink`` (on the process that writes the run) messages are handed to it whenever
    about :data:`~pytest_agentv.transcript.FLUSH_BYTES` of them wait, and the rest at the end
    of the test; a sink that fails costs this test its transcript (the session says so), not
    the test itself.
    """

    def __init__(
        self,
        nodeid: str,
        in_subtest: Callable[[], bool] | None = None,
        sink: TranscriptSink | None = None,
    ):
        self.nodeid = nodeid
        self.metadata: JsonDict = JsonDict("agentv.metadata")
        #: overrides the case id derived from the parametrized values (``diff`` matches on it)
        self.case_id: str | None = None
        self._scores: dict[str, Score] = {}
        self._subtest_scores: dict[str, Score] = {}
        self._in_subtest = in_subtest or (lambda: False)
        self._events: list[RawEvent] = []
        self._waiting = 0  # the size of the messages in _events, roughly
        self._sink = sink
        self._sink_error: str | None = None
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
        check_name(name, "score name")
        target = self._subtest_scores if self._in_subtest() else self._scores
        if name in target:
            where = "subtest" if target is self._subtest_scores else "test"
            raise AgentvRecordError(f"score {name!r} was already recorded in this {where}")
        if isinstance(value, str):
            if label is not None:
                raise AgentvRecordError(f"score {name!r}: give the label once, as value or label=")
            number, label = None, value
        else:
            number = check_number(value, f"score {name!r} value")
        if threshold is not None and number is None:
            raise AgentvRecordError(f"score {name!r}: a threshold needs a number, not a label")
        limit = None if threshold is None else check_number(threshold, f"score {name!r} threshold")
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
        fields.update(mapping_fields(f"agentv.{what}", args, kwargs))

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
        check_name(role, "message role")
        reserved = RESERVED_EVENT_FIELDS.intersection(fields)
        if reserved:
            raise AgentvRecordError(
                f"message fields {sorted(reserved)} are set by pytest-agentv; use other names"
            )
        size = check_json(content, "message content")
        if fields:
            size += check_json(fields, "message fields")
        self._events.append(RawEvent(self.nodeid, role, content, now_iso(), fields))
        self._waiting += size
        if self._sink is not None and self._waiting >= FLUSH_BYTES:
            self._flush()

    def _flush(self) -> None:
        """Hand the waiting messages to the sink (dropped after it failed once)."""
        events, self._events, self._waiting = self._events, [], 0
        if self._sink is None or self._sink_error is not None or not events:
            return
        try:
            self._sink(events)
        except Exception as exc:
            self._sink_error = f"{type(exc).__name__}: {exc}"

    def usage(self, input_tokens: int = 0, output_tokens: int = 0, cost_usd: float = 0.0) -> Usage:
        """Add token and cost usage; returns the test's running total."""
        for what, count in (("input_tokens", input_tokens), ("output_tokens", output_tokens)):
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise AgentvRecordError(f"usage {what} must be a non-negative int, got {count!r}")
        cost = check_number(cost_usd, "usage cost_usd")
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
        """A JSON-able :class:`TestWire`; it rides on the teardown report, which xdist ships.

        With a sink, the messages are in the transcript already (this hands it the last
        ones); the wire then carries none, and says so if the sink failed."""
        if self._sink is not None:
            self._flush()
        case_id = self.case_id if isinstance(self.case_id, str) and self.case_id.strip() else None
        case = {
            what: {key: storable(value) for key, value in fields.items()}
            for what, fields in self._case.items()
        }
        return TestWire(
            scores=dict(self._scores),
            usage=self._usage,
            metadata={key: storable(value) for key, value in self.metadata.items()},
            events=tuple(
                WireEvent(role=e.role, content=e.content, timestamp=e.timestamp, fields=e.fields)
                for e in self._events
            ),
            case_id=case_id,
            inputs=case.get("inputs"),
            outputs=case.get("outputs"),
            reference=case.get("reference"),
            transcript_error=self._sink_error,
        ).model_dump(mode="json")

"""The ``agentv_run`` fixture: facts about the run as a whole, settable from a conftest.

Free of pydantic: it exists in every session (the plugin builds it at configure time); the wire
models load only when an xdist worker sends it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pytest_agentv.exceptions import AgentvRecordError
from pytest_agentv.values import JsonDict, check_json, check_text


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
        """A JSON-able :class:`~pytest_agentv.wire.RunContextWire` for ``workeroutput``."""
        from pytest_agentv.wire import RunContextWire

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
        from pytest_agentv.wire import RunContextWire

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

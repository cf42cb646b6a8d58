"""The run's transcript, redacted and written as the session goes.

Messages are redacted and serialised in batches while tests run (a test's at its end, or
whenever its unwritten messages pass :data:`FLUSH_BYTES`) and appended to one file of the
session, so the session end does not redact a whole run at once and no process holds a whole
transcript in memory. Only redacted lines reach the file.

The file lives in ``.session-<runId>-<pid>/`` beside the run spool: no reader takes that for a
run (a spooled run is a directory named by its run id), and a session killed mid-run leaves a
directory that the next session removes once its process is gone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pytest_agentv.fs import make_ignored_dir
from pytest_agentv.redact import KeyNames, Redactor
from pytest_agentv.serial import jsonl_chunks, jsonl_text

SESSION_PREFIX = ".session-"
TRANSCRIPT_NAME = "transcript.jsonl"
#: a test's unwritten messages are written once they hold about this much text
FLUSH_BYTES = 1 << 20
#: a ``.session-*`` directory whose process is gone and that is older than this is removed
ORPHAN_AFTER = 60.0
#: big lines are written in slices, so no second full copy of one is made to encode it
_WRITE_SLICE = 1 << 20


@dataclass
class RawEvent:
    """A transcript message as recorded, before sequencing and redaction."""

    test: str
    role: str
    content: Any
    timestamp: str
    fields: dict[str, Any] = field(default_factory=dict)


def event_document(event: RawEvent, seq: int) -> dict[str, Any]:
    """The line of :class:`~pytest_agentv.models.TranscriptEvent` for ``event``, as plain data.

    Built directly rather than through the model (its ``model_dump`` costs more than the rest
    of a message's path); ``tests/test_transcript.py`` holds the two equal. The recorder
    refuses fields named like the model's own, so ``fields`` cannot shadow one.
    """
    return {
        **event.fields,
        "test": event.test,
        "seq": seq,
        "role": event.role,
        "content": event.content,
        "timestamp": event.timestamp,
    }


def redacted_events(
    events: Sequence[RawEvent], first_seq: int, redactor: Redactor, names: KeyNames
) -> list[Any]:
    """The redacted lines of ``events`` as data, numbered from ``first_seq`` (pure)."""
    documents = [event_document(event, first_seq + n) for n, event in enumerate(events)]
    return redactor.json_many(documents, "transcript", names)


def serialise_events(
    events: Sequence[RawEvent], first_seq: int, redactor: Redactor, names: KeyNames
) -> list[str]:
    """The redacted JSON Lines of ``events`` (without their ``\\n``), numbered from
    ``first_seq`` (pure)."""
    return [jsonl_text(doc) for doc in redacted_events(events, first_seq, redactor, names)]


class TranscriptSpool:
    """Appends each test's redacted transcript lines to the session's file.

    A test's lines are the file's tail until the test is :meth:`commit`-ted (tests report one
    after another on the writing process), so :meth:`discard` can take back an attempt that is
    rerun or a record that cannot be stored.
    """

    def __init__(
        self, parent: Callable[[], Path], run_id: str, redactor: Redactor, names: KeyNames
    ) -> None:
        self._parent = parent  # where, decided on the first write (nothing is made before)
        self.run_id = run_id
        self.redactor = redactor
        self.names = names
        self.directory: Path | None = None
        self._file: IO[str] | None = None
        self._seq = 0
        self._open: dict[str, tuple[int, int]] = {}  # test -> (offset, seq) where it began

    @property
    def path(self) -> Path | None:
        """The file, once something was written."""
        return None if self.directory is None else self.directory / TRANSCRIPT_NAME

    @property
    def events(self) -> int:
        """How many events are written."""
        return self._seq

    def write(self, test: str, events: Sequence[RawEvent]) -> None:
        """Redact and append ``events`` of ``test``: all of them or, if redaction fails, none
        (the exception is raised; what the test wrote earlier stays until :meth:`discard`)."""
        if not events:
            return
        documents = redacted_events(events, self._seq, self.redactor, self.names)
        handle = self._handle()
        if test not in self._open:
            self._open[test] = (handle.tell(), self._seq)
        for document in documents:
            for chunk in jsonl_chunks(document):
                if len(chunk) > _WRITE_SLICE:  # written in slices: one encoded slice at a time
                    for start in range(0, len(chunk), _WRITE_SLICE):
                        handle.write(chunk[start : start + _WRITE_SLICE])
                else:
                    handle.write(chunk)
            handle.write("\n")
        self._seq += len(documents)

    def commit(self, test: str) -> None:
        """``test`` is over: its lines are final (and handed to the OS)."""
        if self._open.pop(test, None) is not None and self._file is not None:
            self._file.flush()

    def discard(self, test: str) -> None:
        """Take back the lines ``test`` wrote since it began (they are the file's tail)."""
        began = self._open.pop(test, None)
        if began is None or self._file is None:
            return
        offset, seq = began
        self._file.flush()
        self._file.truncate(offset)
        self._file.seek(offset)
        self._seq = seq

    def read(self) -> bytes:
        """The whole transcript (b"" when nothing was written)."""
        if self._file is None:
            return b""
        self._file.flush()
        self._file.seek(0, os.SEEK_END)
        size = self._file.tell()
        with open(self._file.name, "rb") as data:
            return data.read(size)

    def close(self) -> None:
        """Close and remove the session's file (the run holds its bytes by now)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)

    def _handle(self) -> IO[str]:
        if self._file is None:
            parent = self._parent()
            make_ignored_dir(parent)
            remove_orphans(parent)
            self.directory = parent / f"{SESSION_PREFIX}{self.run_id}-{os.getpid()}"
            self.directory.mkdir()
            # newline="" writes "\n" as it is on every platform
            path = self.directory / TRANSCRIPT_NAME
            self._file = open(path, "w+", encoding="utf-8", newline="")  # noqa: SIM115
        return self._file


def remove_orphans(parent: Path, now: float | None = None) -> list[Path]:
    """Remove the ``.session-*`` directories of sessions whose process is gone (killed, or
    crashed before cleaning up); what is removed is returned. Never a live session's."""
    removed: list[Path] = []
    now = time.time() if now is None else now
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(SESSION_PREFIX):
            continue
        pid_text = entry.name.rsplit("-", 1)[-1]
        try:
            if now - entry.stat(follow_symlinks=False).st_mtime < ORPHAN_AFTER:
                continue
        except OSError:
            continue
        if pid_text.isdigit() and _alive(int(pid_text)):
            continue
        with contextlib.suppress(OSError):
            shutil.rmtree(entry.path)
            removed.append(Path(entry.path))
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process: alive
    return True

"""Time limits on the network: no fetch or push may hang a session (stdlib only).

dulwich's git:// client opens blocking sockets without a timeout, and a server that accepts
and never answers, or drips a byte now and then, would hold the session (and every session
waiting for its lock) forever. :func:`network_deadline` bounds one operation: each socket the
current thread connects waits at most ``timeout`` seconds to connect and for each read, and
the whole operation ends after ``TOTAL_FACTOR * timeout`` (a dripping server never goes
quiet for long, so only a total bound stops it): a watchdog shuts the sockets down, which
wakes the blocked read.

Sockets are found through the ``socket.connect`` audit event (PEP 578), so every transport
that connects a socket in this process is covered without patching it.
"""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

#: a whole fetch or push may take this many times the (connect / inactivity) timeout
TOTAL_FACTOR = 10

_current = threading.local()
_installed = threading.Lock()
_hooked = False


class Deadline:
    """The time limits of one operation, and whether the watchdog ended it."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.total = timeout * TOTAL_FACTOR
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def adopt(self, sock: socket.socket) -> None:
        sock.settimeout(self.timeout)
        with self._lock:
            self._sockets.append(sock)
            expired = self.expired
        if expired:
            _shutdown(sock)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock)

    def timed_out(self, exc: BaseException) -> bool:
        """True if ``exc`` (or what caused it) comes from a limit of this deadline."""
        seen: set[int] = set()
        error: BaseException | None = exc
        while error is not None and id(error) not in seen:
            if isinstance(error, TimeoutError) or "timed out" in str(error).lower():
                return True
            seen.add(id(error))
            error = error.__cause__ or error.__context__
        return self.expired

    def describe(self) -> str:
        if self.expired:
            return (
                f"no complete answer within {self.total:g}s (network timeout {self.timeout:g}s "
                f"x {TOTAL_FACTOR})"
            )
        return f"no answer for {self.timeout:g}s (network timeout)"


def _shutdown(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "socket.connect":
        deadline = getattr(_current, "deadline", None)
        if deadline is not None and isinstance(args[0], socket.socket):
            deadline.adopt(args[0])


def _install() -> None:
    global _hooked
    with _installed:
        if not _hooked:
            sys.addaudithook(_audit)
            _hooked = True


@contextmanager
def network_deadline(timeout: float | None) -> Iterator[Deadline | None]:
    """Bound the network operations of this thread inside the block (None: no limit)."""
    if timeout is None or timeout <= 0:
        yield None
        return
    _install()
    deadline = Deadline(timeout)
    previous = getattr(_current, "deadline", None)
    _current.deadline = deadline
    watchdog = threading.Timer(deadline.total, deadline.expire)
    watchdog.daemon = True
    watchdog.start()
    try:
        yield deadline
    finally:
        watchdog.cancel()
        _current.deadline = previous

"""``--serve``: the site on 127.0.0.1 with the standard library's HTTP server, for a quick look."""

from __future__ import annotations

import contextlib
import functools
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return None


def make_server(directory: Path, port: int = 0) -> ThreadingHTTPServer:
    """A server for ``directory`` bound to 127.0.0.1 only (port 0: any free port)."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    return ThreadingHTTPServer(("127.0.0.1", port), handler)


def serve(directory: Path, port: int = 0) -> None:
    """Serve until interrupted, printing the address first."""
    with make_server(directory, port) as server:
        host, bound = server.server_address[:2]
        print(f"serving {directory} at http://{host!s}:{bound}/ (Ctrl-C stops)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()

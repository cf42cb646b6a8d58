"""The settings an ``.agentv/config.yaml`` gives, cached after validation (stdlib only).

Validating the file needs PyYAML and pydantic, which cost a read command more than the rest of
its work. ``agentv-results`` therefore keeps what ``config_file.load_config_file`` returned
(the setting values; not the redaction rules, which only a recording session uses) in
``.agentv/cache/config-values.json``, keyed on the file (path, mtime, size and a hash of its
bytes) and on the code that validated it. Any change to either is a miss, and a miss validates
the file again with the one schema in :mod:`pytest_agentv.config_file`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pytest_agentv.fs import make_ignored_dir, write_file_atomically

CACHE_NAME = "config-values.json"
_FORMAT = 1
# the modules whose code decides what a file's values are: edited (or upgraded), the cache misses
_VALIDATORS = ("config_file.py", "options.py")


def _code_stamp() -> list[Any]:
    here = Path(__file__).parent
    stamp: list[Any] = [_FORMAT, *sys.version_info[:2]]
    for name in _VALIDATORS:
        try:
            info = (here / name).stat()
        except OSError:
            return [*stamp, None]
        stamp += [name, info.st_mtime_ns, info.st_size]
    return stamp


def cache_key(path: Path) -> list[Any] | None:
    """What a cached entry must match for ``path`` as it is now (None: unreadable)."""
    try:
        info = path.stat()
        data = path.read_bytes()
    except OSError:
        return None
    digest = hashlib.sha256(data).hexdigest()
    return [str(path.resolve()), info.st_mtime_ns, info.st_size, digest, *_code_stamp()]


def cached_values(cache_dir: Path, key: list[Any]) -> dict[str, Any] | None:
    """The setting values cached for ``key``, or None (no entry, another key, unreadable)."""
    try:
        entry = json.loads((cache_dir / CACHE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("key") != key:
        return None
    values = entry.get("values")
    return values if isinstance(values, dict) else None


def store_values(cache_dir: Path, key: list[Any], values: Mapping[str, Any]) -> None:
    """Remember ``values`` for ``key``; silently skipped when they do not survive JSON exactly
    or the cache cannot be written (it is only a cache)."""
    try:
        text = json.dumps({"key": key, "values": dict(values)}, sort_keys=True)
    except (TypeError, ValueError):
        return
    if json.loads(text)["values"] != dict(values):
        return  # a tuple, say, would come back as a list
    with contextlib.suppress(OSError):
        make_ignored_dir(cache_dir)
        write_file_atomically(cache_dir / CACHE_NAME, text.encode("utf-8"))

"""Run ids: 16 lowercase hex characters from a CSPRNG. The one definition (pure)."""

from __future__ import annotations

import re
import secrets

RUN_ID_LENGTH = 16
_RUN_ID = re.compile(r"[0-9a-f]{16}")
_RUN_ID_PREFIX = re.compile(r"[0-9a-f]{1,16}")


def new_run_id() -> str:
    """Return a fresh run id: 16 lowercase hex characters from a CSPRNG."""
    return secrets.token_hex(RUN_ID_LENGTH // 2)


def is_run_id(value: str) -> bool:
    """True if ``value`` is a well-formed run id."""
    return _RUN_ID.fullmatch(value) is not None


def check_run_id(value: str) -> str:
    """Return ``value`` if it is a run id, else raise ``ValueError`` saying what one looks like."""
    if not is_run_id(value):
        raise ValueError(f"{value!r} is not a run id (16 lowercase hex characters)")
    return value


def is_run_id_prefix(value: str) -> bool:
    """True if ``value`` could start a run id (an abbreviation a user may type)."""
    return _RUN_ID_PREFIX.fullmatch(value) is not None

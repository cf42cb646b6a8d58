"""The pytest ini file the CLI reads, found the way pytest finds it, for the ``agentv_*`` keys.

pytest looks from the working directory up for the first of ``pytest.ini``, ``.pytest.ini``,
``pyproject.toml`` (with ``[tool.pytest.ini_options]``), ``tox.ini`` (with ``[pytest]``) and
``setup.cfg`` (with ``[tool:pytest]``); its directory is the rootdir. ``agentv-results`` does the
same, so it reads the settings a pytest session in that directory would.
"""

from __future__ import annotations

import configparser
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_CANDIDATES: tuple[tuple[str, str | None], ...] = (
    ("pytest.ini", "pytest"),
    (".pytest.ini", "pytest"),
    ("pyproject.toml", None),
    ("tox.ini", "pytest"),
    ("setup.cfg", "tool:pytest"),
)


@dataclass(frozen=True)
class IniFile:
    """The ini file found, and its ``agentv_*`` values as text."""

    path: Path
    values: dict[str, str] = field(default_factory=dict)

    @property
    def rootdir(self) -> Path:
        return self.path.parent


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _read(path: Path, section: str | None) -> dict[str, str] | None:
    """The file's pytest section (None: the file has none, so pytest would not use it)."""
    if section is None:
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            return None
        table = document.get("tool", {}).get("pytest", {})
        options = table.get("ini_options") if isinstance(table, dict) else None
        if not isinstance(options, dict):
            return None
        return {str(k): _text(v) for k, v in options.items() if k.startswith("agentv_")}
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (OSError, configparser.Error):
        return None
    if not parser.has_section(section):
        # pytest.ini counts even without a [pytest] section
        return {} if path.name in ("pytest.ini", ".pytest.ini") else None
    return {k: v for k, v in parser.items(section) if k.startswith("agentv_")}


def find_ini(start: Path) -> IniFile | None:
    """The ini file pytest would use from ``start`` (None: there is none)."""
    for directory in (start, *start.parents):
        for name, section in _CANDIDATES:
            path = directory / name
            if path.is_file():
                values = _read(path, section)
                if values is not None:
                    return IniFile(path, values)
    return None

"""``agentv-results``: read back recorded runs. One module per command under :mod:`.commands`.

Exit codes: 0 ok; 1 findings (regressions, verification problems, unpushed runs left by ``sync``)
or a run reference that names no run / more than one; 2 usage, configuration or store error.
"""

from __future__ import annotations

from pytest_agentv.cli.main import COMMANDS, build_parser, main

__all__ = ["COMMANDS", "build_parser", "main"]

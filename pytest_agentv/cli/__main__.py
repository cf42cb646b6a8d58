"""``python -m pytest_agentv.cli``."""

import sys

from pytest_agentv.cli.main import main

sys.exit(main())

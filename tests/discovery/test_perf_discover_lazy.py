"""``provscan discover`` imports the discovery protocols when it runs, not when the command
line is built: every other command (a scan's start-up) does without them (issue 14)."""

from __future__ import annotations

import subprocess
import sys

from provscan.commands import discover
from provscan.discovery import runner


def test_the_help_default_is_the_runners_default() -> None:
    assert discover.DEFAULT_TIMEOUT_S == runner.DEFAULT_TIMEOUT_S


def test_building_the_command_line_imports_no_discovery_protocol() -> None:
    code = (
        "import sys, provscan.cli; "
        "print(sorted(m for m in sys.modules if m.startswith(('provscan.discovery', 'zeroconf'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"

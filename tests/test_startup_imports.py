"""A scan's start-up imports only what a scan of an empty range uses (issue 14, start-up).

The discovery protocols (zeroconf, the UPnP parsers) are imported when a discovery runs, and
cryptography when a certificate is read or a knowledge pack's signature checked: a
``--no-discovery`` scan of an address with nothing listening needs none of them. Measured by
running the real command in a child process and listing its modules at exit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

#: Modules the start-up of such a scan must not import (prefixes).
NOT_AT_START_UP = ("zeroconf", "cryptography", "provscan.discovery.mdns", "provscan.discovery.ssdp")

_CHILD = """
import atexit, json, sys
atexit.register(lambda: print(json.dumps(sorted(sys.modules)), file=sys.stderr))
sys.argv = ["provscan", *sys.argv[1:]]
from provscan.cli import main
main()
"""


def test_an_empty_scan_imports_no_discovery_protocol_and_no_cryptography(tmp_path: Path) -> None:
    output = tmp_path / "scan.json"
    # 127.80.0.1: an empty loopback address (the sweep benchmark's range), port 1.
    arguments = ["scan", "127.80.0.1", "-p", "1", "--no-discovery", "--no-db", "-q"]
    arguments += ["-f", "json", "-o", str(output)]
    env = {**os.environ, "PROVSCAN_ALLOWED_TARGETS": "127.0.0.0/8,::1/128"}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(output.read_text(encoding="utf-8"))["devices"] == []
    modules = json.loads(done.stderr.strip().splitlines()[-1])
    assert "provscan.pipeline" in modules  # the scan really ran through the pipeline
    assert [m for m in modules if m.startswith(NOT_AT_START_UP)] == []

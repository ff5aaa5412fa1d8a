from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from helpers import SESSION_DEVICES, scan_addresses

from provscan.lab.server import Lab, run_lab_in_thread
from provscan.model import ScanResult
from provscan.transport.limits import DEFAULT_PORTS

# The scope interlock (provscan/interlock.py): nothing the suite runs, in this process or in
# the provscan subprocesses it starts, may send a packet outside loopback. Tests that build
# their own network namespaces widen it for their own subprocesses only.
os.environ["PROVSCAN_ALLOWED_TARGETS"] = "127.0.0.0/8,::1/128"


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    with run_lab_in_thread(SESSION_DEVICES) as running:
        yield running


@pytest.fixture(scope="session")
def lab_scan(lab: Lab) -> ScanResult:
    """One real scan of every non-hostile lab device over loopback."""
    devices = [d for d in lab.devices if not d.expect.hostile]
    addresses = sorted({d.address for d in devices})
    ports = sorted(set(DEFAULT_PORTS) | {s.port for d in devices for s in d.services})
    return scan_addresses(addresses, ports=ports)

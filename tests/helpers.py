"""Shared test helpers (importable as `helpers`)."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import Sequence

from provscan.lab.server import load_devices
from provscan.lab.spec import DeviceSpec
from provscan.model import ScanResult
from provscan.transport.limits import DEFAULT_PORTS, ScanLimits

#: Short deadlines keep the suite fast; hostile devices are bounded by these.
TEST_LIMITS = dataclasses.replace(
    ScanLimits(),
    connect_timeout_s=1.0,
    read_timeout_s=1.0,
    per_connection_deadline_s=2.5,
    per_host_deadline_s=15.0,
)


def scan_addresses(
    addresses: list[str],
    limits: ScanLimits = TEST_LIMITS,
    ports: Sequence[int] = DEFAULT_PORTS,
) -> ScanResult:
    """A real scan over loopback through the whole pipeline."""
    from provscan.pipeline import run_scan
    from provscan.targets import build_targets

    targets = build_targets(addresses)
    return asyncio.run(run_scan(targets, addresses, ports, limits=limits))


#: Each test session serves the lab on its own 127.N.0.0/16, so that several sessions (a
#: developer's and CI's, or parallel runs) never collide on the bundled 127.77.x.y addresses.
SESSION_OCTET = 130 + os.getpid() % 100


def _session_address(address: str) -> str:
    parts = address.split(".")
    parts[1] = str(SESSION_OCTET)
    return ".".join(parts)


SESSION_DEVICES: list[DeviceSpec] = [
    device.model_copy(update={"address": _session_address(device.address)})
    for device in load_devices()
]

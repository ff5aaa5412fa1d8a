"""Scan limits, named and in one place (sslyze habit): only the scheduler applies them."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

DEFAULT_PORTS: tuple[int, ...] = (
    21,
    22,
    23,
    80,
    81,
    88,
    443,
    554,
    7547,
    8000,
    8080,
    8081,
    8443,
    8554,
    8899,
    9000,
    10554,
    34567,
    37777,
)


@dataclass(frozen=True)
class ScanLimits:
    global_connection_limit: int = 256
    per_host_connection_limit: int = 4
    connect_timeout_s: float = 1.5
    #: Deadline for a whole connection (connect + all reads/writes on it).
    per_connection_deadline_s: float = 5.0
    #: Deadline for everything done to one host (port scan and every probe).
    per_host_deadline_s: float = 30.0
    #: Idle timeout for one read.
    read_timeout_s: float = 2.0
    #: Cap on bytes read from one connection.
    read_byte_cap: int = 256 * 1024
    #: New connections per second across the scan (0 = unlimited).
    rate_per_second: float = 0.0


def available_cpus() -> int:
    """CPUs this process may run on: the ones worker processes (the sweep's, the capture
    analysis's second) can spread over. 1 off Linux, where those children are not tested."""
    if not sys.platform.startswith("linux"):
        return 1
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def every_cpu_busy(cpus: int) -> bool:
    """Whether the load average says ``cpus`` CPUs are all taken already (a second process
    would then only compete with the first); False where there is no load average."""
    try:
        return os.getloadavg()[0] >= cpus
    except OSError:
        return False

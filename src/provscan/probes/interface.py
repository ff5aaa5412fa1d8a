"""The probe seam.

A probe decides whether it applies to an open port and, when run, talks to the device
through a :class:`ProbeContext` owned by the scheduler. Probes never open sockets, pools
or threads of their own: every connection goes through ``ctx.connect`` so that the global
and per-host limits, deadlines, rate and byte caps hold for all of them.

Probes return observations (raw facts). Interpretation is the fingerprints' job.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Protocol

from provscan.engine.limits import ScanLimits
from provscan.model import Observation


class ProbeError(Exception):
    """Base of probe-level failures; the scheduler records them as attempts."""


class ProbeTimeout(ProbeError):
    pass


class ProbeRefused(ProbeError):
    pass


class ProbeClosed(ProbeError):
    """The peer closed the connection before sending anything useful."""


class ProbeMalformed(ProbeError):
    """The peer's reply could not be parsed."""


class Stream(Protocol):
    """One bounded connection. Every read is capped in bytes and time."""

    async def write(self, data: bytes) -> None: ...

    async def read_some(self, max_bytes: int = 65536) -> bytes:
        """Read what is available (at least 1 byte); b"" on EOF. Raises ProbeTimeout."""
        ...

    async def read_exactly(self, n: int) -> bytes:
        """Read exactly n bytes (n must be within the byte cap). Raises ProbeClosed on EOF."""
        ...

    async def read_until(self, marker: bytes, limit: int | None = None) -> bytes:
        """Read until ``marker`` is seen, EOF, or ``limit`` bytes; returns what was read."""
        ...

    async def read_to_eof(self, limit: int | None = None) -> bytes:
        """Read until EOF or ``limit`` bytes (default: the connection's byte cap)."""
        ...

    @property
    def bytes_read(self) -> int: ...

    @property
    def truncated(self) -> bool:
        """True once a read stopped because the byte cap was reached."""
        ...

    def peer_certificate(self) -> bytes | None:
        """DER of the peer's certificate for TLS connections (unverified), else None."""
        ...

    async def close(self) -> None: ...


class ProbeContext(Protocol):
    address: str
    port: int
    limits: ScanLimits

    async def connect(self, *, tls: bool = False, server_hostname: str | None = None) -> Stream:
        """Open a connection under the scan's limits. Raises ProbeRefused / ProbeTimeout."""
        ...

    def port_state(self) -> dict[int, str]:
        """Open ports already found on this host (port -> probe name that claimed it, or '')."""
        ...


class Probe(ABC):
    """A protocol probe. Subclasses are stateless; one instance serves the whole scan."""

    #: Short name used in evidence and attempts, e.g. "http", "rtsp", "hik-sdk".
    name: str = ""
    #: Ports this probe is tried on by default.
    default_ports: frozenset[int] = frozenset()
    #: Lower runs first on a port; a banner grab runs last.
    order: int = 50

    def applies_to(self, port: int) -> bool:
        return port in self.default_ports

    def applies_to_host(self, address: str) -> bool:
        """Whether to run on this host at all (credentialed probes: only with credentials)."""
        return True

    @abstractmethod
    async def run(self, ctx: ProbeContext) -> list[Observation]:
        """Talk to ``ctx.address:ctx.port`` and return what was seen.

        Raise a ProbeError subclass when nothing useful came back; partial results should
        be returned rather than raised.
        """

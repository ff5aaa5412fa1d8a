"""The transport seam: what a probe may do with a connection, and how a connection fails.

Probes see only :class:`Stream` and this error tree. The real implementation is
:mod:`provscan.transport.tcp` (bounded asyncio TCP/TLS, opened by the scheduler); the in-memory
twin :mod:`provscan.transport.memory` replays a scripted device, so probe logic is tested
without sockets (the real-socket tests against the lab stay).
"""

from __future__ import annotations

from typing import Protocol

from provscan.errors import ProvscanError


class ProbeError(ProvscanError):
    """Base of transport failures on a device connection; the scheduler records them as
    attempts (with the status their class names), never as a failed scan."""


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

"""How the scheduler hands connections to probes: rate, limits and the probe context.

The sockets themselves are opened by :mod:`provscan.transport.tcp`; this module adds the
scan-wide rate and the per-probe context through which every connection is made.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from provscan.transport.limits import ScanLimits
from provscan.transport.sweep import ConnectionSpacing
from provscan.transport.tcp import BoundedStream, ResetAfterConnect, open_bounded

__all__ = ["BoundedStream", "Connector", "HostProbeContext", "RateLimiter", "ResetAfterConnect"]


class RateLimiter:
    """Spaces connection starts evenly to at most ``rate`` per second (0 = unlimited).

    ``spacing`` shares the budget with the sweep thread (:class:`ConnectionSpacing`).
    """

    def __init__(self, rate: float = 0.0, spacing: ConnectionSpacing | None = None) -> None:
        self.spacing = spacing or ConnectionSpacing(rate)

    async def wait(self) -> None:
        delay = self.spacing.reserve()
        if delay > 0:
            await asyncio.sleep(delay)


#: How the scheduler opens a connection for a probe (its limits, slots and rate applied).
Connector = Callable[..., Awaitable[BoundedStream]]


class HostProbeContext:
    """The ProbeContext handed to probes; every connect goes through the scheduler's limits."""

    def __init__(
        self,
        address: str,
        port: int,
        limits: ScanLimits,
        connect: Connector | None = None,
        open_ports: dict[int, str] | None = None,
    ) -> None:
        self.address = address
        self.port = port
        self.limits = limits
        self._connect = connect
        self._open_ports = open_ports if open_ports is not None else {}

    async def connect(
        self, *, tls: bool = False, server_hostname: str | None = None
    ) -> BoundedStream:
        if self._connect is not None:
            return await self._connect(
                self.address, self.port, tls=tls, server_hostname=server_hostname
            )
        return await open_bounded(
            self.address, self.port, self.limits, tls=tls, server_hostname=server_hostname
        )

    def port_state(self) -> dict[int, str]:
        return dict(self._open_ports)

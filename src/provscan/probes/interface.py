"""The probe seam.

A probe decides whether it applies to an open port and, when run, talks to the device
through a :class:`ProbeContext` owned by the scheduler. Probes never open sockets, pools
or threads of their own: every connection goes through ``ctx.connect`` so that the global
and per-host limits, deadlines, rate and byte caps hold for all of them.

Probes return observations (raw facts). Interpretation is the fingerprints' job. The
connection types and failures come from the transport seam (:mod:`provscan.transport`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Protocol

from provscan.model import Observation
from provscan.transport.interface import (
    ProbeClosed,
    ProbeError,
    ProbeMalformed,
    ProbeRefused,
    ProbeTimeout,
    Stream,
)
from provscan.transport.limits import ScanLimits


class ProbePartial(ProbeError):
    """A later step of a probe failed after an earlier one answered (RTSP: OPTIONS answered,
    DESCRIBE did not). The attempt keeps ``observations``, what the earlier steps saw, and
    takes the status of ``cause``, the failure of the step that failed; the message says
    both."""

    def __init__(
        self, message: str, observations: Sequence[Observation], cause: ProbeError
    ) -> None:
        super().__init__(message)
        self.observations = tuple(observations)
        self.cause = cause


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
        be returned rather than raised, or raised with :class:`ProbePartial` when a step
        that failed must show in the attempt's status.
        """


__all__ = [
    "Probe",
    "ProbeClosed",
    "ProbeContext",
    "ProbeError",
    "ProbeMalformed",
    "ProbePartial",
    "ProbeRefused",
    "ProbeTimeout",
    "Stream",
]

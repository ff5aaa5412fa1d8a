"""The observer seam: the scan core emits events, front ends listen.

The core (scheduler, pipeline, passive analysis) calls a :class:`ScanObserver` and never
imports a front end. The CLI picks the listener (``report/events.py``: a rich progress bar
when stderr is a terminal, :class:`NullObserver` otherwise); a web live view would be another
implementation. This module is at the bottom of the layers so that the core can depend on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from provscan.model import Device, ProbeAttempt, ScanInfo, ScanResult


class ScanObserver(Protocol):
    """What the scan core reports while it runs. Every method is optional (no-op default).

    Implementations subclass this protocol to inherit the defaults. Methods may be called
    from the scheduler's worker context, so they must be quick and must not raise.
    """

    # The explicit ``return None`` bodies matter: mypy treats a protocol method whose body is
    # only a docstring as abstract, which would make every listener implement all of them.

    def scan_started(self, info: ScanInfo, total_hosts: int) -> None:
        """The scan begins; ``total_hosts`` addresses will be tried."""
        return None

    def host_started(self, ip: str) -> None:
        """Work on one host begins."""
        return None

    def port_open(self, ip: str, port: int) -> None:
        """A port answered the connect scan."""
        return None

    def probe_done(self, ip: str, attempt: ProbeAttempt) -> None:
        """One probe finished on one port, successfully or not."""
        return None

    def host_done(self, ip: str, device: Device | None) -> None:
        """A host is finished; ``device`` is None when it had no open port."""
        return None

    def hosts_empty(self, ips: Sequence[str]) -> None:
        """Many hosts finished with no open port at once (the sweep reports them in batches):
        by default one :meth:`host_done` each; a progress display advances once, so that its
        speed and time-left estimate see the batch's real pace, not a burst of updates."""
        for ip in ips:
            self.host_done(ip, None)

    def scan_stopping(self) -> None:
        """A stop was requested (Ctrl-C): no new host starts, hosts in progress are cut short."""
        return None

    def scan_done(self, result: ScanResult) -> None:
        """The scan is over (complete or cut short)."""
        return None


class NullObserver(ScanObserver):
    """Listens to nothing: for scripts, tests and non-interactive runs."""

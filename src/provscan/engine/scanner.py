"""The scheduler: the only owner of concurrency, deadlines and rate.

For every host: TCP connect to each port, then run every applicable probe on each open
port (each probe job holds one per-host slot and one global slot), then attribute and
judge. Hosts are processed by a fixed pool of workers pulling from a lazy target
iterator, so memory stays bounded for large ranges.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from provscan import __version__
from provscan.attribution.attribute import Attributor
from provscan.discovery.interface import DiscoveredHost
from provscan.engine.connection import (
    BoundedStream,
    Connector,
    HostProbeContext,
    RateLimiter,
    open_bounded,
)
from provscan.engine.limits import ScanLimits
from provscan.knowledge.schema import Policy
from provscan.model import AttemptStatus, Device, Observation, ProbeAttempt, ScanInfo, ScanResult
from provscan.policy.evaluate import judge
from provscan.probes.interface import (
    Probe,
    ProbeClosed,
    ProbeError,
    ProbeMalformed,
    ProbeRefused,
    ProbeTimeout,
)
from provscan.report.events import NullObserver, ScanObserver


class DeviceCheck(Protocol):
    """Plans probe jobs from an attributed device (run after judging, on the same limits)."""

    def plan(self, device: Device) -> list[tuple[Probe, int]]: ...


#: Stages tried in order on an open port where no specific probe saw anything.
FALLBACK_STAGES: tuple[tuple[str, ...], ...] = (("banner",), ("http",), ("tls", "https"))
FALLBACK_NAMES = frozenset({"banner"})

_STATUS_FOR_ERROR: dict[type[ProbeError], AttemptStatus] = {
    ProbeTimeout: AttemptStatus.TIMEOUT,
    ProbeRefused: AttemptStatus.REFUSED,
    ProbeClosed: AttemptStatus.CLOSED,
    ProbeMalformed: AttemptStatus.MALFORMED,
}


@dataclass(frozen=True)
class ScanRequest:
    targets: Iterable[tuple[str, str | None]]
    target_specs: tuple[str, ...]
    ports: tuple[int, ...]
    policies: tuple[Policy, ...]
    total_hosts: int
    limits: ScanLimits = field(default_factory=ScanLimits)
    kind: str = "active"
    #: What discovery saw, by address: merged into each host's evidence; a host that only
    #: answered discovery (no open port) is still a device.
    discovered: Mapping[str, DiscoveredHost] = field(default_factory=dict)
    #: Scan-level notes (the discovery summary and its error counts).
    notes: tuple[str, ...] = ()


class Scanner:
    def __init__(
        self,
        probes: Sequence[Probe],
        attributor: Attributor,
        observer: ScanObserver | None = None,
        device_checks: Sequence[DeviceCheck] = (),
    ) -> None:
        self.probes = sorted(probes, key=lambda p: p.order)
        #: Checks planned from the attributed device (e.g. documented default accounts).
        self.device_checks = tuple(device_checks)
        self._by_name = {p.name: p for p in self.probes}
        self.attributor = attributor
        self.observer: ScanObserver = observer or NullObserver()

    # -- planning -------------------------------------------------------------------------

    def plan(self, port: int, address: str | None = None) -> list[Probe]:
        """Probes specific to a port (and willing to run on ``address``); they run concurrently."""
        return [
            p
            for p in self.probes
            if p.name not in FALLBACK_NAMES
            and p.applies_to(port)
            and (address is None or p.applies_to_host(address))
        ]

    def fallback(self) -> list[list[Probe]]:
        """Stages tried one after another on a port where the specific probes saw nothing
        (or that none claims): a banner, then plain HTTP, then TLS and HTTPS."""
        return [
            [self._by_name[name] for name in stage if name in self._by_name]
            for stage in FALLBACK_STAGES
        ]

    # -- execution ------------------------------------------------------------------------

    async def run(self, request: ScanRequest) -> ScanResult:
        limits = request.limits
        started = datetime.now(UTC)
        info = ScanInfo(
            scan_id=str(uuid.uuid4()),
            kind=request.kind,
            started_at=started,
            finished_at=None,
            targets=request.target_specs,
            ports=request.ports,
            policies=tuple(p.id for p in request.policies),
            tool_version=__version__,
            notes=request.notes,
        )
        self.observer.scan_started(info, request.total_hosts)
        global_slots = asyncio.Semaphore(limits.global_connection_limit)
        rate = RateLimiter(limits.rate_per_second)
        devices: list[Device] = []
        counters = {"scanned": 0, "responding": 0}
        iterator: Iterator[tuple[str, str | None]] = iter(request.targets)
        complete = True

        async def worker() -> None:
            for address, hostname in iterator:
                device = await self._scan_host(address, hostname, request, global_slots, rate)
                counters["scanned"] += 1
                if device is not None:
                    counters["responding"] += 1
                    devices.append(device)

        workers = max(
            1, min(limits.global_connection_limit // limits.per_host_connection_limit, 256)
        )
        try:
            await asyncio.gather(*(worker() for _ in range(workers)))
        except asyncio.CancelledError:
            complete = False
            raise
        finally:
            # Interrupted or not, the scan ends here: listeners hear of it, marked incomplete.
            devices.sort(key=lambda d: _address_key(d.ip))
            info = dataclasses.replace(
                info,
                finished_at=datetime.now(UTC),
                hosts_scanned=counters["scanned"],
                hosts_responding=counters["responding"],
                complete=complete,
            )
            result = ScanResult(info, tuple(devices))
            self.observer.scan_done(result)
        return result

    async def _scan_host(
        self,
        address: str,
        hostname: str | None,
        request: ScanRequest,
        global_slots: asyncio.Semaphore,
        rate: RateLimiter,
    ) -> Device | None:
        limits = request.limits
        self.observer.host_started(address)
        host_slots = asyncio.Semaphore(limits.per_host_connection_limit)
        open_ports: dict[int, str] = {}
        attempts: list[ProbeAttempt] = []
        notes: list[str] = []

        async def connect(
            addr: str, port: int, *, tls: bool = False, server_hostname: str | None = None
        ) -> BoundedStream:
            await rate.wait()
            return await open_bounded(
                addr, port, limits, tls=tls, server_hostname=server_hostname or hostname
            )

        async def check_port(port: int) -> None:
            async with host_slots, global_slots:
                try:
                    stream = await connect(address, port)
                except ProbeError:
                    return
                await stream.close()
            open_ports[port] = ""
            self.observer.port_open(address, port)

        async def run_stage(port: int, stage: list[Probe]) -> bool:
            found = await asyncio.gather(
                *(
                    self._run_probe(
                        probe, address, port, limits, connect, open_ports, host_slots, global_slots
                    )
                    for probe in stage
                )
            )
            for attempt in found:
                attempts.append(attempt)
                self.observer.probe_done(address, attempt)
            return any(attempt.observations for attempt in found)

        async def run_port(port: int) -> None:
            tried = {p.name for p in self.plan(port)}
            if await run_stage(port, self.plan(port, address)):
                return
            for stage in self.fallback():
                fresh = [p for p in stage if p.name not in tried]
                if fresh and await run_stage(port, fresh):
                    return

        host_started = time.monotonic()
        timed_out = False
        try:
            async with asyncio.timeout(limits.per_host_deadline_s):
                await asyncio.gather(*(check_port(p) for p in request.ports))
                if open_ports:
                    await asyncio.gather(*(run_port(port) for port in sorted(open_ports)))
        except TimeoutError:
            timed_out = True
            notes.append(
                f"host deadline of {limits.per_host_deadline_s:.0f}s reached after "
                f"{time.monotonic() - host_started:.1f}s: results are incomplete"
            )

        discovered = request.discovered.get(address)
        answered_discovery = discovered is not None and discovered.protocols != ("arp",)
        if not open_ports and not answered_discovery:
            self.observer.host_done(address, None)
            return None
        if discovered is not None:
            notes.extend(discovered.notes)
            notes.append(f"discovery: {', '.join(discovered.protocols)}")
        attribution = self.attributor.attribute(
            address,
            sorted(open_ports),
            attempts,
            hostname=hostname,
            mac=discovered.mac if discovered else None,
            extra_observations=discovered.observations if discovered else (),
        )
        device = judge(attribution.device, request.policies)
        device = await self._run_device_checks(
            device, limits, connect, open_ports, host_slots, global_slots
        )
        if notes or timed_out:
            device = dataclasses.replace(device, notes=(*device.notes, *notes))
        self.observer.host_done(address, device)
        return device

    async def _run_device_checks(
        self,
        device: Device,
        limits: ScanLimits,
        connect: Connector,
        open_ports: dict[int, str],
        host_slots: asyncio.Semaphore,
        global_slots: asyncio.Semaphore,
    ) -> Device:
        """Run the checks that need the attributed identity; their attempts join the device's."""
        jobs = [job for check in self.device_checks for job in check.plan(device)]
        if not jobs:
            return device
        attempts: list[ProbeAttempt] = []
        try:
            async with asyncio.timeout(limits.per_host_deadline_s):
                for probe, port in jobs:  # one after another: never parallel logins
                    attempt = await self._run_probe(
                        probe,
                        device.ip,
                        port,
                        limits,
                        connect,
                        open_ports,
                        host_slots,
                        global_slots,
                    )
                    attempts.append(attempt)
                    self.observer.probe_done(device.ip, attempt)
        except TimeoutError:
            pass
        return dataclasses.replace(device, attempts=(*device.attempts, *attempts))

    async def _run_probe(
        self,
        probe: Probe,
        address: str,
        port: int,
        limits: ScanLimits,
        connect: Connector,
        open_ports: dict[int, str],
        host_slots: asyncio.Semaphore,
        global_slots: asyncio.Semaphore,
    ) -> ProbeAttempt:
        ctx = HostProbeContext(address, port, limits, connect=connect, open_ports=open_ports)
        started = time.monotonic()
        status = AttemptStatus.OK
        error = ""
        observations: list[Observation] = []
        async with host_slots, global_slots:
            try:
                async with asyncio.timeout(limits.per_connection_deadline_s * 2):
                    observations = await probe.run(ctx)
            except ProbeError as exc:
                status = _STATUS_FOR_ERROR.get(type(exc), AttemptStatus.ERROR)
                error = str(exc) or type(exc).__name__
            except TimeoutError:
                status = AttemptStatus.TIMEOUT
                error = "probe deadline reached"
            except (OSError, ValueError, UnicodeError, EOFError) as exc:
                # A hostile reply must never end the scan: record it and go on.
                status = AttemptStatus.ERROR
                error = f"{type(exc).__name__}: {exc}"
        return ProbeAttempt(
            probe=probe.name,
            port=port,
            status=status,
            observations=tuple(observations),
            error=error[:300],
            elapsed_s=round(time.monotonic() - started, 3),
        )


def _address_key(ip: str) -> tuple[int, int]:
    address = ipaddress.ip_address(ip)
    return (address.version, int(address))

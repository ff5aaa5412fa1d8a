"""The scheduler: the only owner of concurrency, deadlines and rate.

For every host: TCP connect to each port, then run every applicable probe on each open
port (each probe job holds one per-host slot and one global slot), then hand the host's
evidence to the identification stage it was given (``identify``; the scheduler itself knows
nothing of makers or policies) and run the checks planned from the identified device. Hosts
are processed by a fixed pool of workers pulling from a lazy target
iterator, so memory stays bounded for large ranges.

A scan can be stopped (``stop`` event, set on Ctrl-C): no new host starts, hosts in progress
are cut short and keep what they learned, their unfinished probes become ``error`` attempts
whose message starts with ``cancelled``, and the result is marked incomplete.

With a sweep engine (``ScanRequest.sweep``, :mod:`provscan.engine.sweep`) the ports are found
first by a batched sweep in a worker thread; only hosts with an open port (or with evidence
from discovery) reach the workers, which then skip their own connect checks.

Host-level probes (:class:`HostProbe`: the opt-in SNMP GET over UDP 161) are asked once
per target host beside its TCP work; with them every swept host reaches a worker, and a
host that answers only them is a device with no open port.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from provscan import __version__
from provscan.engine.connection import (
    BoundedStream,
    Connector,
    HostProbeContext,
    RateLimiter,
    ResetAfterConnect,
)
from provscan.engine.sweep import Sweeper, SweptHost, sweep_limits
from provscan.events import NullObserver, ScanObserver
from provscan.interlock import outside_interlock
from provscan.knowledge.schema import Policy
from provscan.model import (
    AttemptStatus,
    Device,
    HostEvidence,
    Observation,
    ProbeAttempt,
    ScanInfo,
    ScanResult,
    address_sort_key,
)
from provscan.probes.interface import (
    Probe,
    ProbeClosed,
    ProbeError,
    ProbeMalformed,
    ProbePartial,
    ProbeRefused,
    ProbeTimeout,
)
from provscan.transport.limits import ScanLimits
from provscan.transport.sweep import ConnectionSpacing
from provscan.transport.tcp import open_bounded

_T = TypeVar("_T")


#: The identification stage as the scheduler sees it: evidence in, judged device out.
IdentifyHost = Callable[[HostEvidence], Device]


class DeviceCheck(Protocol):
    """Plans probe jobs from an attributed device (run after judging, on the same limits)."""

    def plan(self, device: Device) -> list[tuple[Probe, int]]: ...


class HostProbe(Protocol):
    """A probe asked once per target host, not per open port (SNMP over UDP 161).

    The scheduler runs it beside the host's TCP work, at the scan's rate, holding one global
    slot, and records one attempt on ``port``; a host that answers only it is a device.
    """

    name: str
    port: int
    #: How long the probe waits for its reply (the scheduler allows a little more).
    wait_s: float

    def applies_to_host(self, address: str) -> bool: ...

    async def query(self, address: str) -> list[Observation]: ...


#: Time a host-level probe may take beyond its own reply wait before it is cut off.
HOST_PROBE_GRACE_S = 0.5

#: Stages tried in order on an open port where no specific probe saw anything.
FALLBACK_STAGES: tuple[tuple[str, ...], ...] = (("banner",), ("http",), ("tls", "https"))
FALLBACK_NAMES = frozenset({"banner"})

#: The error of an attempt cut short by a stop request (the contract has no status for it,
#: so it is an ``error`` whose message says so).
CANCELLED_ERROR = "cancelled: the scan was interrupted before this probe finished"
#: The error of an attempt still running when its host's deadline was reached.
HOST_DEADLINE_ERROR = "host deadline reached before this probe finished"

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
    #: What other inputs (discovery) learned, by address: merged into each host's evidence;
    #: a host that answered them (``answered``) is a device even with no open port.
    prior: Mapping[str, HostEvidence] = field(default_factory=dict)
    #: Scan-level notes (the discovery summary and its error counts).
    notes: tuple[str, ...] = ()
    #: The sweep engine that finds open ports before probing (None: each host's own connects).
    sweep: Sweeper | None = None


#: Hosts with open ports the sweep may hand over before a worker has taken them (memory bound).
SWEEP_HANDOFF_LIMIT = 1024
#: Hosts with nothing open are reported to listeners in batches of at most this many.
SWEEP_REPORT_BATCH = 512


class Scanner:
    def __init__(
        self,
        probes: Sequence[Probe],
        identify: IdentifyHost,
        observer: ScanObserver | None = None,
        device_checks: Sequence[DeviceCheck] = (),
        host_probes: Sequence[HostProbe] = (),
    ) -> None:
        self.probes = sorted(probes, key=lambda p: p.order)
        #: Probes asked once per target host (opt-in SNMP), with or without open TCP ports.
        self.host_probes = tuple(host_probes)
        #: Checks planned from the attributed device (e.g. documented default accounts).
        self.device_checks = tuple(device_checks)
        self._by_name = {p.name: p for p in self.probes}
        self.identify = identify
        self.observer: ScanObserver = observer or NullObserver()
        #: The thread identification runs on during :meth:`run` (one: identifications never
        #: overlap, so the identifier's memos need no lock). Off the event loop, a slow one (the
        #: first of a process compiles the rules; a host with a thousand observations) no
        #: longer holds up the probes other hosts have in flight until their timeouts expire.
        self._identifying: concurrent.futures.ThreadPoolExecutor | None = None

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

    async def run(self, request: ScanRequest, stop: asyncio.Event | None = None) -> ScanResult:
        """Scan every target; when ``stop`` is set, return early with what was learned."""
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
        # One rate budget for the scan: the sweep thread and the probes draw on it together.
        spacing = ConnectionSpacing(limits.rate_per_second)
        rate = RateLimiter(spacing=spacing)
        devices: list[Device] = []
        counters = {"scanned": 0, "responding": 0, "cut_short": 0}
        iterator: Iterator[tuple[str, str | None]] = iter(request.targets)
        complete = True
        feed = _SweepFeed(self, request, stop, spacing) if request.sweep is not None else None

        async def next_target() -> tuple[str, str | None, tuple[int, ...] | None] | None:
            if feed is not None:
                host = await feed.next_host()
                return None if host is None else (host.address, host.hostname, host.open_ports)
            target = next(iterator, None)
            return None if target is None else (*target, None)

        async def worker() -> None:
            while stop is None or not stop.is_set():
                target = await next_target()
                if target is None:
                    return
                address, hostname, known_open = target
                device, cut_short = await self._scan_host(
                    address, hostname, request, global_slots, rate, stop, known_open
                )
                counters["scanned"] += 1
                counters["cut_short"] += cut_short
                if device is not None:
                    counters["responding"] += 1
                    devices.append(device)

        workers = max(
            1, min(limits.global_connection_limit // limits.per_host_connection_limit, 256)
        )
        watcher = asyncio.ensure_future(self._announce_stop(stop)) if stop is not None else None
        identifying = self._identifying = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="provscan-identify"
        )
        try:
            if feed is not None:
                feed.start(counters)
            await asyncio.gather(*(worker() for _ in range(workers)))
            if feed is not None:
                await feed.finish()
        except asyncio.CancelledError:
            complete = False
            raise
        finally:
            if watcher is not None:
                watcher.cancel()
            self._identifying = None
            identifying.shutdown(wait=False)  # an identification under way ends on its own
            if feed is not None:
                await feed.close()
            notes = info.notes
            if feed is not None and feed.failed:
                notes = (*notes, feed.failed_note())
            if stop is not None and stop.is_set():
                # Stopped on request: every host that started is in the result, cut short or not.
                rest_done = feed.done if feed is not None else next(iterator, None) is None
                complete = complete and not counters["cut_short"] and rest_done
                if not complete:
                    notes = (*notes, _interrupted_note(counters, request.total_hosts))
            # Interrupted or not, the scan ends here: listeners hear of it, marked incomplete.
            devices.sort(key=lambda d: address_sort_key(d.ip))
            info = dataclasses.replace(
                info,
                finished_at=datetime.now(UTC),
                hosts_scanned=counters["scanned"],
                hosts_responding=counters["responding"],
                complete=complete,
                notes=notes,
            )
            result = ScanResult(info, tuple(devices))
            self.observer.scan_done(result)
        return result

    async def _announce_stop(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self.observer.scan_stopping()

    async def _scan_host(
        self,
        address: str,
        hostname: str | None,
        request: ScanRequest,
        global_slots: asyncio.Semaphore,
        rate: RateLimiter,
        stop: asyncio.Event | None = None,
        known_open: tuple[int, ...] | None = None,
    ) -> tuple[Device | None, bool]:
        """One host: ``(device or None, whether a stop request cut it short)``.

        ``known_open``: the ports the sweep found open (the host's own connects are skipped).
        """
        limits = request.limits
        self.observer.host_started(address)
        host_slots = asyncio.Semaphore(limits.per_host_connection_limit)
        open_ports: dict[int, str] = {}
        attempts: list[ProbeAttempt] = []
        #: Probes started and not finished, by (probe name, port): their start time. What is
        #: left here when the host is cut short becomes an attempt, so nothing is dropped.
        running: dict[tuple[str, int], float] = {}
        notes: list[str] = []
        #: The host-level probes' attempts (one each), kept after the port attempts.
        host_attempts: list[ProbeAttempt] = []

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
                except ResetAfterConnect:
                    pass  # a listener accepted, then reset: the port is open
                except ProbeError:
                    return
                else:
                    await stream.close()
            open_ports[port] = ""
            self.observer.port_open(address, port)

        async def run_stage(port: int, stage: list[Probe]) -> bool:
            done: list[ProbeAttempt | None] = [None] * len(stage)

            async def one(index: int, probe: Probe) -> None:
                running[(probe.name, port)] = time.monotonic()
                attempt = await self._run_probe(
                    probe, address, port, limits, connect, open_ports, host_slots, global_slots
                )
                running.pop((probe.name, port), None)  # emptied by _unfinished if cut short
                done[index] = attempt
                self.observer.probe_done(address, attempt)

            try:
                await asyncio.gather(*(one(i, probe) for i, probe in enumerate(stage)))
            finally:
                # In stage order, also when cut short: the attempts that did finish are kept.
                attempts.extend(attempt for attempt in done if attempt is not None)
            return any(attempt and attempt.observations for attempt in done)

        async def run_port(port: int) -> None:
            tried = {p.name for p in self.plan(port)}
            if await run_stage(port, self.plan(port, address)):
                return
            for stage in self.fallback():
                fresh = [p for p in stage if p.name not in tried]
                if fresh and await run_stage(port, fresh):
                    return

        async def probe_ports() -> None:
            if known_open is None:
                await asyncio.gather(*(check_port(p) for p in request.ports))
            else:
                for port in known_open:
                    open_ports[port] = ""
                    self.observer.port_open(address, port)
            if open_ports:
                await asyncio.gather(*(run_port(port) for port in sorted(open_ports)))

        async def run_host_probe(probe: HostProbe) -> None:
            running[(probe.name, probe.port)] = time.monotonic()
            attempt = await self._run_host_probe(probe, address, rate, global_slots)
            running.pop((probe.name, probe.port), None)  # emptied by _unfinished if cut short
            host_attempts.append(attempt)
            self.observer.probe_done(address, attempt)

        # Only addresses of the target set reach here; the interlock is checked again
        # before any datagram (defence in depth, as the sweep does).
        asked = [
            probe
            for probe in self.host_probes
            if probe.applies_to_host(address) and not outside_interlock(address)
        ]

        async def probe_host() -> None:
            await asyncio.gather(probe_ports(), *(run_host_probe(p) for p in asked))

        host_started = time.monotonic()
        timed_out = False
        cut_short = False
        try:
            async with asyncio.timeout(limits.per_host_deadline_s):
                cut_short = await unless_stopped(probe_host(), stop) is None
        except TimeoutError:
            timed_out = True
            attempts.extend(_unfinished(running, AttemptStatus.TIMEOUT, HOST_DEADLINE_ERROR))
            notes.append(
                f"host deadline of {limits.per_host_deadline_s:.0f}s reached after "
                f"{time.monotonic() - host_started:.1f}s: results are incomplete"
            )
        if cut_short:
            attempts.extend(_unfinished(running, AttemptStatus.ERROR, CANCELLED_ERROR))
            attempts.extend(self._never_started(address, open_ports, attempts))
            finished = {attempt.probe for attempt in (*attempts, *host_attempts)}
            host_attempts.extend(
                ProbeAttempt(probe.name, probe.port, AttemptStatus.ERROR, error=CANCELLED_ERROR)
                for probe in asked
                if probe.name not in finished
            )
            notes.append("scan interrupted before this host was finished: results are incomplete")

        prior = request.prior.get(address)
        answered_host_probes = [a for a in host_attempts if a.observations]
        if (
            not open_ports
            and not (prior is not None and prior.answered)
            and not answered_host_probes
        ):
            self.observer.host_done(address, None)
            return None, cut_short
        if not open_ports:
            notes.extend(f"answered {a.probe.upper()} (UDP {a.port})" for a in answered_host_probes)
        if prior is not None:
            notes.extend(prior.notes)
        evidence = HostEvidence(
            address,
            tuple(sorted(open_ports)),
            (*attempts, *host_attempts),
            observations=prior.observations if prior else (),
            mac=prior.mac if prior else None,
            hostname=hostname,
        )
        if self._identifying is None:  # a host scanned outside run()
            device = self.identify(evidence)
        else:
            loop = asyncio.get_running_loop()
            device = await loop.run_in_executor(self._identifying, self.identify, evidence)
        if not cut_short:
            device, cut_short = await self._run_device_checks(
                device, limits, connect, open_ports, host_slots, global_slots, stop
            )
            if cut_short:
                notes.append("scan interrupted during the device checks: results are incomplete")
        if notes or timed_out:
            device = dataclasses.replace(device, notes=(*device.notes, *notes))
        self.observer.host_done(address, device)
        return device, cut_short

    def _never_started(
        self, address: str, open_ports: Mapping[int, str], attempts: Sequence[ProbeAttempt]
    ) -> list[ProbeAttempt]:
        """Cancelled attempts for the open ports a stop reached before any probe ran on them."""
        probed = {attempt.port for attempt in attempts}
        cancelled = []
        for port in sorted(set(open_ports) - probed):
            for probe in self.plan(port, address) or self.fallback()[0]:
                cancelled.append(
                    ProbeAttempt(probe.name, port, AttemptStatus.ERROR, error=CANCELLED_ERROR)
                )
        return cancelled

    async def _run_device_checks(
        self,
        device: Device,
        limits: ScanLimits,
        connect: Connector,
        open_ports: dict[int, str],
        host_slots: asyncio.Semaphore,
        global_slots: asyncio.Semaphore,
        stop: asyncio.Event | None = None,
    ) -> tuple[Device, bool]:
        """Run the checks that need the attributed identity; their attempts join the device's.

        Returns the device and whether a stop request cut the checks short.
        """
        jobs = [job for check in self.device_checks for job in check.plan(device)]
        if not jobs:
            return device, False
        attempts: list[ProbeAttempt] = []
        running: dict[tuple[str, int], float] = {}
        waiting = list(reversed(jobs))

        async def run_jobs() -> None:
            while waiting:  # one after another: never parallel logins
                probe, port = waiting.pop()
                running[(probe.name, port)] = time.monotonic()
                attempt = await self._run_probe(
                    probe, device.ip, port, limits, connect, open_ports, host_slots, global_slots
                )
                running.pop((probe.name, port), None)  # emptied by _unfinished if cut short
                attempts.append(attempt)
                self.observer.probe_done(device.ip, attempt)

        cut_short = False
        try:
            async with asyncio.timeout(limits.per_host_deadline_s):
                cut_short = await unless_stopped(run_jobs(), stop) is None
        except TimeoutError:
            attempts.extend(_unfinished(running, AttemptStatus.TIMEOUT, HOST_DEADLINE_ERROR))
        if cut_short:
            attempts.extend(_unfinished(running, AttemptStatus.ERROR, CANCELLED_ERROR))
            attempts.extend(
                ProbeAttempt(probe.name, port, AttemptStatus.ERROR, error=CANCELLED_ERROR)
                for probe, port in reversed(waiting)
            )
        return dataclasses.replace(device, attempts=(*device.attempts, *attempts)), cut_short

    async def _run_host_probe(
        self,
        probe: HostProbe,
        address: str,
        rate: RateLimiter,
        global_slots: asyncio.Semaphore,
    ) -> ProbeAttempt:
        """One host-level probe's query under the scan's rate, one global slot and its own
        short deadline; silence is a ``timeout`` attempt."""
        started = time.monotonic()
        status = AttemptStatus.OK
        error = ""
        observations: list[Observation] = []
        async with global_slots:
            await rate.wait()
            try:
                async with asyncio.timeout(probe.wait_s + HOST_PROBE_GRACE_S):
                    observations = await probe.query(address)
            except TimeoutError:
                status = AttemptStatus.TIMEOUT
                error = "probe deadline reached"
            except (OSError, ValueError, UnicodeError, EOFError) as exc:
                status = AttemptStatus.ERROR
                error = f"{type(exc).__name__}: {exc}"
        if status is AttemptStatus.OK and not observations:
            status = AttemptStatus.TIMEOUT
            error = f"no reply within {probe.wait_s:g}s"
        return ProbeAttempt(
            probe=probe.name,
            port=probe.port,
            status=status,
            observations=tuple(observations),
            error=error[:300],
            elapsed_s=round(time.monotonic() - started, 3),
        )

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
                failure = exc
                if isinstance(exc, ProbePartial):
                    # An earlier step answered: its observations stay, the failure's status
                    observations, failure = list(exc.observations), exc.cause
                status = next(
                    (_STATUS_FOR_ERROR[k] for k in type(failure).__mro__ if k in _STATUS_FOR_ERROR),
                    AttemptStatus.ERROR,
                )
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


class _SweepFeed:
    """Runs the sweep in a worker thread and feeds the hosts worth probing to the workers.

    Hosts with nothing open (and no discovery evidence) are only counted and reported to the
    listeners in batches. At most :data:`SWEEP_HANDOFF_LIMIT` hosts wait for a worker: the
    sweep thread waits when they are all taken, so memory stays bounded.
    """

    def __init__(
        self,
        scanner: Scanner,
        request: ScanRequest,
        stop: asyncio.Event | None,
        spacing: ConnectionSpacing,
    ) -> None:
        assert request.sweep is not None
        self._spacing = spacing
        self._scanner = scanner
        self._request = request
        self._stop = stop
        self._halt = threading.Event()
        self._room = threading.Semaphore(SWEEP_HANDOFF_LIMIT)
        self._queue: asyncio.Queue[SweptHost | None] = asyncio.Queue()
        self._thread: asyncio.Future[None] | None = None
        self._error: BaseException | None = None
        self._halt_task: asyncio.Future[None] | None = None
        #: Hosts handed over and not yet taken by a worker.
        self._waiting = 0
        #: Whether the sweep went through every target (not halted, not failed).
        self.swept_all = False
        #: Connections the local system could not try (out of ports or descriptors).
        self.failed = 0

    @property
    def done(self) -> bool:
        """Every target was swept and every host handed over was taken by a worker."""
        return self.swept_all and self._waiting == 0

    def start(self, counters: dict[str, int]) -> None:
        loop = asyncio.get_running_loop()
        observer = self._scanner.observer

        def report_empty(batch: list[str], failed: int) -> None:
            counters["scanned"] += len(batch)
            self.failed += failed
            if batch:
                observer.hosts_empty(batch)

        def hand_over(host: SweptHost) -> None:
            self._waiting += 1
            self._queue.put_nowait(host)

        request = self._request
        asks_every_host = bool(self._scanner.host_probes)

        def probed(host: SweptHost) -> bool:
            """Whether the host goes to a probe worker; the others are only counted."""
            # With host-level probes (SNMP) every swept host is asked, open or not.
            return bool(host.open_ports) or host.address in request.prior or asks_every_host

        def produce() -> None:
            assert request.sweep is not None
            empty: list[str] = []
            failed = 0
            last_report = time.monotonic()
            try:
                for host in request.sweep(
                    request.targets,
                    request.ports,
                    sweep_limits(request.limits),
                    stop=self._halt.is_set,
                    spacing=self._spacing,
                    probed=probed,
                ):
                    failed += host.failed
                    if probed(host):
                        while not self._room.acquire(timeout=0.2):
                            if self._halt.is_set():
                                return
                        loop.call_soon_threadsafe(hand_over, host)
                        continue
                    empty.append(host.address)
                    now = time.monotonic()
                    if len(empty) >= SWEEP_REPORT_BATCH or now - last_report > 0.25:
                        loop.call_soon_threadsafe(report_empty, empty, failed)
                        empty, failed, last_report = [], 0, now
                self.swept_all = not self._halt.is_set()
            except Exception as exc:  # handed to the event loop, raised from ``finish``
                self._error = exc
            finally:
                loop.call_soon_threadsafe(report_empty, empty, failed)
                loop.call_soon_threadsafe(hand_over_end)

        def hand_over_end() -> None:
            self._queue.put_nowait(None)

        self._thread = asyncio.ensure_future(asyncio.to_thread(produce))
        if self._stop is not None:
            stop = self._stop

            async def halt_on_stop() -> None:
                await stop.wait()
                self._halt.set()

            self._halt_task = asyncio.ensure_future(halt_on_stop())

    async def next_host(self) -> SweptHost | None:
        """The next host to probe, or None when the sweep is over (or was stopped)."""
        host = await self._queue.get()
        if host is None:
            self._queue.put_nowait(None)  # for the other workers
            return None
        self._waiting -= 1
        self._room.release()
        return host

    async def finish(self) -> None:
        """Wait for the sweep thread; raise what it raised."""
        if self._thread is not None:
            await self._thread
        if self._error is not None:
            raise self._error

    async def close(self) -> None:
        """Stop the sweep thread (idempotent) and let its last reports reach the listeners."""
        self._halt.set()
        if self._halt_task is not None:
            self._halt_task.cancel()
        if self._thread is not None and not self._thread.done():
            await asyncio.wait((self._thread,))
        await asyncio.sleep(0)  # run the reports the thread scheduled last

    def failed_note(self) -> str:
        return (
            f"sweep: {self.failed} connection(s) could not be tried (the local system ran out "
            "of ports or descriptors): those ports are not known to be closed"
        )


async def unless_stopped(
    work: Coroutine[Any, Any, _T], stop: asyncio.Event | None
) -> tuple[_T] | None:
    """``(result,)`` of ``work``, or None when ``stop`` is set first (``work`` is cancelled
    and has unwound when this returns, or never starts if ``stop`` was already set).

    The work runs as its own task so that cancelling it on a stop request never touches
    the caller's own cancellation (a host deadline), which still propagates as usual.
    """
    if stop is None:
        return (await work,)
    if stop.is_set():
        work.close()
        return None
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait((task, stopped), return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        if not task.done():
            task.cancel()
            # Let it unwind (probes close their connections) before the caller goes on.
            await asyncio.wait((task,))
    if task.cancelled():
        return None
    return (task.result(),)  # or the work's own error


def _unfinished(
    running: dict[tuple[str, int], float], status: AttemptStatus, error: str
) -> list[ProbeAttempt]:
    """Attempts for the probes still running when their host was cut short (then forgotten)."""
    now = time.monotonic()
    attempts = [
        ProbeAttempt(name, port, status, error=error, elapsed_s=round(now - started, 3))
        for (name, port), started in sorted(running.items(), key=lambda item: item[0][::-1])
    ]
    running.clear()
    return attempts


def _interrupted_note(counters: Mapping[str, int], total_hosts: int) -> str:
    scanned, cut_short = counters["scanned"], counters["cut_short"]
    return (
        f"interrupted: stopped on request after {scanned} of {total_hosts} hosts "
        f"({cut_short} cut short, {max(total_hosts - scanned, 0)} not scanned); probes cut "
        "short are recorded as errors starting with 'cancelled'"
    )

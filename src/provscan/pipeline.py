"""Assemble the pipeline from its parts. Only this module and the CLI pick concrete classes.

It also owns how a scan run from a terminal reacts to Ctrl-C: the first SIGINT stops the
scan gracefully (what was learned is returned, marked incomplete), a second one raises
KeyboardInterrupt at once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import signal
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Coroutine, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provscan import __version__
from provscan.credentials import CredentialStore
from provscan.discovery.interface import DiscoveryResult
from provscan.discovery.runner import (
    AfterSweep,
    DiscoverySettings,
    discover_for_targets,
    plan_after_sweep,
)
from provscan.engine.scanner import DeviceCheck, Scanner, ScanRequest, unless_stopped
from provscan.engine.sweep import SweepEngine, Sweeper, SweptHost, choose_sweeper, sweep_note
from provscan.events import ScanObserver
from provscan.identify import Identifier
from provscan.knowledge.loader import Knowledge, load_knowledge, load_posture_knowledge
from provscan.model import HostEvidence, ScanInfo, ScanResult, address_sort_key
from provscan.probes.credentialed import credentialed_checks, credentialed_probes
from provscan.probes.credentialed_defaults import DefaultCredentialCheck
from provscan.probes.interface import Probe
from provscan.probes.registry import all_probes, host_probes
from provscan.targets import TargetSet
from provscan.transport.limits import ScanLimits
from provscan.transport.sweep import ConnectionSpacing, SweepLimits

if TYPE_CHECKING:
    # Imported where used: a scan needs neither (start-up time, issue 14).
    from provscan.fingerprints.service_probes import ServiceProbes
    from provscan.importers import ImportFormat
    from provscan.passive import CaptureObserver, TimeWindow

#: Discovery inside a scan: on by default (provscan.discovery.runner says where it goes).
DEFAULT_DISCOVERY = DiscoverySettings()
#: Discovery after the sweep (:func:`discovering_sweeper`) asks the hosts that answered the
#: sweep in batches: one is sent once it holds this many hosts, or once its first host has
#: waited this long for more (the probes of a held host start when its batch is answered).
AFTER_SWEEP_BATCH = 256
AFTER_SWEEP_GATHER_S = 0.25


def build_probes(knowledge: Knowledge) -> list[Probe]:
    endpoints = knowledge.http_endpoints.endpoints if knowledge.http_endpoints else []
    return all_probes(endpoints)


async def run_scan(
    targets: TargetSet,
    target_specs: Sequence[str],
    ports: Sequence[int],
    *,
    policy_ids: Sequence[str] | None = None,
    limits: ScanLimits | None = None,
    observer: ScanObserver | None = None,
    knowledge: Knowledge | None = None,
    credentials: CredentialStore | None = None,
    check_default_credentials: bool = False,
    posture: bool = True,
    discovery: DiscoverySettings | None = DEFAULT_DISCOVERY,
    stop: asyncio.Event | None = None,
    sweep_engine: SweepEngine | str | None = SweepEngine.auto,
    acting_as: Sequence[str] = (),
    snmp_community: str | None = None,
    service_probes: ServiceProbes | None = None,
) -> ScanResult:
    """Scan, attribute, judge and (unless ``posture`` is False) assess security posture.

    ``service_probes``: nmap's match lines, a fallback for devices no rule attributes
    (:class:`~provscan.identify.Identifier`).

    ``sweep_engine`` finds the open ports of every target before any probe runs
    (:mod:`provscan.engine.sweep`); None lets each host connect to its own ports instead.

    ``credentials`` enables the credentialed probes on the hosts it covers;
    ``check_default_credentials`` tries the documented factory accounts (off by default).
    ``snmp_community`` turns on the read-only SNMP GET (UDP 161) to the named targets.
    Setting ``stop`` ends the scan early with what it learned (``info.complete`` False).
    """
    sweeper: Sweeper | None = None
    sweep_notes: tuple[str, ...] = ()
    if sweep_engine is not None:
        choice = choose_sweeper(
            sweep_engine, targets.size_upper_bound, (limits or ScanLimits()).rate_per_second
        )
        sweeper = choice.sweeper
        note = sweep_note(choice, targets.size_upper_bound)
        sweep_notes = () if note is None else (note,)
    wants_posture = posture or check_default_credentials
    posture_knowledge = None
    if knowledge is None:
        knowledge = load_knowledge()
        if wants_posture:
            # cached, and built on the cached core knowledge (read once per process)
            posture_knowledge = load_posture_knowledge()
    # Discovery first (``discovery=None`` skips it); its replies join each host's evidence.
    # What it cannot reach before the sweep (too many loopback targets, routed ones) is
    # asked after it, only at the hosts that answered it (``after``).
    discovered = DiscoveryResult()
    after: AfterSweep | None = None
    if discovery is not None:
        if sweeper is not None:
            after = plan_after_sweep(targets, discovery)
        discovered = await _discover_unless_stopped(
            discover_for_targets(targets, discovery, after), stop
        )
    prior = prior_evidence(discovered)
    if sweeper is not None and after is not None and after.active:
        sweeper = discovering_sweeper(sweeper, after, prior, asyncio.get_running_loop())
    policies = knowledge.select_policies(list(policy_ids) if policy_ids else None)
    identifier = Identifier(
        knowledge,
        policies,
        posture=wants_posture,
        posture_knowledge=posture_knowledge,
        acting_as=acting_as,
        service_probes=service_probes,
    )
    probes = build_probes(knowledge)
    if credentials:
        probes += credentialed_probes(credentials)
    # The makers' API requests wait for the identified device: only its maker's are sent.
    device_checks: list[DeviceCheck] = list(credentialed_checks(credentials or CredentialStore()))
    if check_default_credentials and identifier.posture_knowledge is not None:
        device_checks.append(DefaultCredentialCheck(identifier.posture_knowledge.default_accounts))
    scanner = Scanner(
        probes,
        identifier.device,
        observer,
        device_checks=device_checks,
        # SNMP only with a community the user supplied: ``snmp_community`` (scan
        # --snmp-community), else PROVSCAN_SNMP_COMMUNITY (decision 0010).
        host_probes=host_probes(snmp_community),
    )
    request = ScanRequest(
        targets=targets,
        target_specs=tuple(target_specs),
        ports=tuple(ports),
        policies=tuple(policies),
        total_hosts=targets.size_upper_bound,
        limits=limits or ScanLimits(),
        prior=prior,
        notes=(*targets.name_notes(), *discovered.notes, *sweep_notes),
        sweep=sweeper,
    )
    result = await scanner.run(request, stop=stop)
    if after is not None and after.notes():
        notes = (*result.info.notes, *after.notes())
        result = dataclasses.replace(result, info=dataclasses.replace(result.info, notes=notes))
    return identifier.finish(result) if posture else identifier.stamp(result)


def discovering_sweeper(
    sweeper: Sweeper,
    after: AfterSweep,
    prior: dict[str, HostEvidence],
    loop: asyncio.AbstractEventLoop,
) -> Sweeper:
    """``sweeper`` with unicast discovery after it for the hosts ``after`` takes.

    The scanner runs the sweep in a worker thread and probes each host it yields. Here the
    hosts with an open port that ``after`` takes are held back, asked in batches
    (:data:`AFTER_SWEEP_BATCH`, :data:`AFTER_SWEEP_GATHER_S`) on the scan's event loop
    ``loop`` while the sweep goes on, and yielded once their batch is answered, its replies
    added to ``prior`` (:func:`prior_evidence`, as discovery before the sweep): the probes
    and the identification of each host see them. Every other host passes straight through,
    so a sweep where no host is taken costs nothing more. The datagrams draw on the sweep's
    ``spacing`` (``--rate``). When the sweep is stopped, the held hosts are dropped (they are
    not scanned: the scan is incomplete anyway).
    """

    def sweep(
        targets: Iterable[tuple[str, str | None]],
        ports: Sequence[int],
        limits: SweepLimits | None = None,
        *,
        stop: Callable[[], bool] | None = None,
        spacing: ConnectionSpacing | None = None,
        probed: Callable[[SweptHost], bool] | None = None,
    ) -> Iterator[SweptHost]:
        try:
            on_the_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            on_the_loop = False
        if on_the_loop:  # waiting here would block the discovery it waits for
            yield from sweeper(targets, ports, limits, stop=stop, spacing=spacing, probed=probed)
            return
        halted = stop or (lambda: False)
        reserve = spacing.reserve if spacing is not None and spacing.interval else None
        held: list[SweptHost] = []
        held_since = 0.0
        asked: deque[tuple[concurrent.futures.Future[DiscoveryResult], list[SweptHost]]] = deque()

        def send() -> None:
            nonlocal held
            batch, held = held, []
            work = after.discover([host.address for host in batch], reserve)
            asked.append((asyncio.run_coroutine_threadsafe(work, loop), batch))

        def answered(
            future: concurrent.futures.Future[DiscoveryResult], batch: list[SweptHost]
        ) -> list[SweptHost]:
            try:
                found = future.result()
            except Exception as exc:  # a socket error: the hosts are scanned without it
                after.failure(len(batch), exc)
            else:
                prior.update(prior_evidence(found))
            return batch

        for host in sweeper(targets, ports, limits, stop=stop, spacing=spacing, probed=probed):
            while asked and asked[0][0].done():
                yield from answered(*asked.popleft())
            if host.open_ports and after.take(host.address):
                if not held:
                    held_since = time.monotonic()
                held.append(host)
            else:
                yield host
            if held and (
                len(held) >= AFTER_SWEEP_BATCH
                or time.monotonic() - held_since >= AFTER_SWEEP_GATHER_S
            ):
                send()
        if held and not halted():
            send()
        while asked:
            future, batch = asked.popleft()
            while not future.done():
                if halted():
                    for waiting, _ in (*asked, (future, batch)):
                        waiting.cancel()
                    return
                concurrent.futures.wait((future,), timeout=0.1)
            yield from answered(future, batch)

    return sweep


def prior_evidence(discovered: DiscoveryResult) -> dict[str, HostEvidence]:
    """Discovery's hosts as evidence the scan merges into each host it probes."""
    return {
        address: HostEvidence(
            host.address,
            observations=host.observations,
            mac=host.mac,
            notes=(*host.notes, f"discovery: {', '.join(host.protocols)}"),
            answered=host.protocols != ("arp",),
        )
        for address, host in discovered.by_address().items()
    }


#: The ports discovery sends to and hears from (a discovery's ``info.ports``).
DISCOVERY_PORTS = (1900, 3702, 5353, 37020, 37810)


def identify_discovered(
    found: DiscoveryResult,
    *,
    started: datetime,
    target_specs: Sequence[str],
    policy_ids: Sequence[str] | None = None,
    acting_as: Sequence[str] = (),
) -> ScanResult:
    """Identify every discovered host (one device record each), posture included."""
    knowledge = load_knowledge()
    policies = knowledge.select_policies(list(policy_ids) if policy_ids else None)
    identifier = Identifier(knowledge, policies, acting_as=acting_as)
    devices = [
        identifier.device(
            HostEvidence(
                host.address,
                observations=host.observations,
                mac=host.mac,
                notes=(*host.notes, f"discovery: {', '.join(host.protocols)}"),
            )
        )
        for host in found.hosts
    ]
    info = ScanInfo(
        scan_id=str(uuid.uuid4()),
        kind="active",  # the contract's kinds: discovery sends probes, so it is active
        started_at=started,
        finished_at=datetime.now(UTC),
        targets=tuple(target_specs),
        ports=DISCOVERY_PORTS,
        policies=tuple(p.id for p in policies),
        tool_version=__version__,
        hosts_scanned=len(found.hosts),
        hosts_responding=len(found.hosts),
        notes=("discovery only: no port scan", *found.notes),
    )
    return identifier.finish(ScanResult(info, tuple(devices)))


async def run_discovery(
    settings: DiscoverySettings,
    *,
    targets: TargetSet | None = None,
    target_specs: Sequence[str] = (),
    policy_ids: Sequence[str] | None = None,
    acting_as: Sequence[str] = (),
) -> ScanResult:
    """Discovery without a port scan (``provscan discover``): unicast to ``targets`` when
    given, else multicast and broadcast on the segments ``settings`` names; then identify."""
    from provscan.discovery.runner import discover_addresses, discover_segments, segments_for

    started = datetime.now(UTC)
    if targets is not None:
        found = await discover_addresses([address for address, _ in targets], settings)
    else:
        found = await discover_segments(segments_for(settings), settings)
    specs = list(target_specs) or [settings.interface or "attached segments"]
    return identify_discovered(
        found, started=started, target_specs=specs, policy_ids=policy_ids, acting_as=acting_as
    )


def run_passive(
    files: Sequence[str],
    *,
    policy_ids: Sequence[str] | None = None,
    knowledge: Knowledge | None = None,
    observer: CaptureObserver | None = None,
    stop: Callable[[], bool] | None = None,
    posture: bool = True,
    acting_as: Sequence[str] = (),
    workers: int = 1,
    service_probes: ServiceProbes | None = None,
    window: TimeWindow | None = None,
) -> ScanResult:
    """Analyse captures and identify every host in them, posture included.

    ``stop()`` turning true ends the analysis between packets (the result is incomplete).
    ``workers=2``: conversations are read in a second process (the same result).
    ``window``: only the packets captured inside it are analysed (``--since``/``--until``).
    """
    from provscan.passive import analyse_captures, fewer_collections

    knowledge = knowledge or load_knowledge()
    policies = knowledge.select_policies(list(policy_ids) if policy_ids else None)
    identifier = Identifier(
        knowledge, policies, posture=posture, acting_as=acting_as, service_probes=service_probes
    )
    with fewer_collections():
        result = analyse_captures(
            files,
            identifier.device,
            policy_ids=[p.id for p in policies],
            knowledge=knowledge,
            observer=observer,
            stop=stop,
            workers=workers,
            window=window,
        )
        return identifier.finish(result)


def run_import(
    files: Sequence[tuple[str, ImportFormat | None]],
    *,
    policy_ids: Sequence[str] | None = None,
    knowledge: Knowledge | None = None,
    posture: bool = True,
    acting_as: Sequence[str] = (),
    service_probes: ServiceProbes | None = None,
    columns: Mapping[str, str] | None = None,
    sheet: str | None = None,
) -> ScanResult:
    """Read what other tools saw (``files``: each path with its format, None to detect it)
    and identify every device in them, posture included. Nothing is sent anywhere; the
    result (kind ``import``) covers no address: an import proves no absence. ``columns``:
    the columns of a table the user named (``ip``, ``mac``, ``maker``, ``model``: a header
    name, a number or a letter, as ``provscan screen`` takes them). ``sheet``: the sheet of
    the XLSX workbooks to read (default: the first)."""
    from provscan.importers import FORMAT_LABELS, ImportFileError, merge_records, read_file
    from provscan.importers.csv_table import WorkbookSheet
    from provscan.importers.interface import MAX_FILE_BYTES, MAX_RECORDS
    from provscan.report.wording import plural
    from provscan.screening.columns import choose_columns, resolve_column, vendor_column
    from provscan.screening.tables import ScreenInputError, read_table

    named = dict(columns or {})

    def product_columns(header: Sequence[str]) -> tuple[int | None, int | None, int | None]:
        chosen = choose_columns(header, brand=named.get("maker"), model=named.get("model"))
        # a register's "Vendor" is the device's maker (screening reads it as the seller)
        brand = chosen.brand if chosen.brand is not None else vendor_column(header, chosen)
        if chosen.all_text and brand is None:
            return (None, None, None)
        return (brand, chosen.model, chosen.description)

    def named_columns(header: Sequence[str]) -> dict[str, int]:
        roles = {"ip": "address", "mac": "mac"}
        return {
            roles[key]: resolve_column(spec, header) for key, spec in named.items() if key in roles
        }

    def workbook(path: Path, header_words: Sequence[str]) -> WorkbookSheet:
        # the reader `provscan screen` uses: bounded, zip bombs and .xls refused, merged cells
        try:
            table = read_table(
                path,
                sheet=sheet,
                max_rows=MAX_RECORDS,
                max_bytes=MAX_FILE_BYTES,
                header_names=header_words,
            )
        except ScreenInputError as exc:
            raise ImportFileError(str(exc)) from None
        title = table.sheet or ""
        return WorkbookSheet(
            table.header, table.rows, table.row_numbers, title, table.sheets or (title,)
        )

    started = datetime.now(UTC)
    knowledge = knowledge or load_knowledge()
    policies = knowledge.select_policies(list(policy_ids) if policy_ids else None)
    identifier = Identifier(
        knowledge, policies, posture=posture, acting_as=acting_as, service_probes=service_probes
    )
    read = [
        read_file(
            Path(path),
            fmt,
            product_columns=product_columns,
            workbook=workbook,
            named_columns=named_columns if named else None,
        )
        for path, fmt in files
    ]
    if sheet is not None and not any(done.sheet is not None for done in read):
        raise ImportFileError(
            f"--sheet {sheet!r} names a sheet of an XLSX workbook: no FILE is one"
        )
    evidence = merge_records([record for done in read for record in done.records])
    notes: list[str] = []
    for done in read:
        label = FORMAT_LABELS[done.format] if done.sheet is None else "XLSX"
        where = done.path if done.sheet is None else f"{done.path} (sheet {done.sheet!r})"
        notes.append(f"imported from {label} {where}: {plural(len(done.records), 'record')}")
        notes.extend(done.notes)
    for source, count in sorted(evidence.without_address.items()):
        notes.append(
            f"{source}: {plural(count, 'device')} without an IP address skipped (join them "
            "with a "
            "file that has one, e.g. DHCP leases for a MAC table)"
        )
    devices = sorted(
        identifier.devices(evidence.hosts), key=lambda device: address_sort_key(device.ip)
    )
    info = ScanInfo(
        scan_id=str(uuid.uuid4()),
        kind="import",
        started_at=started,
        finished_at=datetime.now(UTC),
        targets=tuple(f"{done.format.value}:{done.path}" for done in read),
        ports=tuple(sorted({port for device in devices for port in device.open_ports})),
        policies=tuple(p.id for p in policies),
        tool_version=__version__,
        hosts_scanned=len(devices),
        hosts_responding=len(devices),
        notes=tuple(notes),
    )
    return identifier.finish(ScanResult(info, tuple(devices)))


async def _discover_unless_stopped(
    discovery: Coroutine[Any, Any, DiscoveryResult], stop: asyncio.Event | None
) -> DiscoveryResult:
    """Discovery's result, or an empty one noted as interrupted when ``stop`` comes first."""
    done = await unless_stopped(discovery, stop)
    if done is None:
        return DiscoveryResult(notes=("discovery interrupted: its replies are not used",))
    return done[0]


@contextmanager
def first_interrupt_calls(on_first: Callable[[], None]) -> Iterator[None]:
    """While active, the first SIGINT (Ctrl-C) calls ``on_first`` instead of raising
    KeyboardInterrupt, and restores the default handler so that a second one raises it at once.

    ``on_first`` runs inside a signal handler: it must only set flags or hand work to an event
    loop with ``call_soon_threadsafe``. Outside the main thread (where Python delivers no
    signals) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum: int, frame: object) -> None:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        on_first()

    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def run_interruptibly(
    scan: Callable[[asyncio.Event], Coroutine[Any, Any, ScanResult]],
) -> tuple[ScanResult, bool]:
    """``asyncio.run(scan(stop))`` for a terminal: the first Ctrl-C sets ``stop`` (the scan
    returns what it learned, marked incomplete); a second one raises KeyboardInterrupt at once.

    Use it as ``run_interruptibly(lambda stop: run_scan(..., stop=stop))``. Returns the result
    and whether Ctrl-C cut it short (a stop that came after the last host had finished
    leaves a complete result and is not reported as an interruption).
    """
    requested = threading.Event()
    wake: list[Callable[[], object]] = []

    async def main() -> ScanResult:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        wake.append(lambda: loop.call_soon_threadsafe(stop.set))
        if requested.is_set():  # Ctrl-C came before the loop was running
            stop.set()
        return await scan(stop)

    def on_first() -> None:
        requested.set()
        for callback in wake:
            with suppress(RuntimeError):  # the loop has closed already: nothing left to stop
                callback()

    with first_interrupt_calls(on_first):
        result = asyncio.run(main())
    return result, requested.is_set() and not result.info.complete

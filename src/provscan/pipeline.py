"""Assemble the pipeline from its parts. Only this module and the CLI pick concrete classes.

It also owns how a scan run from a terminal reacts to Ctrl-C: the first SIGINT stops the
scan gracefully (what was learned is returned, marked incomplete), a second one raises
KeyboardInterrupt at once.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

from provscan.credentials import CredentialStore
from provscan.discovery.interface import DiscoveryResult
from provscan.discovery.runner import DiscoverySettings, discover_for_targets
from provscan.engine.scanner import DeviceCheck, Scanner, ScanRequest, unless_stopped
from provscan.events import ScanObserver
from provscan.identify import Identifier
from provscan.knowledge.loader import Knowledge, load_knowledge
from provscan.model import HostEvidence, ScanResult
from provscan.passive import CaptureObserver, analyse_captures
from provscan.probes.credentialed import credentialed_checks, credentialed_probes
from provscan.probes.credentialed_defaults import DefaultCredentialCheck
from provscan.probes.interface import Probe
from provscan.probes.registry import all_probes
from provscan.targets import TargetSet
from provscan.transport.limits import ScanLimits

#: Discovery inside a scan: on by default (provscan.discovery.runner says where it goes).
DEFAULT_DISCOVERY = DiscoverySettings()


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
) -> ScanResult:
    """Scan, attribute, judge and (unless ``posture`` is False) assess security posture.

    ``credentials`` enables the credentialed probes on the hosts it covers;
    ``check_default_credentials`` tries the documented factory accounts (off by default).
    Setting ``stop`` ends the scan early with what it learned (``info.complete`` False).
    """
    knowledge = knowledge or load_knowledge()
    # Discovery first (``discovery=None`` skips it); its replies join each host's evidence.
    discovered = DiscoveryResult()
    if discovery is not None:
        discovered = await _discover_unless_stopped(
            discover_for_targets((a for a, _ in targets), discovery), stop
        )
    policies = knowledge.select_policies(list(policy_ids) if policy_ids else None)
    identifier = Identifier(knowledge, policies, posture=posture or check_default_credentials)
    probes = build_probes(knowledge)
    if credentials:
        probes += credentialed_probes(credentials)
    # The makers' API requests wait for the identified device: only its maker's are sent.
    device_checks: list[DeviceCheck] = list(credentialed_checks(credentials or CredentialStore()))
    if check_default_credentials and identifier.posture_knowledge is not None:
        device_checks.append(DefaultCredentialCheck(identifier.posture_knowledge.default_accounts))
    scanner = Scanner(probes, identifier.device, observer, device_checks=device_checks)
    request = ScanRequest(
        targets=targets,
        target_specs=tuple(target_specs),
        ports=tuple(ports),
        policies=tuple(policies),
        total_hosts=targets.size_upper_bound,
        limits=limits or ScanLimits(),
        prior=prior_evidence(discovered),
        notes=discovered.notes,
    )
    result = await scanner.run(request, stop=stop)
    return identifier.finish(result) if posture else result


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


def run_passive(
    files: Sequence[str],
    *,
    policy_ids: Sequence[str] | None = None,
    knowledge: Knowledge | None = None,
    observer: CaptureObserver | None = None,
    stop: Callable[[], bool] | None = None,
    posture: bool = True,
) -> ScanResult:
    """Analyse captures and identify every host in them, posture included.

    ``stop()`` turning true ends the analysis between packets (the result is incomplete).
    """
    knowledge = knowledge or load_knowledge()
    policies = knowledge.select_policies(list(policy_ids) if policy_ids else None)
    identifier = Identifier(knowledge, policies, posture=posture)
    result = analyse_captures(
        files,
        identifier.device,
        policy_ids=[p.id for p in policies],
        knowledge=knowledge,
        observer=observer,
        stop=stop,
    )
    return identifier.finish(result)


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

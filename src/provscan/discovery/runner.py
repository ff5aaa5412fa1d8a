"""Plan where discovery probes go, run every protocol at once, merge what answered.

Where probes go (docs/decisions/0003-discovery.md):
- **attached segments** (an interface whose subnet holds the targets, or the one named by
  ``--iface``): multicast to each protocol's group with TTL 1 and broadcast to the subnet's
  broadcast address, sent from the interface's own address; then ARP for MACs;
- **loopback targets**: unicast to each target address only (loopback has no multicast);
  one datagram per protocol per address, so more than :data:`MAX_UNICAST_TARGETS` loopback
  targets get none before the sweep, with a warning (:func:`is_warning`);
- **routed targets**: no discovery before the sweep (its multicast would not reach them).
Where a port sweep follows (``provscan scan``), the loopback targets skipped for their number
and the routed ones get unicast discovery after it, sent only to the hosts that answered it
(at most :data:`MAX_UNICAST_TARGETS`): :class:`AfterSweep`.
Replies from outside the scope (the targets, or the segment) are counted and dropped.

Segment discovery costs the same whatever the number of targets, so it runs for any target
set: which segments hold targets, the reply filter and the counts are answered by the
:class:`~provscan.targets.TargetSet`'s own arithmetic, never by listing a /8's 16M addresses.
"""

from __future__ import annotations

import asyncio
import importlib
import ipaddress
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from provscan.discovery import arp, netif
from provscan.discovery.interface import (
    DiscoveryProtocol,
    DiscoveryReply,
    DiscoveryResult,
    Segment,
)
from provscan.discovery.merge import merge_replies
from provscan.discovery.transport import ExchangeCounters, Route, exchange
from provscan.interlock import outside_interlock
from provscan.targets import TargetSet

#: The discovery protocols by name: the module and class of each, imported when a discovery
#: runs (mDNS brings zeroconf, SSDP the UPnP parsers: a scan that skips discovery, or a
#: loopback scan, does without them; issue 14, start-up).
PROTOCOLS: dict[str, tuple[str, str]] = {
    "wsd": ("provscan.discovery.wsd", "WsDiscovery"),
    "sadp": ("provscan.discovery.sadp", "Sadp"),
    "dhdiscover": ("provscan.discovery.dhdiscover", "DhDiscover"),
    "ssdp": ("provscan.discovery.ssdp", "Ssdp"),
    "mdns": ("provscan.discovery.mdns", "Mdns"),
}


def make_protocol(name: str) -> DiscoveryProtocol:
    """A fresh instance of the protocol ``name`` (a key of :data:`PROTOCOLS`)."""
    module, cls = PROTOCOLS[name]
    factory: Callable[[], DiscoveryProtocol] = getattr(importlib.import_module(module), cls)
    return factory()


#: How long replies are awaited on a real segment (devices answer within ~1 s; SSDP MX=1).
DEFAULT_TIMEOUT_S = 2.0
#: Loopback replies take microseconds; the scan waits this long for them.
LOOPBACK_TIMEOUT_S = 0.5
#: More unicast targets than this get no discovery (a warning says so): unicast sends one
#: datagram per protocol per address (a loopback /16: ~6.8 s and ~108 MB). Also the most
#: targets on one segment that are resolved to MACs (ARP); more get their MACs from replies.
MAX_UNICAST_TARGETS = 4096
#: Where unicast discovery goes inside a scan (:func:`discover_for_targets`).
LOOPBACK_NETWORKS = (ipaddress.IPv4Network("127.0.0.0/8"), ipaddress.IPv6Network("::1/128"))
#: How the loopback skip's note starts; the command line shows it as a warning too.
LOOPBACK_SKIPPED = "discovery skipped on loopback"
#: Segments wider than this are not ARP-swept (only addresses that answered are resolved).
MAX_SWEEP_PREFIX = 22
#: UPnP follow-ups (description fetch, IGD queries) run at most this many at once.
FOLLOW_UP_CONCURRENCY = 16


@dataclass(frozen=True)
class DiscoverySettings:
    timeout_s: float = DEFAULT_TIMEOUT_S
    #: Restrict discovery to this interface (``--iface``).
    interface: str | None = None
    protocols: tuple[str, ...] = tuple(PROTOCOLS)
    arp: bool = True
    follow_up: bool = True
    loopback_timeout_s: float = LOOPBACK_TIMEOUT_S
    #: On segments: send to the protocols' multicast groups / to the subnet broadcast.
    multicast: bool = True
    broadcast: bool = True


@dataclass
class _Run:
    settings: DiscoverySettings
    counters: dict[str, ExchangeCounters] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def counter(self, name: str) -> ExchangeCounters:
        return self.counters.setdefault(name, ExchangeCounters())

    def protocols(self) -> list[DiscoveryProtocol]:
        return [make_protocol(name) for name in self.settings.protocols if name in PROTOCOLS]

    async def follow_ups(self, replies: list[DiscoveryReply]) -> list[DiscoveryReply]:
        if not self.settings.follow_up:
            return replies
        slots = asyncio.Semaphore(FOLLOW_UP_CONCURRENCY)
        timeout = max(self.settings.timeout_s, 1.0) + 1.0

        async def one(reply: DiscoveryReply) -> DiscoveryReply:
            if reply.follow_up is None:
                return reply
            async with slots:
                from provscan.discovery import ssdp

                return await ssdp.follow_up(reply, timeout)

        # The same LOCATION is fetched once per address.
        unique: dict[tuple[str, str], DiscoveryReply] = {}
        rest: list[DiscoveryReply] = []
        for reply in replies:
            if reply.follow_up is None:
                rest.append(reply)
            else:
                unique.setdefault((reply.address, reply.follow_up), reply)
                if unique[(reply.address, reply.follow_up)] is not reply:
                    rest.append(_without_follow_up(reply))
        done = await asyncio.gather(*(one(r) for r in unique.values()))
        return [*rest, *done]

    def result(
        self,
        replies: list[DiscoveryReply],
        macs: dict[str, str],
        how: str,
        *,
        asked: int | None = None,
    ) -> DiscoveryResult:
        """The merged hosts and the notes; ``asked``: after the sweep, how many hosts were
        asked (the summary then says so, also when none answered)."""
        hosts = merge_replies(replies, macs, how)
        notes = list(dict.fromkeys(self.notes))
        answered: dict[str, int] = {}
        for host in hosts:
            for protocol in host.protocols:
                answered[protocol] = answered.get(protocol, 0) + 1
        summary = ", ".join(f"{name} {count}" for name, count in sorted(answered.items()))
        if asked is not None:
            of = f"{len(hosts) or 'none'} of {_hosts(asked)} with open ports answered"
            notes.insert(
                0, f"discovery after the sweep: {of}" + (f" ({summary})" if summary else "")
            )
        elif answered:
            hosts_answered = f"{_hosts(len(hosts))} answered"
            notes.insert(0, f"discovery: {hosts_answered} ({summary})")
        problems = []
        totals: dict[str, int] = {}
        for name, counter in sorted(self.counters.items()):
            parts = [
                f"{value} {label}"
                for label, value in (
                    ("malformed", counter.malformed),
                    ("oversized", counter.oversized),
                    ("out of scope", counter.out_of_scope),
                    ("flood-dropped", counter.flood_dropped),
                    ("send errors", counter.send_errors),
                )
                if value
            ]
            for label, value in counter.__dict__.items():
                if isinstance(value, int):
                    totals[f"{name}.{label}"] = value
            if parts:
                problems.append(f"{name}: {', '.join(parts)}")
        if problems:
            notes.append("discovery errors: " + "; ".join(problems))
        return DiscoveryResult(tuple(hosts), tuple(notes), totals)


def _hosts(count: int) -> str:
    return f"{count} host{'' if count == 1 else 's'}"


def _without_follow_up(reply: DiscoveryReply) -> DiscoveryReply:
    return DiscoveryReply(
        reply.protocol, reply.address, reply.port, reply.observations, reply.mac, reply.serial
    )


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


async def _segment_replies(
    run: _Run, segment: Segment, in_scope: Callable[[str], bool]
) -> list[DiscoveryReply]:
    if segment.is_loopback or not segment.supports_multicast:
        run.notes.append(
            f"{segment.interface}: no multicast on a loopback interface; name loopback "
            "targets for unicast discovery"
        )
        return []
    route = Route(segment.address, multicast_interface=segment.address, broadcast=True)

    async def one(protocol: DiscoveryProtocol) -> list[DiscoveryReply]:
        destinations: list[str] = []
        if run.settings.multicast and protocol.multicast_group:
            destinations.append(protocol.multicast_group)
        if run.settings.broadcast and protocol.uses_broadcast and segment.prefix < 31:
            destinations.append(segment.broadcast)
        return await exchange(
            protocol,
            destinations,
            route,
            timeout_s=run.settings.timeout_s,
            in_scope=lambda a: segment.contains(a) and a != segment.address and in_scope(a),
            counters=run.counter(protocol.name),
        )

    found = await asyncio.gather(*(one(p) for p in run.protocols()))
    return [reply for replies in found for reply in replies]


async def _unicast_replies(
    run: _Run, addresses: Sequence[str], timeout_s: float
) -> list[DiscoveryReply]:
    wanted = set(addresses)
    loopback = all(_is_loopback(a) for a in addresses)
    route = Route("127.0.0.1" if loopback else "0.0.0.0")

    async def one(protocol: DiscoveryProtocol) -> list[DiscoveryReply]:
        return await exchange(
            protocol,
            list(addresses),
            route,
            timeout_s=timeout_s,
            in_scope=wanted.__contains__,
            counters=run.counter(protocol.name),
            repeat=1,
        )

    found = await asyncio.gather(*(one(p) for p in run.protocols()))
    return [reply for replies in found for reply in replies]


async def _arp_for(
    run: _Run, segment: Segment, addresses: Iterable[str], *, sweep: bool
) -> tuple[dict[str, str], str]:
    if not run.settings.arp or segment.is_loopback:
        return {}, "arp"
    wanted = [a for a in addresses if segment.contains(a) and a != segment.address]
    if sweep and segment.prefix >= MAX_SWEEP_PREFIX:
        wanted = [str(h) for h in segment.network.hosts() if str(h) != segment.address]
    if not wanted:
        return {}, "arp"
    return await arp.resolve(segment.interface, wanted, min(run.settings.timeout_s, 2.0))


def segments_for(settings: DiscoverySettings) -> list[Segment]:
    """The segments ``provscan discover`` uses: ``--iface``, or every up, multicast-capable,
    non-loopback IPv4 interface."""
    if settings.interface:
        return [netif.segment_for_interface(settings.interface)]
    return [s for s in netif.list_segments() if not s.is_loopback and s.supports_multicast]


async def discover_segments(
    segments: Sequence[Segment], settings: DiscoverySettings
) -> DiscoveryResult:
    """``provscan discover`` on attached segments: multicast, broadcast, then ARP."""
    run = _Run(settings)
    replies: list[DiscoveryReply] = []
    for found in await asyncio.gather(
        *(_segment_replies(run, s, lambda _: True) for s in segments)
    ):
        replies.extend(found)
    replies = await run.follow_ups(replies)
    macs: dict[str, str] = {}
    how = "arp"
    for segment in segments:
        found_macs, how = await _arp_for(run, segment, [r.address for r in replies], sweep=True)
        macs.update(found_macs)
    return run.result(replies, macs, how)


async def discover_addresses(
    addresses: Sequence[str], settings: DiscoverySettings
) -> DiscoveryResult:
    """``provscan discover TARGET…``: unicast probes to the named addresses only."""
    run = _Run(settings)
    if len(addresses) > MAX_UNICAST_TARGETS:
        run.notes.append(
            f"discovery skipped: {len(addresses)} targets exceed {MAX_UNICAST_TARGETS}"
        )
        return run.result([], {}, "arp")
    timeout = (
        settings.loopback_timeout_s
        if addresses and all(_is_loopback(a) for a in addresses)
        else settings.timeout_s
    )
    replies = await run.follow_ups(await _unicast_replies(run, addresses, timeout))
    return run.result(replies, {}, "arp")


def is_warning(note: str) -> bool:
    """True for a discovery note that says devices may be missing from the scan (the
    command line prints it as a warning, not only among the result's notes)."""
    return note.startswith(LOOPBACK_SKIPPED)


def loopback_skipped_note(count: int, first: str, *, after_sweep: bool = False) -> str:
    """The note for ``count`` loopback targets, more than unicast discovery is sent to;
    ``first``: the lowest of them, for an example range that would be small enough.
    ``after_sweep``: the hosts that answer the port sweep get discovery after it."""
    prefix = max(0, 32 - (MAX_UNICAST_TARGETS.bit_length() - 1))
    try:
        example = str(ipaddress.IPv4Network(f"{first}/{prefix}", strict=False))
    except ValueError:
        example = f"127.0.0.0/{prefix}"
    advice = (
        f"scan at most {MAX_UNICAST_TARGETS} loopback addresses at a time (e.g. {example}) "
        "to include them"
    )
    if after_sweep:
        return (
            f"{LOOPBACK_SKIPPED} before the sweep ({count} targets, more than "
            f"{MAX_UNICAST_TARGETS}): it goes after the sweep to the hosts with an open port "
            "only, so devices that answer only discovery protocols (no open TCP port) are "
            f"not found; {advice}"
        )
    return (
        f"{LOOPBACK_SKIPPED} ({count} targets, more than {MAX_UNICAST_TARGETS}): devices "
        f"that answer only discovery protocols on loopback are not found; {advice}"
    )


class AfterSweep:
    """Unicast discovery after the port sweep, for the targets discovery could not reach
    before it: loopback targets beyond :data:`MAX_UNICAST_TARGETS` (``loopback``) and routed
    targets, on no attached segment (``routed``; not with ``--iface``, which restricts
    discovery to one interface). Only hosts that answered the sweep are asked
    (:meth:`take`), at most :data:`MAX_UNICAST_TARGETS` of them, each one only if it is a
    target, IPv4 (the unicast socket's family) and inside the scope interlock.

    :meth:`take` is called from the sweep's thread; :meth:`discover` runs on the scan's
    event loop, batch by batch; :meth:`notes` once the sweep is over.
    """

    def __init__(
        self,
        targets: TargetSet,
        settings: DiscoverySettings,
        segments: Sequence[Segment] = (),
        *,
        loopback: bool = False,
        routed: bool = False,
    ) -> None:
        self.targets = targets
        self.settings = settings
        #: The attached segments (multicast discovery covers them before the sweep).
        self.segments = tuple(segments)
        self.loopback = loopback
        self.routed = routed
        #: Hosts taken for discovery, and those left out because the cap was reached.
        self.asked = 0
        self.beyond_cap = 0
        #: Hosts whose discovery failed (an error opening or using a socket), with the error.
        self.failed = 0
        self.errors: list[str] = []
        self._run = _Run(settings)
        self._replies: list[DiscoveryReply] = []

    @property
    def active(self) -> bool:
        """Whether any host could be taken (a sweep wrapper is worth installing)."""
        return self.loopback or self.routed

    def wants(self, address: str) -> bool:
        """Whether ``address`` is one this discovery goes to, the cap aside."""
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            return False
        if parsed.version != 4 or address not in self.targets or outside_interlock(parsed):
            return False
        if parsed.is_loopback:
            return self.loopback
        return self.routed and not any(s.contains(address) for s in self.segments)

    def take(self, address: str) -> bool:
        """Whether ``address``, a host that answered the sweep, gets discovery (counted)."""
        if not self.wants(address):
            return False
        if self.asked >= MAX_UNICAST_TARGETS:
            self.beyond_cap += 1
            return False
        self.asked += 1
        return True

    async def discover(
        self, addresses: Sequence[str], reserve: Callable[[], float] | None = None
    ) -> DiscoveryResult:
        """Unicast discovery to ``addresses`` (taken by :meth:`take`): their merged hosts.

        ``reserve``: the scan's rate budget (``--rate``; a start slot per datagram, returning
        how long to wait for it); with it, each address's datagrams wait for their slots.
        """
        settings = self.settings
        groups = [
            ([a for a in addresses if _is_loopback(a)], settings.loopback_timeout_s),
            ([a for a in addresses if not _is_loopback(a)], settings.timeout_s),
        ]
        protocols = max(1, len(self._run.protocols()))

        async def paced(address: str, timeout_s: float) -> list[DiscoveryReply]:
            assert reserve is not None
            await asyncio.sleep(max(reserve() for _ in range(protocols)))
            return await _unicast_replies(self._run, [address], timeout_s)

        jobs = [
            _unicast_replies(self._run, group, timeout_s)
            if reserve is None
            else _gather_lists(paced(a, timeout_s) for a in group)
            for group, timeout_s in groups
            if group
        ]
        replies = [r for found in await asyncio.gather(*jobs) for r in found]
        replies = await self._run.follow_ups(replies)
        self._replies.extend(replies)
        return DiscoveryResult(tuple(merge_replies(replies, {}, "arp")))

    def failure(self, count: int, error: BaseException) -> None:
        """Record that discovery of ``count`` hosts failed with ``error``."""
        self.failed += count
        if len(self.errors) < 3:
            self.errors.append(f"{type(error).__name__}: {error}"[:200])

    def notes(self) -> tuple[str, ...]:
        """The scan notes: who was asked and who answered, the cap, errors."""
        if not self.asked:
            return ()
        notes = list(self._run.result(self._replies, {}, "arp", asked=self.asked).notes)
        if self.beyond_cap:
            notes.append(
                f"discovery after the sweep: {_hosts(self.beyond_cap)} with open ports beyond "
                f"the first {MAX_UNICAST_TARGETS} got none"
            )
        if self.failed:
            notes.append(
                f"discovery after the sweep failed for {_hosts(self.failed)}: "
                + "; ".join(dict.fromkeys(self.errors))
            )
        return tuple(notes)


async def _gather_lists(
    jobs: Iterable[Coroutine[Any, Any, list[DiscoveryReply]]],
) -> list[DiscoveryReply]:
    return [reply for found in await asyncio.gather(*jobs) for reply in found]


def _attached_segments(targets: TargetSet, settings: DiscoverySettings) -> list[Segment]:
    """The up, multicast-capable, non-loopback segments (``--iface``'s only) holding targets."""
    candidates = [
        s
        for s in netif.list_segments()
        if not s.is_loopback
        and s.supports_multicast
        and (settings.interface is None or s.interface == settings.interface)
    ]
    return [s for s in candidates if targets.overlaps([s.network], outside=LOOPBACK_NETWORKS)]


def plan_after_sweep(targets: TargetSet, settings: DiscoverySettings) -> AfterSweep:
    """Where discovery goes after a sweep of ``targets`` (see :class:`AfterSweep`); hand it
    to :func:`discover_for_targets`, which then words its notes for it."""
    loopback_count = targets.count(LOOPBACK_NETWORKS)
    others = targets.count(outside=LOOPBACK_NETWORKS)
    segments = _attached_segments(targets, settings) if others else []
    attached = targets.count([s.network for s in segments], outside=LOOPBACK_NETWORKS)
    return AfterSweep(
        targets,
        settings,
        segments,
        loopback=loopback_count > MAX_UNICAST_TARGETS,
        routed=settings.interface is None and attached < others,
    )


async def discover_for_targets(
    targets: TargetSet, settings: DiscoverySettings, after: AfterSweep | None = None
) -> DiscoveryResult:
    """Discovery inside ``provscan scan``: see the module docstring for where probes go.
    ``after``: the discovery a sweep will carry (:func:`plan_after_sweep`; its segments are
    used, and the notes say what it covers).

    Nothing here lists every target: segment discovery, its reply filter and the counts in
    the notes use the target set's arithmetic; only the loopback addresses unicast goes to
    (at most :data:`MAX_UNICAST_TARGETS`) and a segment's addresses resolved to MACs (as many)
    are listed.
    """
    run = _Run(settings)
    loopback_count = targets.count(LOOPBACK_NETWORKS)
    others = targets.count(outside=LOOPBACK_NETWORKS)
    segments: list[Segment] = []
    if others:
        segments = (
            list(after.segments) if after is not None else _attached_segments(targets, settings)
        )
        attached = targets.count([s.network for s in segments], outside=LOOPBACK_NETWORKS)
        if attached < others and after is not None and after.routed:
            run.notes.append(
                f"discovery: {others - attached} targets are not on an attached segment (no "
                "multicast reaches them): those with an open port get unicast discovery "
                "after the sweep"
            )
        elif attached < others:
            run.notes.append(
                f"discovery: {others - attached} targets are not on an attached "
                "segment; only the TCP scan reaches them"
            )
    replies: list[DiscoveryReply] = []
    jobs = [_segment_replies(run, s, targets.__contains__) for s in segments]
    if loopback_count > MAX_UNICAST_TARGETS:
        first = next(targets.addresses(LOOPBACK_NETWORKS), "127.0.0.1")
        later = after is not None and after.loopback
        run.notes.append(loopback_skipped_note(loopback_count, first, after_sweep=later))
    elif loopback_count:
        loopback = list(targets.addresses(LOOPBACK_NETWORKS))
        jobs.append(_unicast_replies(run, loopback, settings.loopback_timeout_s))
    for found in await asyncio.gather(*jobs):
        replies.extend(found)
    replies = await run.follow_ups(replies)
    macs: dict[str, str] = {}
    how = "arp"
    for segment in segments:
        on_segment = targets.count([segment.network], outside=LOOPBACK_NETWORKS)
        if on_segment > MAX_UNICAST_TARGETS:
            if run.settings.arp:
                run.notes.append(
                    f"discovery: no ARP on {segment.interface} ({on_segment} targets in "
                    f"{segment.network}, more than {MAX_UNICAST_TARGETS}): MACs come from "
                    "discovery replies only"
                )
            continue
        found_macs, how = await _arp_for(
            run,
            segment,
            list(targets.addresses([segment.network], outside=LOOPBACK_NETWORKS)),
            sweep=False,
        )
        macs.update(found_macs)
    return run.result(replies, macs, how)

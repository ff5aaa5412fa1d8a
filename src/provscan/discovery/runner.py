"""Plan where discovery probes go, run every protocol at once, merge what answered.

Where probes go (docs/decisions/0003-discovery.md):
- **attached segments** (an interface whose subnet holds the targets, or the one named by
  ``--iface``): multicast to each protocol's group with TTL 1 and broadcast to the subnet's
  broadcast address, sent from the interface's own address; then ARP for MACs;
- **loopback targets**: unicast to each target address only (loopback has no multicast);
  one datagram per protocol per address, so more than :data:`MAX_UNICAST_TARGETS` loopback
  targets get none, with a warning (:func:`is_warning`);
- **routed targets**: no discovery (its multicast would not reach them); a note says so.
Replies from outside the scope (the targets, or the segment) are counted and dropped.

Segment discovery costs the same whatever the number of targets, so it runs for any target
set: which segments hold targets, the reply filter and the counts are answered by the
:class:`~provscan.targets.TargetSet`'s own arithmetic, never by listing a /8's 16M addresses.
"""

from __future__ import annotations

import asyncio
import importlib
import ipaddress
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from provscan.discovery import arp, netif
from provscan.discovery.interface import (
    DiscoveryProtocol,
    DiscoveryReply,
    DiscoveryResult,
    Segment,
)
from provscan.discovery.merge import merge_replies
from provscan.discovery.transport import ExchangeCounters, Route, exchange
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
        self, replies: list[DiscoveryReply], macs: dict[str, str], how: str
    ) -> DiscoveryResult:
        hosts = merge_replies(replies, macs, how)
        notes = list(dict.fromkeys(self.notes))
        answered: dict[str, int] = {}
        for host in hosts:
            for protocol in host.protocols:
                answered[protocol] = answered.get(protocol, 0) + 1
        if answered:
            summary = ", ".join(f"{name} {count}" for name, count in sorted(answered.items()))
            hosts_answered = f"{len(hosts)} host{'' if len(hosts) == 1 else 's'} answered"
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


def loopback_skipped_note(count: int, first: str) -> str:
    """The note for ``count`` loopback targets, more than unicast discovery is sent to;
    ``first``: the lowest of them, for an example range that would be small enough."""
    prefix = max(0, 32 - (MAX_UNICAST_TARGETS.bit_length() - 1))
    try:
        example = str(ipaddress.IPv4Network(f"{first}/{prefix}", strict=False))
    except ValueError:
        example = f"127.0.0.0/{prefix}"
    return (
        f"{LOOPBACK_SKIPPED} ({count} targets, more than {MAX_UNICAST_TARGETS}): devices "
        "that answer only discovery protocols on loopback are not found; scan at most "
        f"{MAX_UNICAST_TARGETS} loopback addresses at a time (e.g. {example}) to include them"
    )


async def discover_for_targets(targets: TargetSet, settings: DiscoverySettings) -> DiscoveryResult:
    """Discovery inside ``provscan scan``: see the module docstring for where probes go.

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
        candidates = [
            s
            for s in netif.list_segments()
            if not s.is_loopback
            and s.supports_multicast
            and (settings.interface is None or s.interface == settings.interface)
        ]
        segments = [
            s for s in candidates if targets.overlaps([s.network], outside=LOOPBACK_NETWORKS)
        ]
        attached = targets.count([s.network for s in segments], outside=LOOPBACK_NETWORKS)
        if attached < others:
            run.notes.append(
                f"discovery: {others - attached} targets are not on an attached "
                "segment; only the TCP scan reaches them"
            )
    replies: list[DiscoveryReply] = []
    jobs = [_segment_replies(run, s, targets.__contains__) for s in segments]
    if loopback_count > MAX_UNICAST_TARGETS:
        first = next(targets.addresses(LOOPBACK_NETWORKS), "127.0.0.1")
        run.notes.append(loopback_skipped_note(loopback_count, first))
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

"""The hosts of a capture: who sent what, deduplicated by MAC and IP, bounded in size.

Every host that *sent* a packet is a candidate device. Facts about a host are kept once
per (protocol, port, field, value), with the packet number and time of their first
sighting, so a multi-GB capture of the same devices costs no more memory than a short one.
A fact is held as its key plus where it was first seen and its detail, with values and
details shared between hosts (a fleet of one model repeats the same headers); the
observation and its evidence text ("packet N at …") are made only when the device is built.
Sightings of a fact already kept are only counted.
At the end hosts are grouped: IP addresses that share a MAC address are one device, and
facts about a MAC alone (a DHCP request from 0.0.0.0, a layer-2 SADP frame) join the
device with that MAC. The shared MAC is the Ethernet source of their packets, or a MAC a
message from each of them reports (SADP, DHDiscover, DHCP...), or one an ARP/DHCP/discovery
binding gives the address: the device's "also seen as" note names the MAC and which it was.

A MAC seen as the source of several IP addresses is a *forwarder*'s: a router's (on a mirror
port, routed traffic carries the gateway's MAC) or an attacker's in an ARP-spoofing capture.
It never lends its OUI or identity to the addresses behind it, and never merges them into
one device with it. The forwarder's own address - the one address ARP/DHCP binds to its MAC,
when there is exactly one - keeps it. An address seen only through a forwarder's MAC gets
no MAC at all (so no MAC-based maker).

Whether a host served anything (a SYN-ACK from it: its open ports) and how many distinct
peers it opened TCP connections to (a SYN from it) are kept too: a host that served nothing
and that nothing identified is a client (the scanning host, a workstation), and its device
says so in a note (``SERVED_NOTHING_NOTE_PREFIX``) instead of leaving a bare address.

A host that did nothing but refuse connections - every packet it sent a TCP reset or an ICMP
destination unreachable, besides ARP - has no identity: it is not a device (unless
identification still names its maker, from its MAC) and is only counted
(:attr:`HostTable.refused_only`).
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from socket import AF_INET, AF_INET6, inet_pton

from provscan.knowledge.observation_fields import load_observation_fields
from provscan.model import (
    FORWARDED_NOTE_PREFIX,
    MAX_EVIDENCE_CHARS,
    SERVED_NOTHING_NOTE_PREFIX,
    AttemptStatus,
    Device,
    Evidence,
    HostEvidence,
    Observation,
    PhoneHome,
    ProbeAttempt,
)
from provscan.observations.http import (
    CANARY_PATH,
    CONTROL_RANK,
    DIRECTORY_PROTECTED_STATUSES,
    WHOLE_DIRECTORY,
    control_detail,
    is_control,
)
from provscan.passive.cloud import CloudMatcher
from provscan.passive.signals import Facts
from provscan.passive.streams import PROTECTED_STATUSES, DirectoryControls
from provscan.wire.mac import is_multicast, normalise_mac

#: Observation fields that carry a MAC (knowledge data: observation_fields.yaml).
MAC_FIELDS: tuple[str, ...] = load_observation_fields().mac

#: Distinct facts kept per host (the first ones; later duplicates cost nothing).
MAX_OBSERVATIONS_PER_HOST = 512
#: Page bodies kept per host (each up to 64 KiB).
MAX_BODIES_PER_HOST = 8
#: Hosts tracked; beyond this, new senders are counted but not kept.
MAX_HOSTS = 65_536
#: MAC addresses remembered per host.
MAX_MACS_PER_HOST = 8
#: Phone-home contacts remembered per host.
MAX_CONTACTS_PER_HOST = 64
#: A MAC that is the source of this many IP addresses (any version) is a forwarder's.
ROUTER_MAC_MIN_ADDRESSES = 4
#: A MAC that is the source of this many routable IPv4 addresses is a forwarder's: a host
#: has one IPv4 address on a segment (IPv6 hosts have several, so IPv6 counts only above).
FORWARDER_MIN_IPV4_ADDRESSES = 2
#: Addresses remembered per MAC from ARP/DHCP bindings (to tell one own address from many).
MAX_BOUND_ADDRESSES = 8
#: Open ports remembered per host.
MAX_OPEN_PORTS = 1024
#: Distinct peers a host opened TCP connections to, remembered per host as 16-byte
#: addresses (IPv4 mapped into IPv6) in one byte string: at most 4 KiB a host, held only
#: by hosts that sent a SYN. Beyond this many the count reads "more than".
MAX_PEERS_PER_HOST = 256
#: The bytes of one remembered peer, and the prefix that maps an IPv4 address into them.
PEER_BYTES = 16
_IPV4_MAPPED = bytes(10) + b"\xff\xff"
#: What a packet said, for :meth:`HostTable.sender`: anything (the default), only a refusal
#: (a TCP reset, an ICMP destination unreachable), or an ARP message (neither: a host refusing
#: on Ethernet answers ARP first).
SAID_SOMETHING, SAID_REFUSAL, SAID_ARP = 0, 1, 2

#: How the "also seen as" note names the messages a MAC was reported in (by protocol).
_MESSAGE_LABELS = {
    "dhcp": "DHCP",
    "sadp": "SADP",
    "dhdiscover": "DHDiscover",
    "wsd": "WS-Discovery",
    "ssdp": "SSDP",
    "mdns": "mDNS",
    "tuya": "Tuya discovery",
}

#: Passive fields shown as evidence even when no rule matched them (context for a reader).
PASSIVE_CONTEXT_FIELDS = frozenset(
    {
        "dhcp.hostname",
        "dhcp.vendor_class",
        "dhcp.parameter_list",
        "dns.query",
        "tls.sni",
        "cloud.phones_home",
        "discovery.protocol",
        "sadp.description",
        "sadp.serial",
        "sadp.firmware",
        "sadp.oem_info",
        "dahua.discovery.vendor",
        "dahua.discovery.manufacturer",
        "dahua.discovery.device_type",
        "wsd.name",
        "wsd.hardware",
        "wsd.types",
        "ssdp.server",
        "ssdp.product",
        "mdns.service",
        "mdns.instance",
        "mdns.model",
        "mdns.manufacturer",
        "upnp.manufacturer",
        "upnp.model_name",
        "http.endpoint",
        "http.user_agent",
        "rtsp.user_agent",
    }
)


def capture_time(seconds: float) -> datetime:
    """A capture timestamp as an aware UTC datetime (absurd values become the epoch)."""
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return datetime.fromtimestamp(0, UTC)


@functools.lru_cache(maxsize=1024, typed=True)
def where(packet: int, seconds: float) -> str:
    """``packet 12 at 2026-01-01T12:00:00.000000Z``: the evidence detail of a capture fact.

    Remembered for the last 1,024 (packet, time) pairs: the facts of one reply share its
    packet (28,473 calls, 12,844 distinct, for the 1,007 devices of the bench's 64 sites;
    issue 14)."""
    moment = capture_time(seconds).isoformat(timespec="microseconds").replace("+00:00", "Z")
    return f"packet {packet} at {moment}"


def _usable_ip(ip: str) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return not (address.is_unspecified or address.is_multicast or ip == "255.255.255.255")


def _counts_as_ipv4_host(ip: str) -> bool:
    """A routable-or-private IPv4 address a host is given (not link-local or unspecified)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return address.version == 4 and not address.is_link_local


def _clip(value: str) -> str:
    return value if len(value) <= MAX_EVIDENCE_CHARS else value[:MAX_EVIDENCE_CHARS] + "…"


@dataclass
class _Attempts:
    ok: int = 0
    problems: int = 0
    status: AttemptStatus = AttemptStatus.OK
    error: str = ""


#: What makes a fact distinct on a host: protocol, port, field and value.
FactKey = tuple[str, int | None, str, str]
#: A fact as kept, beside its key: the packet number and time it was first seen and its
#: detail (the parser's, or the context the stream gave it). No Observation object is held:
#: it is made again from the key when the device is built.
KeptFact = tuple[int, float, str]
#: Distinct values and details shared between hosts (the same Server header on thousands of
#: cameras is held once); beyond this many, new strings are kept as they come.
MAX_SHARED_STRINGS = 65_536


@dataclass
class HostRecord:
    key: str
    ip: str | None
    first_packet: int
    first_time: float
    macs: dict[str, tuple[int, float]] = field(default_factory=dict)
    observations: dict[FactKey, KeptFact] = field(default_factory=dict)
    bodies: int = 0
    dropped_observations: int = 0
    #: Sightings of facts already kept (counted, never stored again).
    repeated_observations: int = 0
    open_ports: set[int] = field(default_factory=set)
    hostnames: list[str] = field(default_factory=list)
    contacts: dict[tuple[str, str], PhoneHome] = field(default_factory=dict)
    attempts: dict[tuple[str, int], _Attempts] = field(default_factory=dict)
    catch_all: dict[int, int] = field(default_factory=dict)
    #: Control answers of its HTTP servers (``StreamAnalyser``: a 200 or "no such page" to a
    #: path no vendor endpoint names, asked without credentials), by port and status: the
    #: first request so answered and where (packet, time). None until the first.
    controls: dict[int, dict[int, tuple[str, int, float]]] | None = None
    #: Control answers in a directory some vendor endpoint needs a control in (``/cgi-bin/``:
    #: :class:`~provscan.passive.streams.DirectoryControls`), one by port and directory:
    #: (request, status, packet, time). None until the first.
    directory_controls: dict[tuple[int, str], tuple[str, int, int, float]] | None = None
    #: Addresses other messages say this MAC-keyed host has (DHCP ACK, SADP, DHDiscover).
    ip_hints: list[str] = field(default_factory=list)
    #: MACs its messages reported as theirs (DHCP chaddr, SADP, DHDiscover...), each with
    #: the protocol of the first such message (None until one): the "also seen as" note
    #: tells such a MAC from the Ethernet source of its packets.
    reported_macs: dict[str, str] | None = None
    #: The distinct peers it sent a SYN to (``PEER_BYTES`` each, ``MAX_PEERS_PER_HOST`` at
    #: most; None until its first); ``more_peers`` once a further one was not kept.
    peers: bytearray | None = None
    more_peers: bool = False
    #: It sent a packet that was neither a refusal nor ARP (``SAID_SOMETHING``).
    spoke: bool = False
    #: It sent a refusal: a TCP reset or an ICMP destination unreachable.
    refused: bool = False


class HostTable:
    """Collects facts per host while the capture streams by (implements ``FactSink``)."""

    def __init__(self, cloud: CloudMatcher, max_hosts: int = MAX_HOSTS) -> None:
        self.cloud = cloud
        self.max_hosts = max_hosts
        self.hosts: dict[str, HostRecord] = {}
        self.dropped_hosts = 0
        #: MAC -> IP addresses it was the Ethernet source of (router detection), bounded.
        self.mac_sources: dict[str, set[str]] = {}
        #: ARP and DHCP-ACK bindings: MAC -> IP (the first one; authoritative).
        self.bindings: dict[str, str] = {}
        #: Every address bound to a MAC (bounded): a forwarder's own address is its only one.
        self.bound: dict[str, set[str]] = {}
        #: What made each of ``bindings``: "arp", "dhcp" or a discovery protocol ("sadp"...).
        self.bound_by: dict[str, str] = {}
        #: Fact values and details, one copy each (bounded: MAX_SHARED_STRINGS).
        self._shared: dict[str, str] = {}
        #: Set while conversations are analysed in another process (``passive/worker.py``):
        #: takes the fact-keeping part of :meth:`facts` and returns True when it must wait,
        #: in capture order, for conversation results that come before it.
        self.defer: Callable[[Callable[[], None]], bool] | None = None
        #: Which vendor endpoints need a control in their own directory, and how a request
        #: shows one (:meth:`directory_controls`: the stream analyser says; none until then).
        self.directories = DirectoryControls({}, {}, frozenset())
        #: Addresses :meth:`build_devices` left out: they did nothing but refuse connections
        #: and identification named no maker for them.
        self.refused_only = 0

    def _share(self, text: str) -> str:
        shared = self._shared.get(text)
        if shared is not None:
            return shared
        if len(self._shared) < MAX_SHARED_STRINGS:
            self._shared[text] = text
        return text

    # -- recording ----------------------------------------------------------------------

    def _record(self, key: str, ip: str | None, packet: int, time: float) -> HostRecord | None:
        record = self.hosts.get(key)
        if record is None:
            if len(self.hosts) >= self.max_hosts:
                self.dropped_hosts += 1
                return None
            record = HostRecord(key, ip, packet, time)
            self.hosts[key] = record
        return record

    def sender(
        self, ip: str, mac: str | None, packet: int, time: float, said: int = SAID_SOMETHING
    ) -> HostRecord | None:
        """A packet from ``ip`` (Ethernet source ``mac``, raw ``aa:bb:…`` text or None);
        ``said``: what it was (``SAID_SOMETHING``, ``SAID_REFUSAL`` or ``SAID_ARP``). A
        caller that skips a sender's later packets does so only once it has ``spoke``."""
        record = self.hosts.get(ip)
        if record is None:
            if not _usable_ip(ip):
                return None
            record = self._record(ip, ip, packet, time)
            if record is None:
                return None
        if said == SAID_SOMETHING:
            record.spoke = True
        elif said == SAID_REFUSAL:
            record.refused = True
        if mac is not None and mac not in record.macs and len(record.macs) < MAX_MACS_PER_HOST:
            normal = normalise_mac(mac)
            if normal is not None and not is_multicast(normal):
                record.macs[normal] = (packet, time)
                sources = self.mac_sources.setdefault(normal, set())
                if len(sources) <= max(ROUTER_MAC_MIN_ADDRESSES, FORWARDER_MIN_IPV4_ADDRESSES):
                    sources.add(ip)
            else:
                record.macs[mac] = (packet, time)  # remembered (so not re-checked), never used
        return record

    def mac_host(self, mac: str, packet: int, time: float) -> HostRecord | None:
        normal = normalise_mac(mac)
        if normal is None or is_multicast(normal):
            return None
        record = self._record(f"mac:{normal}", None, packet, time)
        if record is not None and normal not in record.macs:
            record.macs[normal] = (packet, time)
        return record

    def bind(self, mac: str, ip: str, how: str = "arp") -> None:
        """An ARP sender or DHCP ACK says ``mac`` has ``ip`` (``how``: "arp", or the protocol
        of the message that says so)."""
        normal = normalise_mac(mac)
        if normal is not None and not is_multicast(normal) and _usable_ip(ip):
            if normal not in self.bindings:
                self.bindings[normal] = ip
                self.bound_by[normal] = how
            bound = self.bound.setdefault(normal, set())
            if len(bound) < MAX_BOUND_ADDRESSES:
                bound.add(ip)

    def open_port(self, ip: str, port: int) -> None:
        record = self.hosts.get(ip)
        if record is not None and len(record.open_ports) < MAX_OPEN_PORTS:
            record.open_ports.add(port)

    def initiated(self, ip: str, peer: str | bytes) -> None:
        """``ip`` sent a SYN to ``peer`` (an address's text, or its 4 packed IPv4 bytes)."""
        record = self.hosts.get(ip)
        if record is None or record.more_peers:
            return  # past the cap the count reads "more than": a scanner's SYNs cost nothing
        try:
            if isinstance(peer, bytes):
                key = _IPV4_MAPPED + peer
            elif ":" in peer:
                key = inet_pton(AF_INET6, peer)
            else:
                key = _IPV4_MAPPED + inet_pton(AF_INET, peer)
        except (OSError, ValueError):
            return
        peers = record.peers
        if peers is None:
            record.peers = bytearray(key)
            return
        if peers.endswith(key):
            return  # the peer of its last new SYN again (a scan of that host's ports)
        at = peers.find(key)
        while at >= 0:
            if at % PEER_BYTES == 0:
                return  # already counted
            at = peers.find(key, at + 1)
        if len(peers) < MAX_PEERS_PER_HOST * PEER_BYTES:
            peers += key
        else:
            record.more_peers = True

    def _observe_record(
        self,
        record: HostRecord,
        observation: Observation,
        packet: int,
        time: float,
        detail: str | None = None,
    ) -> None:
        self._keep(
            record,
            observation.protocol,
            observation.port,
            observation.field,
            observation.value,
            packet,
            time,
            observation.detail if detail is None else detail,
        )

    def _keep(
        self,
        record: HostRecord,
        protocol: str,
        port: int | None,
        field_name: str,
        value: str,
        packet: int,
        time: float,
        detail: str,
    ) -> None:
        key = (protocol, port, field_name, value)
        observations = record.observations
        if key in observations:
            record.repeated_observations += 1
            return
        if len(observations) >= MAX_OBSERVATIONS_PER_HOST:
            record.dropped_observations += 1
            return
        if field_name == "http.body":
            if record.bodies >= MAX_BODIES_PER_HOST:
                return
            record.bodies += 1
        share = self._share
        observations[(protocol, port, field_name, share(value))] = (packet, time, share(detail))

    def observe(
        self, ip: str, observation: Observation, packet: int, time: float, detail: str | None = None
    ) -> None:
        """A fact about ``ip``; ``detail`` (when given) replaces the observation's own."""
        record = self.hosts.get(ip) or self._record(ip, ip, packet, time)
        if record is not None:
            self._observe_record(record, observation, packet, time, detail)

    def observe_values(
        self,
        ip: str,
        protocol: str,
        port: int | None,
        field_name: str,
        value: str,
        detail: str,
        packet: int,
        time: float,
    ) -> None:
        """:meth:`observe` from an observation's parts, ``detail`` the one to keep (what the
        stream worker hands back)."""
        record = self.hosts.get(ip) or self._record(ip, ip, packet, time)
        if record is not None:
            self._keep(record, protocol, port, field_name, value, packet, time, detail)

    def contacted(self, ip: str, name: str, how: str, packet: int, time: float) -> None:
        record = self.hosts.get(ip)
        if record is not None:
            self._contact(record, name, how, packet, time)

    def _contact(self, record: HostRecord, name: str, how: str, packet: int, time: float) -> None:
        service = self.cloud.match(name)
        if service is None:
            return
        name = name.strip().rstrip(".").lower()
        key = (service.service, name)
        if key not in record.contacts and len(record.contacts) < MAX_CONTACTS_PER_HOST:
            record.contacts[key] = PhoneHome(service.service, name, packet, capture_time(time))
        self._observe_record(
            record,
            Observation("cloud", None, "cloud.phones_home", f"{service.service}: {name}", how),
            packet,
            time,
        )

    def attempt(self, ip: str, port: int, probe: str, status: AttemptStatus, error: str) -> None:
        record = self.hosts.get(ip)
        if record is None:
            return
        outcome = record.attempts.setdefault((probe, port), _Attempts())
        if status is AttemptStatus.OK and not error:
            outcome.ok += 1
        else:
            outcome.problems += 1
            if not outcome.error:
                outcome.status, outcome.error = status, error

    def catch_all(self, ip: str, port: int, status: int) -> None:
        record = self.hosts.get(ip)
        if record is not None:
            record.catch_all.setdefault(port, status)

    def control(
        self, ip: str, port: int, request: str, status: int, packet: int, time: float
    ) -> None:
        """``request`` to ``ip``'s server on ``port`` was answered ``status``, a control for
        that server's vendor endpoint answers (the first per port and status is kept, or
        provscan's own canary request when one comes later)."""
        record = self.hosts.get(ip)
        if record is None:
            return
        if record.controls is None:
            record.controls = {}
        by_status = record.controls.setdefault(port, {})
        kept = by_status.get(status)
        if kept is None or (_is_canary(request) and not _is_canary(kept[0])):
            by_status[status] = (request, packet, time)
        directory = self.directories.directory_of(request.partition(" ")[2])
        if directory is not None:
            # One per port and directory: provscan's own control request there first, then
            # "no such page" before "bad request" before a page, then the earliest.
            if record.directory_controls is None:
                record.directory_controls = {}
            own = self.directories.requests[directory]
            held = record.directory_controls.get((port, directory))
            if held is None or _directory_rank(request, status, own) < _directory_rank(
                held[0], held[1], own
            ):
                record.directory_controls[(port, directory)] = (request, status, packet, time)

    def directory_controls(self, directories: DirectoryControls) -> None:
        """Which vendor endpoints need a control in their own directory (the stream analyser
        tells the table when it is made): :meth:`control` files such answers apart."""
        self.directories = directories

    def facts(
        self, src_ip: str | None, src_mac: str | None, facts: Facts, packet: int, time: float
    ) -> None:
        """Facts from a UDP/layer-2 message sent by ``src_ip`` / ``src_mac``."""
        record: HostRecord | None = None
        if src_ip is not None and _usable_ip(src_ip):
            record = self.sender(src_ip, src_mac, packet, time)
        if record is None:
            mac = facts.mac or src_mac
            if mac is None:
                return
            record = self.mac_host(mac, packet, time)
            if record is None:
                return
        if facts.mac is not None:
            # The message names the MAC it speaks for (DHCP chaddr, SADP, DHDiscover).
            if record.ip is not None:
                if facts.mac not in record.macs:
                    record.macs.setdefault(facts.mac, (packet, time))
                if record.reported_macs is None:
                    record.reported_macs = {}
                record.reported_macs.setdefault(facts.mac, facts.protocol)
            if facts.ip is not None:
                self.bind(facts.mac, facts.ip, facts.protocol)
        if facts.ip is not None and facts.ip not in record.ip_hints and len(record.ip_hints) < 8:
            record.ip_hints.append(facts.ip)
        if facts.hostname and facts.hostname not in record.hostnames:
            record.hostnames.append(facts.hostname)
        # The facts themselves: after the results of conversations completed before this
        # message when those are still being analysed elsewhere (the order facts are kept
        # in is the capture's, whichever process read the conversations).
        keep = functools.partial(self._message_facts, record, facts, packet, time)
        if self.defer is None or not self.defer(keep):
            keep()

    def _message_facts(self, record: HostRecord, facts: Facts, packet: int, time: float) -> None:
        for field_name, value in facts.fields:
            self._observe_record(
                record, Observation(facts.protocol, facts.port, field_name, value), packet, time
            )
        for name in facts.names:
            self._contact(record, name, "DNS query", packet, time)

    # -- building devices ---------------------------------------------------------------

    def router_macs(self) -> set[str]:
        """The forwarders' MACs: sources of several IPv4 addresses, or of many addresses."""
        return {
            mac
            for mac, sources in self.mac_sources.items()
            if len(sources) >= ROUTER_MAC_MIN_ADDRESSES
            or sum(_counts_as_ipv4_host(ip) for ip in sources) >= FORWARDER_MIN_IPV4_ADDRESSES
        }

    def own_address(self, mac: str) -> str | None:
        """The forwarder's own address: the one address ARP/DHCP bound to its MAC, if one.

        An ARP spoofer binds its MAC to the addresses it impersonates too: with several
        bindings none is known to be its own, and the MAC lends its identity to nobody.
        """
        bound = self.bound.get(mac, set())
        return next(iter(bound)) if len(bound) == 1 else None

    def groups(self) -> list[list[HostRecord]]:
        """Hosts that are one device: IP hosts sharing a MAC, plus MAC-only facts."""
        routers = self.router_macs()
        parent: dict[str, str] = {key: key for key in self.hosts}

        def find(key: str) -> str:
            while parent[key] != key:
                parent[key] = parent[parent[key]]
                key = parent[key]
            return key

        def union(a: str, b: str) -> None:
            root_a, root_b = find(a), find(b)
            if root_a != root_b:
                parent[root_b] = root_a

        by_mac: dict[str, str] = {}
        # IP hosts first so that a MAC-keyed host joins an IP host, not the reverse.
        ordered = sorted(self.hosts.values(), key=lambda r: (r.ip is None, r.first_packet))
        for record in ordered:
            for mac in record.macs:
                if mac in routers or normalise_mac(mac) != mac:
                    continue
                first = by_mac.setdefault(mac, record.key)
                if first != record.key:
                    union(first, record.key)
        for mac, ip in self.bindings.items():
            if mac in by_mac and ip in self.hosts and mac not in routers:
                union(ip, by_mac[mac])
        for mac in routers:
            # Facts a forwarder sent at layer 2 are its own: they join its own address only.
            own, layer2 = self.own_address(mac), f"mac:{mac}"
            if own is not None and own in self.hosts and layer2 in self.hosts:
                union(own, layer2)
        grouped: dict[str, list[HostRecord]] = {}
        for record in ordered:
            grouped.setdefault(find(record.key), []).append(record)
        return list(grouped.values())

    def build_devices(
        self, identify: Callable[[HostEvidence], Device], *, release: bool = False
    ) -> list[Device]:
        """One device per group of records, identified by the stage the caller hands in;
        ``release`` lets each record's facts go once its device is built."""
        routers = self.router_macs()
        groups = self.groups()
        # A forwarder is a device too: when neither its own address nor a layer-2 fact of
        # its own stands for it, it is shown on its own, by its MAC, with nothing behind it.
        for mac in sorted(routers):
            own = self.own_address(mac)
            if (own is not None and own in self.hosts) or f"mac:{mac}" in self.hosts:
                continue
            seen = [record.macs[mac] for record in self.hosts.values() if mac in record.macs]
            packet, time = min(seen, default=(0, 0.0))
            record = HostRecord(f"mac:{mac}", None, packet, time, macs={mac: (packet, time)})
            groups.append([record])
        devices = []
        self.refused_only = 0
        for group in groups:
            device = self._device(group, identify, routers)
            if device.manufacturer is None and _only_refused(group):
                # It refused connections and did nothing else: no identity, no device.
                self.refused_only += sum(record.ip is not None for record in group)
            else:
                devices.append(device)
            if release:
                # Its facts are in the device now: a capture of thousands of hosts does not
                # hold both (issue 14). The record itself stays, for the counts.
                for record in group:
                    record.observations = {}
                    record.controls = None
                    record.directory_controls = None
                    record.contacts = {}
                    record.attempts = {}
                    record.peers = None
        return devices

    def _device(
        self,
        group: list[HostRecord],
        identify: Callable[[HostEvidence], Device],
        routers: set[str],
    ) -> Device:
        notes: list[str] = []
        ips = [record.ip for record in group if record.ip is not None]
        # A MAC-keyed record holds the MAC's own (layer-2) facts: a forwarder keeps it there.
        macs = [
            mac
            for record in group
            for mac in record.macs
            if normalise_mac(mac) == mac and (mac not in routers or record.ip is None)
        ]
        mac = macs[0] if macs else None
        if mac is None:
            # ARP/DHCP name a forwarder's own address (only if it has one binding); any other
            # address behind a forwarder's MAC gets no MAC: its maker is not the forwarder's.
            owned = [
                m
                for m, bound in self.bindings.items()
                if (self.own_address(m) in ips if m in routers else bound in ips)
            ]
            mac = owned[0] if owned else None
        hints = [hint for record in group for hint in record.ip_hints]
        if ips:
            ipv4 = [ip for ip in ips if ":" not in ip]
            ip = (ipv4 or ips)[0]
            others = sorted(set(ips) - {ip})
            if others:
                notes.append(
                    f"also seen as {', '.join(others)} ({self._merged_by(group, routers, mac)})"
                )
        elif mac is not None and self._bound_address(mac, routers) is not None:
            ip = self._bound_address(mac, routers) or "unknown"
            notes.append(f"address {ip} from DHCP/ARP; the host sent nothing from it")
        elif hints:
            ip = hints[0]
            notes.append(f"address {ip} as the device announced it; it sent nothing from it")
        else:
            ip = "unknown"
            notes.append(f"no IP address seen for MAC {mac}; identified at layer 2 only")
        if mac in routers:
            behind = sorted(self.mac_sources.get(mac, set()) - set(ips))
            if behind:
                notes.append(
                    f"MAC {mac} forwards frames for {', '.join(behind[:4])}"
                    + (" and more" if len(behind) > 4 else "")
                    + " (a router, or a host relaying for others): they are not this device"
                )
        forwarders = set().union(*(record.macs.keys() & routers for record in group)) - {mac}
        if forwarders:
            router = sorted(forwarders)
            notes.append(
                f"{FORWARDED_NOTE_PREFIX} {', '.join(router)} (a router, or a host "
                "relaying for several addresses): its identity is not this host's"
            )
        observations: list[Observation] = []
        seen: set[tuple[str, int | None, str, str]] = set()
        for record in group:
            for key, kept in record.observations.items():
                if key not in seen:
                    seen.add(key)
                    observations.append(_with_where(key, kept))
        dropped = sum(record.dropped_observations for record in group)
        if dropped:
            notes.append(f"{dropped} further distinct facts not kept (cap per host)")
        for record in group:
            for port, status in record.catch_all.items():
                notes.append(
                    f"port {port} answers every path with {status}: vendor endpoint statuses "
                    "there prove nothing and were dropped"
                )
                observations = [
                    o
                    for o in observations
                    if not (
                        o.field == "http.endpoint"
                        and o.port == port
                        and o.value.endswith(f"-> {status}")
                    )
                ]
        observations, uncontrolled = _controlled(group, observations, notes, self.directories)
        hostnames = [name for record in group for name in record.hostnames]
        open_ports = sorted({port for record in group for port in record.open_ports})
        attempts = self._attempts(group)
        contacts = sorted(
            (contact for record in group for contact in record.contacts.values()),
            key=lambda contact: (contact.packet, contact.service, contact.endpoint),
        )
        device = identify(
            HostEvidence(
                ip,
                tuple(open_ports),
                tuple(attempts),
                observations=tuple(observations),
                mac=mac,
                hostname=hostnames[0] if hostnames else None,
                notes=tuple(notes),
                phones_home=tuple(contacts),
                answered=True,
            )
        )
        first_frame = min(
            (seen_at for record in group for m, seen_at in record.macs.items() if m == mac),
            default=None,
        )
        # Where each fact was seen (packet number and time) is passive's own context; the
        # vendor endpoint answers that claimed nothing are shown beside it.
        evidence = _with_details(device.evidence, observations + uncontrolled, mac, first_frame)
        notes = list(device.notes)
        if not open_ports and device.manufacturer is None:
            # Nothing identified it and it served nothing: what it did is all there is to
            # tell (a scanner, a workstation). Written after identification: it changes none.
            client = _client_note(group)
            if client is not None:
                notes.append(client)
        return dataclasses.replace(device, evidence=tuple(evidence), notes=tuple(notes))

    def _merged_by(self, group: list[HostRecord], routers: set[str], mac: str | None) -> str:
        """Why the group's addresses are one device, for its "also seen as" note: each MAC
        two of them share, and whether it was the Ethernet source of their packets or a MAC
        their messages reported (those never used it as a source); each binding (ARP, DHCP,
        a discovery reply) that gave one of them another's MAC."""
        holders: dict[str, list[HostRecord]] = {}
        for record in group:
            if record.ip is None:
                continue
            for held in record.macs:
                if held not in routers and normalise_mac(held) == held:
                    holders.setdefault(held, []).append(record)
        reasons = []
        for held, records in holders.items():
            if len(records) < 2:
                continue
            # A MAC behind fewer addresses than a forwarder's has all of them in mac_sources.
            sources = self.mac_sources.get(held, set())
            ethernet = [r.ip for r in records if r.ip is not None and r.ip in sources]
            reported = [r for r in records if r.ip not in sources]
            said = " and ".join(
                sorted(
                    {
                        _MESSAGE_LABELS.get(protocol, protocol)
                        for protocol in ((r.reported_macs or {}).get(held) for r in reported)
                        if protocol is not None
                    }
                )
            )
            said = f"{said} messages" if said else "messages"
            if not reported:
                reasons.append(f"same MAC {held}, the Ethernet source of their packets")
            elif not ethernet:
                reasons.append(
                    f"same MAC {held}, reported in their {said}; "
                    "not the Ethernet source of their packets"
                )
            else:
                reasons.append(
                    f"same MAC {held}: the Ethernet source of packets from "
                    f"{', '.join(sorted(ethernet))}, "
                    f"reported in {said} from "
                    + ", ".join(sorted(r.ip for r in reported if r.ip is not None))
                )
        addresses = {record.ip for record in group if record.ip is not None}
        for held, address in self.bindings.items():
            if (
                address in addresses
                and held in holders
                and all(record.ip != address for record in holders[held])
            ):
                how = self.bound_by.get(held, "arp")
                label = "ARP" if how == "arp" else _MESSAGE_LABELS.get(how, how)
                reasons.append(f"{label} says MAC {held} (of {holders[held][0].ip}) has {address}")
        return "; ".join(reasons) or f"same MAC {mac}"

    def _bound_address(self, mac: str, routers: set[str]) -> str | None:
        """The address ARP/DHCP give ``mac``: a forwarder's only if it has exactly one."""
        return self.own_address(mac) if mac in routers else self.bindings.get(mac)

    @staticmethod
    def _attempts(group: list[HostRecord]) -> list[ProbeAttempt]:
        merged: dict[tuple[str, int], _Attempts] = {}
        for record in group:
            for key, outcome in record.attempts.items():
                target = merged.setdefault(key, _Attempts())
                target.ok += outcome.ok
                target.problems += outcome.problems
                if outcome.problems and not target.error:
                    target.status, target.error = outcome.status, outcome.error
        attempts = []
        for (probe, port), outcome in sorted(
            merged.items(), key=lambda item: (item[0][1], item[0][0])
        ):
            total = outcome.ok + outcome.problems
            if outcome.problems == 0:
                attempts.append(ProbeAttempt(probe, port, AttemptStatus.OK))
                continue
            error = f"{outcome.problems} of {total} conversations: {outcome.error}"
            status = AttemptStatus.OK if outcome.ok else outcome.status
            attempts.append(ProbeAttempt(probe, port, status, error=error))
        return attempts


def _only_refused(group: list[HostRecord]) -> bool:
    """Whether the group's hosts did nothing but refuse connections: one sent a refusal, none
    sent anything else (ARP aside) or holds a fact, port, name or conversation of its own."""
    return any(record.refused for record in group) and not any(
        record.spoke
        or record.observations
        or record.open_ports
        or record.hostnames
        or record.contacts
        or record.attempts
        or record.catch_all
        or record.controls
        or record.directory_controls
        or record.ip_hints
        or record.peers
        or record.dropped_observations
        or record.repeated_observations
        for record in group
    )


def _protected_status(observation: Observation) -> int | None:
    """The status of an ``http.endpoint`` answer (``GET /path -> 401``) when it says "exists
    but protected" (:data:`PROTECTED_STATUSES`), else None."""
    if observation.field != "http.endpoint":
        return None
    status = observation.value.rpartition(" -> ")[2]
    if not status.isdigit() or int(status) not in PROTECTED_STATUSES:
        return None
    return int(status)


def _is_canary(request: str) -> bool:
    """Whether ``request`` (``GET /path``) is the live HTTP probe's own control request."""
    return request.endswith(f" {CANARY_PATH}")


def _directory_rank(request: str, status: int, own: str) -> tuple[bool, int]:
    """How a directory's control answer ranks (the lowest is named): provscan's own control
    request ``own`` there first, then by :data:`CONTROL_RANK`."""
    return not request.endswith(f" {own}"), CONTROL_RANK.get(status, 3)


def _directory_control_of(
    group: list[HostRecord], port: int | None, directory: str, own: str, answer: int
) -> tuple[str, int, int, float] | None:
    """The control (:func:`~provscan.observations.http.is_control`) for a vendor endpoint's
    answer ``answer`` in ``directory`` of the group's server on ``port``: (request, status,
    packet, time), ranked by :func:`_directory_rank`, then the earliest."""
    if port is None:
        return None
    held = [
        kept
        for record in group
        if record.directory_controls
        and (kept := record.directory_controls.get((port, directory))) is not None
        and is_control(kept[1], answer)
    ]
    if not held:
        return None
    return min(held, key=lambda kept: (*_directory_rank(kept[0], kept[1], own), kept[2]))


def _control_of(group: list[HostRecord], port: int | None) -> tuple[str, int, int, float] | None:
    """The control answer of the group's server on ``port``: (request, status, packet, time);
    provscan's own canary request first, then by :data:`CONTROL_RANK`, then the earliest."""
    seen = [
        (not _is_canary(request), CONTROL_RANK.get(status, 3), packet, request, status, time)
        for record in group
        if record.controls and port in record.controls
        for status, (request, packet, time) in record.controls[port].items()
    ]
    if not seen:
        return None
    _, _, packet, request, status, time = min(seen)
    return request, status, packet, time


def _controlled(
    group: list[HostRecord],
    observations: list[Observation],
    notes: list[str],
    directories: DirectoryControls,
) -> tuple[list[Observation], list[Observation]]:
    """(observations to identify, vendor endpoint answers withheld from identification).

    A vendor endpoint's "exists but protected" answer (``GET /ISAPI/System/deviceInfo ->
    401``) says which maker made the server only when the server is seen answering another
    path otherwise: the live HTTP probe asks a path no device has first (the canary), and a
    capture holds such a control only when the same server, somewhere in it, answered a
    path no vendor endpoint names with 200 or "no such page". With one, the answer stays and
    its detail names the control; without one it claims nothing (a password-protected
    router asked for vendor paths by a vulnerability scanner answers them all 401): it is
    shown as evidence with no rule, and the device gets a note. An endpoint under a directory
    generic servers protect as a whole needs a control in that directory too
    (:func:`_in_directory`).
    """
    kept: list[Observation] = []
    withheld: list[Observation] = []
    unanswered: dict[int | None, dict[int, int]] = {}  # port -> status -> answers
    for observation in observations:
        status = _protected_status(observation)
        if status is None:
            kept.append(observation)
            continue
        control = _control_of(group, observation.port)
        if control is not None:
            request, control_status, packet, time = control
            control_text = control_detail(request, control_status)
            detail = f"{observation.detail}; {control_text} ({where(packet, time)})"
            kept.append(_in_directory(group, observation, status, detail, directories))
            continue
        detail = (
            f"{observation.detail}; {status} to a vendor path; the capture shows no control "
            f"request, so it may answer {status} to every path"
        )
        withheld.append(dataclasses.replace(observation, detail=detail))
        counts = unanswered.setdefault(observation.port, {})
        counts[status] = counts.get(status, 0) + 1
    for port, counts in unanswered.items():
        total = sum(counts.values())
        paths = "a vendor path" if total == 1 else f"{total} vendor paths"
        statuses = "/".join(str(status) for status in sorted(counts))
        notes.append(
            f"port {port} answered {paths} with {statuses} and the capture shows no control "
            "request (no other path answered 200 or 404): no maker claimed from them"
        )
    return kept, withheld


def _in_directory(
    group: list[HostRecord],
    observation: Observation,
    status: int,
    detail: str,
    directories: DirectoryControls,
) -> Observation:
    """A vendor endpoint's 401/403 beside a root control (``detail`` names it), held to its
    directory control too when its endpoint has one (``/cgi-bin/magicBox.cgi``), as the live
    probe holds it: the same server answered another request in that directory (no vendor
    endpoint's path) with 200 or "no such page" - then the detail names that answer too -
    or the value gets :data:`WHOLE_DIRECTORY
    <provscan.observations.http.WHOLE_DIRECTORY>` and only a rule for a value several
    makers share reads it (a server that asks a password for all of ``/cgi-bin/``)."""
    request = observation.value.rpartition(" -> ")[0]
    directory = directories.by_endpoint.get(request.partition(" ")[2])
    if directory is None or status not in DIRECTORY_PROTECTED_STATUSES:
        return dataclasses.replace(observation, detail=detail)
    control = _directory_control_of(
        group, observation.port, directory, directories.requests[directory], status
    )
    if control is not None:
        asked, control_status, packet, time = control
        control_text = control_detail(asked, control_status)
        detail = f"{detail}; directory {control_text} ({where(packet, time)})"
        return dataclasses.replace(observation, detail=detail)
    detail = (
        f"{detail}; no other request in {directory} answered 200 or 404 in the capture, so it "
        f"may answer {status} to all of {directory}"
    )
    value = f"{observation.value} {WHOLE_DIRECTORY}"
    return dataclasses.replace(observation, value=value, detail=detail)


def _client_note(group: list[HostRecord]) -> str | None:
    """The note of a group that sent SYNs: "served nothing; sent TCP connection requests to
    75 hosts"."""
    peers: set[bytes] = set()
    for record in group:
        if record.peers:
            view = bytes(record.peers)
            peers.update(view[at : at + PEER_BYTES] for at in range(0, len(view), PEER_BYTES))
    if not peers:
        return None
    more = "more than " if any(record.more_peers for record in group) else ""
    hosts = "host" if len(peers) == 1 and not more else "hosts"
    return f"{SERVED_NOTHING_NOTE_PREFIX} {more}{len(peers)} {hosts}"


def _with_where(key: FactKey, kept: KeptFact) -> Observation:
    """The kept fact as an observation, with where it was first seen in its detail."""
    packet, time, own = kept
    detail = where(packet, time)
    if own:
        detail = f"{detail}; {own}"
    protocol, port, field_name, value = key
    return Observation(protocol, port, field_name, value, detail)


def _with_details(
    evidence: Sequence[Evidence],
    observations: Sequence[Observation],
    mac: str | None,
    first_frame: tuple[int, float] | None,
) -> list[Evidence]:
    """Evidence with where each fact was seen, plus the passive facts no rule matched."""
    details: dict[tuple[str, int | None, str, str], str] = {}
    for observation in observations:
        key = (observation.protocol, observation.port, observation.field, _clip(observation.value))
        details.setdefault(key, observation.detail)
    result: list[Evidence] = []
    shown: set[tuple[str, int | None, str, str]] = set()
    for item in evidence:
        key = (item.protocol, item.port, item.observed_field, item.observed)
        shown.add(key)
        detail = details.get(key, item.detail)
        if item.observed_field == "mac.oui" and mac is not None:
            detail = f"{mac}; first frame {where(*first_frame)}" if first_frame else mac
            if first_frame is None:
                carrier = next(
                    (
                        o
                        for o in observations
                        if o.field in MAC_FIELDS and normalise_mac(o.value) == mac
                    ),
                    None,
                )
                if carrier is not None:
                    detail = f"{mac} from {carrier.field}; {carrier.detail}"
        if detail != item.detail:  # (built directly: dataclasses.replace is slow, issue 14)
            item = Evidence(
                item.protocol,
                item.port,
                item.observed_field,
                item.observed,
                item.rule_id,
                item.asserts,
                item.certainty,
                detail,
            )
        result.append(item)
    for observation in observations:
        if observation.field not in PASSIVE_CONTEXT_FIELDS:
            continue
        key = (observation.protocol, observation.port, observation.field, _clip(observation.value))
        if key in shown:
            continue
        shown.add(key)
        result.append(
            Evidence(
                observation.protocol,
                observation.port,
                observation.field,
                _clip(observation.value),
                None,
                {},
                0.0,
                observation.detail,
            )
        )
    result.sort(key=lambda e: (-e.certainty, e.protocol, e.port or 0, e.observed_field))
    return result

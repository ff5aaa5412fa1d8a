"""What hosts say unasked, over UDP and at layer 2 (pure parsers: payload bytes in, facts out).

DHCP and DNS are decoded with dpkt. The discovery protocols (Hikvision SADP on UDP 37020,
Dahua DHDiscover on UDP 37810, WS-Discovery on UDP 3702, SSDP on UDP 1900, mDNS on UDP
5353, Tuya's local-protocol broadcasts on UDP 6666/6667) are read by the observation layer
(:mod:`provscan.observations`) that ``provscan discover`` uses too, so a reply seen on a
mirror port yields the same observation fields as one we asked for, and the same
fingerprints apply; announcements an active search never receives (WS-Discovery Hello, SSDP NOTIFY) are read by the same
functions. Only messages a *device* sends count: a DHCP request, a DNS query, an SADP
ProbeMatch, a DHDiscover reply, a WS-Discovery Hello or ProbeMatches, an SSDP NOTIFY or
search reply, an mDNS response. Searches sent by management tools are ignored. Every
parser returns ``None`` or an empty result on malformed input; none raises.
"""

from __future__ import annotations

import functools
import socket
import struct
from dataclasses import dataclass, field
from typing import Protocol

import dpkt

from provscan.errors import ProvscanError
from provscan.observations import dhdiscover, mdns, sadp, ssdp, tuya, wsd
from provscan.observations.sighting import Sighting
from provscan.wire.mac import normalise_mac

#: Longest single value kept from a discovery message.
MAX_VALUE_CHARS = 200
#: Most questions read from one DNS query.
MAX_DNS_RECORDS = 32

PORT_DHCP_SERVER = 67
PORT_DHCP_CLIENT = 68
PORT_DNS = 53
PORT_MDNS = mdns.PORT
PORT_SSDP = ssdp.PORT
PORT_WSD = wsd.PORT
PORT_SADP = sadp.PORT
PORT_DHDISCOVER = dhdiscover.PORT
PORTS_TUYA = frozenset(tuya.PORTS)
DISCOVERY_ONLY_PORTS = (
    frozenset({PORT_MDNS, PORT_SSDP, PORT_WSD, PORT_SADP, PORT_DHDISCOVER}) | PORTS_TUYA
)
DISCOVERY_PORTS = frozenset({PORT_DHCP_SERVER, PORT_DHCP_CLIENT, PORT_DNS}) | DISCOVERY_ONLY_PORTS

_DHCP_HOSTNAME = 12
_DHCP_REQUESTED_IP = 50
_DHCP_MESSAGE_TYPE = 53
_DHCP_PARAMETER_LIST = 55
_DHCP_VENDOR_CLASS = 60
_DHCP_ACK = 5


@dataclass
class Facts:
    """Facts from one message: observation (field, value) pairs and identity hints."""

    protocol: str
    port: int
    fields: list[tuple[str, str]] = field(default_factory=list)
    #: The MAC the message speaks for (DHCP chaddr, SADP MAC, …), normalised.
    mac: str | None = None
    #: An address the message says the device has (DHCP ACK, SADP/DHDiscover IPv4Address).
    ip: str | None = None
    hostname: str | None = None
    #: Domain names the host looked up (DNS queries), for phone-home matching.
    names: list[str] = field(default_factory=list)

    def add(self, field_name: str, value: object) -> None:
        if isinstance(value, str | int) and not isinstance(value, bool):
            text = " ".join(str(value).split())[:MAX_VALUE_CHARS]
            if text:
                self.fields.append((field_name, text))


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").replace("\x00", "").strip()


def _ip_text(value: str | None) -> str | None:
    if not value:
        return None
    try:
        socket.inet_pton(socket.AF_INET, value)
    except OSError:
        return None
    return None if value in ("0.0.0.0", "255.255.255.255") else value


# --- DHCP ------------------------------------------------------------------------------


def parse_dhcp(payload: bytes) -> Facts | None:
    """A client's DHCP request (hostname, vendor class, parameter list) or a server's ACK."""
    try:
        message = dpkt.dhcp.DHCP(payload)
    except (dpkt.UnpackError, ValueError, IndexError, struct.error):
        return None
    options = dict(message.opts)
    mac = normalise_mac(bytes(message.chaddr[:6]).hex()) if message.hln == 6 else None
    if message.op == dpkt.dhcp.DHCP_OP_REQUEST:
        facts = Facts("dhcp", PORT_DHCP_SERVER, mac=mac)
        hostname = _text(options.get(_DHCP_HOSTNAME, b""))
        if hostname:
            facts.add("dhcp.hostname", hostname)
            facts.hostname = hostname[:MAX_VALUE_CHARS]
        facts.add("dhcp.vendor_class", _text(options.get(_DHCP_VENDOR_CLASS, b"")))
        parameters = options.get(_DHCP_PARAMETER_LIST, b"")
        if parameters:
            facts.add("dhcp.parameter_list", ",".join(str(code) for code in parameters))
        requested = options.get(_DHCP_REQUESTED_IP, b"")
        if len(requested) == 4:
            facts.ip = _ip_text(socket.inet_ntoa(requested))
        if message.ciaddr:
            facts.ip = _ip_text(socket.inet_ntoa(message.ciaddr.to_bytes(4, "big"))) or facts.ip
        return facts
    message_type = options.get(_DHCP_MESSAGE_TYPE, b"")
    if message.op == dpkt.dhcp.DHCP_OP_REPLY and message_type[:1] == bytes([_DHCP_ACK]):
        # The server's ACK binds the client's MAC to its address: an identity hint only.
        return Facts(
            "dhcp",
            PORT_DHCP_CLIENT,
            mac=mac,
            ip=_ip_text(socket.inet_ntoa(message.yiaddr.to_bytes(4, "big"))),
        )
    return None


# --- DNS and mDNS ----------------------------------------------------------------------


def _dns(payload: bytes) -> dpkt.dns.DNS | None:
    try:
        return dpkt.dns.DNS(payload)
    except (dpkt.UnpackError, ValueError, IndexError, UnicodeDecodeError, struct.error):
        return None


def _name(value: str) -> str:
    return value.strip().rstrip(".").lower()


def parse_dns_query(payload: bytes) -> Facts | None:
    """The names asked in a DNS query (not the answers)."""
    message = _dns(payload)
    if message is None or message.qr != dpkt.dns.DNS_Q:
        return None
    facts = Facts("dns", PORT_DNS)
    for question in message.qd[:MAX_DNS_RECORDS]:
        name = _name(question.name)
        if name and name not in facts.names:
            facts.names.append(name)
            facts.add("dns.query", name)
    return facts if facts.fields else None


# --- SADP at layer 2 (Hikvision) -------------------------------------------------------


def parse_sadp_layer2(payload: bytes) -> Facts:
    """An SADP frame at layer 2 (ethertype 0x8033): the protocol itself is the fact."""
    facts = Facts("sadp", 0)
    facts.add("discovery.protocol", f"sadp layer-2 frame ({len(payload)} bytes)")
    return facts


# --- the discovery protocols ------------------------------------------------------------


class _Reader(Protocol):
    def __call__(self, data: bytes, *, announcements: bool = False) -> Sighting | None: ...


#: UDP port -> (protocol name, the observation layer's reader of its messages).
_READERS: dict[int, tuple[str, _Reader]] = {
    PORT_SADP: (sadp.PROTOCOL, sadp.read),
    PORT_DHDISCOVER: (dhdiscover.PROTOCOL, dhdiscover.read),
    PORT_WSD: (wsd.PROTOCOL, wsd.read),
    PORT_SSDP: (ssdp.PROTOCOL, ssdp.read),
    PORT_MDNS: (mdns.PROTOCOL, mdns.read),
    **{port: (tuya.PROTOCOL, tuya.read) for port in PORTS_TUYA},
}


#: Discovery messages up to this size are remembered with what they say (see below).
MAX_REMEMBERED_MESSAGE = 2048
#: How many such messages are remembered (the least recently seen go first).
REMEMBERED_MESSAGES = 1024


def parse_discovery(port: int, payload: bytes, address: str) -> Facts | None:
    """A device's discovery message (answer or announcement) on ``port``, or None.

    Every such message counts (``discovery.protocol``), even one that says nothing else.
    ``address`` (the sender) is not needed: what a message says is independent of it.
    Devices repeat the same announcements byte for byte (SSDP NOTIFY for each service,
    mDNS, WS-Discovery Hello), so what the last :data:`REMEMBERED_MESSAGES` short messages
    said is remembered: the same bytes on the same port give the same :class:`Facts` object
    (read-only for callers), parsed once (a 1 GB capture's 21,164 messages, 192 of them
    distinct, took 0.9 s of its read loop to parse; issue 14).
    """
    if len(payload) <= MAX_REMEMBERED_MESSAGE:
        return _remembered_discovery(port, bytes(payload))
    return _parse_discovery(port, payload)


@functools.lru_cache(maxsize=REMEMBERED_MESSAGES)
def _remembered_discovery(port: int, payload: bytes) -> Facts | None:
    return _parse_discovery(port, payload)


def _parse_discovery(port: int, payload: bytes) -> Facts | None:
    entry = _READERS.get(port)
    if entry is None:
        return None
    protocol, read = entry
    try:
        sighting = read(payload, announcements=True)
    except (ProvscanError, ValueError, UnicodeError, RecursionError):
        return None
    if sighting is None:
        return None
    facts = Facts(protocol, port)
    facts.add("discovery.protocol", sighting.message)
    for observation in sighting.observations:
        facts.add(observation.field, observation.value)
    facts.mac = sighting.mac
    facts.ip = _ip_text(sighting.address)
    if sighting.hostname:
        facts.hostname = sighting.hostname[:MAX_VALUE_CHARS]
    return facts

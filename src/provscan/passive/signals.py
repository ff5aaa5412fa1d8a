"""What hosts say unasked, over UDP and at layer 2 (pure parsers: payload bytes in, facts out).

DHCP and DNS are decoded with dpkt. The discovery protocols (Hikvision SADP on UDP 37020,
Dahua DHDiscover on UDP 37810, WS-Discovery on UDP 3702, SSDP on UDP 1900, mDNS on UDP
5353) are interpreted by the same pure ``interpret`` functions ``provscan discover`` uses
(:mod:`provscan.discovery`), so a reply seen on a mirror port yields the same observation
fields as one we asked for, and the same fingerprints apply. What those functions leave
out because an active search never receives it (WS-Discovery Hello, SSDP NOTIFY, mDNS
announcements) is parsed here into the same field names. Only messages a *device* sends
count: a DHCP request, a DNS query, an SADP ProbeMatch, a DHDiscover reply, a WS-Discovery
Hello or ProbeMatches, an SSDP NOTIFY or search reply, an mDNS response. Searches sent by
management tools are ignored. Every parser returns ``None`` or an empty result on
malformed input; none raises.
"""

from __future__ import annotations

import json
import re
import socket
import struct
from dataclasses import dataclass, field
from urllib.parse import unquote

import dpkt
from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from provscan.attribution.mac import normalise_mac
from provscan.discovery.dhdiscover import DhDiscover
from provscan.discovery.interface import DiscoveryProtocol
from provscan.discovery.mdns import Mdns
from provscan.discovery.sadp import Sadp
from provscan.discovery.ssdp import Ssdp
from provscan.discovery.wsd import WsDiscovery
from provscan.errors import ProvscanError
from provscan.wire.dahua import DHIP_PREFIX, HEADER_BYTES

#: Longest discovery payload parsed (XML/JSON/text); longer ones are cut.
MAX_DISCOVERY_BYTES = 16 * 1024
#: Longest single value kept from a discovery message.
MAX_VALUE_CHARS = 200
#: Most records read from one DNS/mDNS message.
MAX_DNS_RECORDS = 32

PORT_DHCP_SERVER = 67
PORT_DHCP_CLIENT = 68
PORT_DNS = 53
PORT_MDNS = 5353
PORT_SSDP = 1900
PORT_WSD = 3702
PORT_SADP = 37020
PORT_DHDISCOVER = 37810
DISCOVERY_ONLY_PORTS = frozenset({PORT_MDNS, PORT_SSDP, PORT_WSD, PORT_SADP, PORT_DHDISCOVER})
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


def parse_mdns(payload: bytes) -> Facts | None:
    """An mDNS response: service types, instance names, host names and TXT records."""
    message = _dns(payload)
    if message is None or message.qr != dpkt.dns.DNS_R:
        return None
    facts = Facts("mdns", PORT_MDNS)
    seen: set[tuple[str, str]] = set()

    def add(field_name: str, value: str) -> None:
        if value and (field_name, value) not in seen:
            seen.add((field_name, value))
            facts.add(field_name, value)

    records = [*message.an, *message.ns, *message.ar][:MAX_DNS_RECORDS]
    for record in records:
        name = _name(record.name)
        if record.type == dpkt.dns.DNS_PTR:
            target = _name(getattr(record, "ptrname", ""))
            if name.startswith("_") and not name.startswith("_services."):
                add("mdns.service", name)
                if target.endswith(name):
                    add("mdns.instance", target[: -len(name)].rstrip("."))
        elif record.type == dpkt.dns.DNS_SRV:
            add("mdns.host", _name(getattr(record, "srvname", "")))
        elif record.type == dpkt.dns.DNS_A and name.endswith(".local"):
            add("mdns.host", name)
            if facts.hostname is None:
                facts.hostname = name.removesuffix(".local")
        elif record.type == dpkt.dns.DNS_TXT:
            texts = [
                entry.decode("utf-8", "replace") if isinstance(entry, bytes) else str(entry)
                for entry in getattr(record, "text", [])
            ]
            add("mdns.txt", "; ".join(t for t in texts if t))
    return facts if facts.fields else None


# --- SADP (Hikvision) ------------------------------------------------------------------

_SADP_FIELDS = {
    "DeviceType": "sadp.device_type",
    "DeviceDescription": "sadp.description",
    "DeviceSN": "sadp.serial",
    "MAC": "sadp.mac",
    "SoftwareVersion": "sadp.firmware",
    "DSPVersion": "sadp.dsp_version",
    "OEMInfo": "sadp.oem_info",
}


def _xml(payload: bytes) -> SafeET.Element | None:
    try:
        element: SafeET.Element = SafeET.fromstring(payload[:MAX_DISCOVERY_BYTES])
    except (SafeET.ParseError, DefusedXmlException, ValueError, UnicodeError):
        return None
    return element


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1]


def parse_sadp(payload: bytes) -> Facts | None:
    """An SADP ProbeMatch (a Hikvision device describing itself), as XML over UDP 37020."""
    root = _xml(payload.strip())
    if root is None or _local(root.tag) != "ProbeMatch":
        return None
    facts = Facts("sadp", PORT_SADP)
    facts.add("discovery.protocol", "sadp ProbeMatch")
    types = root.find("Types")
    facts.add("sadp.reply", f"ProbeMatch/{(types.text or '').strip() if types is not None else ''}")
    for element in root:
        name = _local(element.tag)
        text = (element.text or "").strip()
        if name in _SADP_FIELDS and text:
            facts.add(_SADP_FIELDS[name], text)
        if name == "MAC":
            facts.mac = normalise_mac(text)
        elif name == "IPv4Address":
            facts.ip = _ip_text(text)
    return facts


def parse_sadp_layer2(payload: bytes) -> Facts:
    """An SADP frame at layer 2 (ethertype 0x8033): the protocol itself is the fact."""
    facts = Facts("sadp", 0)
    facts.add("discovery.protocol", f"sadp layer-2 frame ({len(payload)} bytes)")
    return facts


# --- DHDiscover (Dahua) ----------------------------------------------------------------

_DHDISCOVER_FIELDS = {
    "Vendor": "dahua.discovery.vendor",
    "Manufacturer": "dahua.discovery.manufacturer",
    "DeviceType": "dahua.discovery.device_type",
    "DeviceClass": "dahua.discovery.device_class",
    "SerialNo": "dahua.discovery.serial",
    "Version": "dahua.discovery.version",
    "MachineName": "dahua.discovery.machine_name",
}


def parse_dhdiscover(payload: bytes) -> Facts | None:
    """A DHDiscover reply (``client.notifyDevInfo``): DHIP header then JSON."""
    body = payload[HEADER_BYTES:] if payload.startswith(DHIP_PREFIX) else payload
    start = body.find(b"{")
    if start < 0:
        return None
    try:
        document = json.loads(body[start:MAX_DISCOVERY_BYTES].decode("utf-8", "replace"))
    except (ValueError, RecursionError):
        return None
    if not isinstance(document, dict) or document.get("method") != "client.notifyDevInfo":
        return None
    params = document.get("params")
    info = params.get("deviceInfo") if isinstance(params, dict) else None
    if not isinstance(info, dict):
        return None
    facts = Facts("dahua-discovery", PORT_DHDISCOVER)
    facts.add("discovery.protocol", "dhdiscover client.notifyDevInfo")
    for key, field_name in _DHDISCOVER_FIELDS.items():
        facts.add(field_name, info.get(key))
    mac = info.get("mac") or info.get("Mac")
    if isinstance(mac, str):
        facts.add("dahua.discovery.mac", mac)
        facts.mac = normalise_mac(mac)
    address = info.get("IPv4Address")
    if isinstance(address, dict) and isinstance(address.get("IPAddress"), str):
        facts.ip = _ip_text(address["IPAddress"])
    machine_name = info.get("MachineName")
    if isinstance(machine_name, str) and machine_name.strip():
        facts.hostname = machine_name.strip()[:MAX_VALUE_CHARS]
    return facts


# --- WS-Discovery (ONVIF) --------------------------------------------------------------

_DEVICE_MESSAGES = ("Hello", "ProbeMatches", "ResolveMatches")
_SCOPE = re.compile(r"^onvif://www\.onvif\.org/([A-Za-z_]+)/(.+)$")


def parse_ws_discovery(payload: bytes) -> Facts | None:
    """A WS-Discovery Hello or ProbeMatches: types and ONVIF scopes (name, hardware, …)."""
    root = _xml(payload)
    if root is None:
        return None
    message = next((_local(e.tag) for e in root.iter() if _local(e.tag) in _DEVICE_MESSAGES), None)
    if message is None:
        return None
    facts = Facts("wsd", PORT_WSD)
    facts.add("discovery.protocol", f"wsd {message}")
    for element in root.iter():
        name = _local(element.tag)
        text = " ".join((element.text or "").split())
        if not text:
            continue
        if name == "Types":
            facts.add("wsd.types", text)
        elif name == "Scopes":
            for scope in text.split()[:32]:
                found = _SCOPE.match(scope)
                if found is None:
                    continue
                kind, value = found.group(1).lower(), unquote(found.group(2))
                facts.add("wsd.scope", scope)
                if kind == "name":
                    facts.add("wsd.name", value)
                elif kind == "hardware":
                    facts.add("wsd.hardware", value)
                elif kind == "location":
                    facts.add("wsd.location", value)
                elif kind == "mac":
                    facts.mac = normalise_mac(value)
                    if facts.mac:
                        facts.add("wsd.mac", facts.mac)
        elif name == "XAddrs":
            facts.add("wsd.xaddrs", text)
    return facts


# --- SSDP (UPnP) -----------------------------------------------------------------------


def parse_ssdp(payload: bytes) -> Facts | None:
    """An SSDP NOTIFY or an M-SEARCH reply: SERVER, LOCATION and USN."""
    text = payload[:MAX_DISCOVERY_BYTES].decode("latin-1")
    lines = text.replace("\r\n", "\n").split("\n")
    first = lines[0].strip().upper()
    if first.startswith("NOTIFY "):
        message = "NOTIFY"
    elif first.startswith("HTTP/1.") and " 200" in first:
        message = "search reply"
    else:
        return None
    facts = Facts("ssdp", PORT_SSDP)
    facts.add("discovery.protocol", f"ssdp {message}")
    wanted = {
        "server": "ssdp.server",
        "location": "ssdp.location",
        "usn": "ssdp.usn",
        "st": "ssdp.st",
        "nt": "ssdp.nt",
    }
    for line in lines[1:64]:
        key, colon, value = line.partition(":")
        field_name = wanted.get(key.strip().lower())
        if colon and field_name:
            facts.add(field_name, value.strip())
    return facts


# --- the discovery module's interpreters -------------------------------------------------

#: Discovery fields that carry the device's own IPv4 address.
_ADDRESS_FIELDS = ("sadp.ipv4_address",)


def _discovery_interpreters() -> dict[int, DiscoveryProtocol]:
    """UDP port -> the ``provscan.discovery`` protocol that interprets its replies."""
    protocols: list[DiscoveryProtocol] = [Sadp(), DhDiscover(), WsDiscovery(), Ssdp(), Mdns()]
    return {protocol.port: protocol for protocol in protocols}


_INTERPRETERS = _discovery_interpreters()
_FALLBACKS = {
    PORT_SADP: parse_sadp,
    PORT_DHDISCOVER: parse_dhdiscover,
    PORT_WSD: parse_ws_discovery,
    PORT_SSDP: parse_ssdp,
    PORT_MDNS: parse_mdns,
}
_PROTOCOL_NAMES = {
    PORT_SADP: "sadp",
    PORT_DHDISCOVER: "dhdiscover",
    PORT_WSD: "wsd",
    PORT_SSDP: "ssdp",
    PORT_MDNS: "mdns",
}
_MESSAGE_NAMES = {
    PORT_SADP: "sadp ProbeMatch",
    PORT_DHDISCOVER: "dhdiscover client.notifyDevInfo",
    PORT_WSD: "wsd ProbeMatches",
    PORT_SSDP: "ssdp search reply",
    PORT_MDNS: "mdns response",
}


def parse_discovery(port: int, payload: bytes, address: str) -> Facts | None:
    """A device's discovery message on ``port`` (one of the discovery ports), or None."""
    interpreter = _INTERPRETERS.get(port)
    reply = None
    if interpreter is not None:
        try:
            reply = interpreter.interpret(payload, address, port)
        except (ProvscanError, ValueError, UnicodeError, RecursionError):
            reply = None
    if reply is None or not reply.observations:
        fallback = _FALLBACKS.get(port)
        return fallback(payload) if fallback is not None else None
    facts = Facts(_PROTOCOL_NAMES[port], port)
    facts.add("discovery.protocol", _MESSAGE_NAMES[port])
    for observation in reply.observations:
        facts.add(observation.field, observation.value)
        if observation.field in _ADDRESS_FIELDS:
            facts.ip = _ip_text(observation.value)
        elif observation.field == "dahua.discovery.machine_name" and facts.hostname is None:
            facts.hostname = observation.value[:MAX_VALUE_CHARS]
    if reply.mac:
        facts.mac = normalise_mac(reply.mac)
    if port == PORT_DHDISCOVER and facts.ip is None:
        # DHDiscover replies carry the address in JSON the interpreter does not report.
        own = parse_dhdiscover(payload)
        if own is not None:
            facts.ip = own.ip
    return facts

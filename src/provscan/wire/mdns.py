"""mDNS / DNS-SD messages (RFC 6762, RFC 6763), pure, with python-zeroconf's packet codec.

provscan sends one-shot queries (RFC 6762 §5.1): PTR questions for camera-relevant service
types and the ``_services._dns-sd._udp.local.`` enumeration, from an ephemeral port, so
responders answer by unicast to the sender (§6.7, "legacy unicast"). Answers carry PTR
(instance), SRV (host, port), TXT (``key=value`` strings; Axis sends ``macaddress``) and A
records. Only zeroconf's ``DNSIncoming``/``DNSOutgoing`` are used here, never its network
engine (see docs/decisions/0003-discovery.md).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from zeroconf import (  # type: ignore[attr-defined]  # re-exported names
    DNSAddress,
    DNSIncoming,
    DNSOutgoing,
    DNSPointer,
    DNSQuestion,
    DNSService,
    DNSText,
)
from zeroconf.const import (
    _CLASS_IN,
    _FLAGS_AA,
    _FLAGS_QR_QUERY,
    _FLAGS_QR_RESPONSE,
    _TYPE_A,
    _TYPE_PTR,
    _TYPE_SRV,
    _TYPE_TXT,
)

from provscan.errors import ProtocolError

MDNS_PORT = 5353
MDNS_MULTICAST_GROUP = "224.0.0.251"
SERVICE_ENUMERATION = "_services._dns-sd._udp.local."
#: Service types asked for by default: cameras, recorders and their web/RTSP servers.
DEFAULT_SERVICE_TYPES = (
    SERVICE_ENUMERATION,
    "_axis-video._tcp.local.",
    "_rtsp._tcp.local.",
    "_http._tcp.local.",
    "_onvif._tcp.local.",
)
MAX_MESSAGE_BYTES = 9000
MAX_RECORDS = 128
MAX_TXT_ITEMS = 32
_MAX_TEXT = 255
_TTL = 120


@dataclass(frozen=True)
class MdnsService:
    instance: str
    service_type: str
    host: str | None = None
    port: int | None = None
    txt: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class MdnsMessage:
    is_response: bool
    questions: tuple[str, ...]
    services: tuple[MdnsService, ...]
    #: Service types listed by a ``_services._dns-sd._udp`` enumeration answer.
    service_types: tuple[str, ...]
    addresses: tuple[tuple[str, str], ...]
    message_id: int = 0


def build_query(
    service_types: Sequence[str] = DEFAULT_SERVICE_TYPES, *, message_id: int = 0
) -> bytes:
    """One query packet asking for PTR records of ``service_types``."""
    out = DNSOutgoing(_FLAGS_QR_QUERY, multicast=False, id_=message_id)
    for name in service_types:
        out.add_question(DNSQuestion(name, _TYPE_PTR, _CLASS_IN))
    packets = out.packets()
    if len(packets) != 1:
        raise ValueError("query does not fit one packet")
    return bytes(packets[0])


def parse_txt(data: bytes) -> tuple[tuple[str, str], ...]:
    """RFC 6763 §6 TXT data: length-prefixed ``key=value`` strings."""
    items: list[tuple[str, str]] = []
    index = 0
    while index < len(data) and len(items) < MAX_TXT_ITEMS:
        length = data[index]
        chunk = data[index + 1 : index + 1 + length]
        index += 1 + length
        if not chunk:
            continue
        text = chunk.decode("utf-8", errors="replace")
        key, _, value = text.partition("=")
        items.append((key[:_MAX_TEXT], value[:_MAX_TEXT]))
    return tuple(items)


def build_txt(items: Mapping[str, str]) -> bytes:
    parts = []
    for key, value in items.items():
        chunk = f"{key}={value}".encode()[:255]
        parts.append(bytes([len(chunk)]) + chunk)
    return b"".join(parts) or b"\x00"


def parse_message(data: bytes) -> MdnsMessage:
    """Parse a DNS message. Raises ProtocolError when it is not one."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise ProtocolError(f"mDNS message larger than {MAX_MESSAGE_BYTES} bytes")
    if len(data) < 12:
        raise ProtocolError("mDNS message shorter than a DNS header")
    try:
        incoming = DNSIncoming(bytes(data))
    except Exception as exc:  # zeroconf validates; anything it throws is a bad packet
        raise ProtocolError(f"malformed DNS message: {type(exc).__name__}") from exc
    if not incoming.valid:
        raise ProtocolError("malformed DNS message")
    questions = tuple(q.name[:_MAX_TEXT] for q in incoming.questions[:MAX_RECORDS])
    records = list(incoming.answers())[:MAX_RECORDS]
    pointers: dict[str, str] = {}
    service_types: list[str] = []
    servers: dict[str, tuple[str, int]] = {}
    texts: dict[str, tuple[tuple[str, str], ...]] = {}
    addresses: list[tuple[str, str]] = []
    for record in records:
        if isinstance(record, DNSPointer):
            if record.name.lower() == SERVICE_ENUMERATION:
                service_types.append(record.alias[:_MAX_TEXT])
            else:
                pointers[record.alias[:_MAX_TEXT]] = record.name[:_MAX_TEXT]
        elif isinstance(record, DNSService):
            servers[record.name[:_MAX_TEXT]] = (record.server[:_MAX_TEXT], int(record.port))
        elif isinstance(record, DNSText):
            texts[record.name[:_MAX_TEXT]] = parse_txt(record.text)
        elif isinstance(record, DNSAddress) and record.type == _TYPE_A:
            try:
                address = str(ipaddress.IPv4Address(record.address))
            except ValueError:
                continue
            addresses.append((record.name[:_MAX_TEXT], address))
    instances = list(dict.fromkeys([*pointers, *servers, *texts]))
    services = []
    for instance in instances:
        service_type = pointers.get(instance) or instance.split(".", 1)[-1]
        host, port = servers.get(instance, (None, None))
        services.append(MdnsService(instance, service_type, host, port, texts.get(instance, ())))
    return MdnsMessage(
        is_response=incoming.is_response(),
        questions=questions,
        services=tuple(services),
        service_types=tuple(service_types),
        addresses=tuple(addresses),
        message_id=incoming.id,
    )


def build_response(
    services: Sequence[MdnsService],
    *,
    address: str,
    questions: Sequence[str] = (),
    message_id: int = 0,
) -> bytes:
    """The device side (lab and tests): PTR + SRV + TXT + A for each service.

    With ``questions`` (a legacy-unicast answer) the questions are repeated and the id echoed.
    """
    out = DNSOutgoing(_FLAGS_QR_RESPONSE | _FLAGS_AA, multicast=False, id_=message_id)
    for name in questions:
        out.add_question(DNSQuestion(name, _TYPE_PTR, _CLASS_IN))
    packed = ipaddress.IPv4Address(address).packed
    hosts: set[str] = set()
    for service in services:
        out.add_answer_at_time(
            DNSPointer(SERVICE_ENUMERATION, _TYPE_PTR, _CLASS_IN, _TTL, service.service_type), 0
        )
        out.add_answer_at_time(
            DNSPointer(service.service_type, _TYPE_PTR, _CLASS_IN, _TTL, service.instance), 0
        )
        host = service.host or "device.local."
        out.add_answer_at_time(
            DNSService(service.instance, _TYPE_SRV, _CLASS_IN, _TTL, 0, 0, service.port or 0, host),
            0,
        )
        out.add_answer_at_time(
            DNSText(service.instance, _TYPE_TXT, _CLASS_IN, _TTL, build_txt(dict(service.txt))), 0
        )
        hosts.add(host)
    for host in sorted(hosts):
        out.add_answer_at_time(DNSAddress(host, _TYPE_A, _CLASS_IN, _TTL, packed), 0)
    packets = out.packets()
    if not packets:
        raise ValueError("empty response")
    return bytes(packets[0])

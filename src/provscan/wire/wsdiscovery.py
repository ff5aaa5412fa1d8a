"""WS-Discovery (ONVIF device discovery, UDP 3702), pure.

The client sends a SOAP 1.2 ``Probe`` (WS-Discovery 2005/04, the version the ONVIF Core
specification uses) to 239.255.255.250:3702 or to one address; each target service answers
with ``ProbeMatches``: an endpoint reference (``urn:uuid:…``), ``Types`` (a camera lists
``dn:NetworkVideoTransmitter``), ``Scopes`` (``onvif://www.onvif.org/name/…``,
``…/hardware/…``, ``…/location/…``, ``…/Profile/…``, ``…/MAC/…``) and ``XAddrs`` (device
service URLs). Printers (``wprt:PrintDeviceType``) and Windows hosts (``pub:Computer``)
answer too, so only ``NetworkVideoTransmitter`` marks a camera (nmap
``broadcast-wsdd-discover.nse``; knowledge/fingerprint-signals.md §2, §3, §7).
"""

from __future__ import annotations

import uuid as uuid_module
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote

from provscan.errors import ProtocolError
from provscan.wire.onvif import SOAP12_NS, _child, _find, _local, _text, parse_xml

WSD_PORT = 3702
WSD_MULTICAST_GROUP = "239.255.255.250"
ADDRESSING_NS = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
DISCOVERY_NS = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
NETWORK_WSDL_NS = "http://www.onvif.org/ver10/network/wsdl"
DEVICE_WSDL_NS = "http://www.onvif.org/ver10/device/wsdl"
PROBE_ACTION = DISCOVERY_NS + "/Probe"
PROBE_MATCHES_ACTION = DISCOVERY_NS + "/ProbeMatches"
DISCOVERY_TO = "urn:schemas-xmlsoap-org:ws:2005:04:discovery"
ANONYMOUS = ADDRESSING_NS + "/role/anonymous"
ONVIF_SCOPE_PREFIX = "onvif://www.onvif.org/"
#: Bounds on what one reply may contribute.
MAX_MATCHES = 16
MAX_LIST_ITEMS = 64
MAX_ITEM_CHARS = 256
#: Messages a target service sends about itself, and the element of each match in them
#: (WS-Discovery 2005/04: Hello, ProbeMatches, ResolveMatches).
DEVICE_MESSAGES: tuple[tuple[str, str | None], ...] = (
    ("ProbeMatches", "ProbeMatch"),
    ("ResolveMatches", "ResolveMatch"),
    ("Hello", None),
)


@dataclass(frozen=True)
class ProbeMatch:
    endpoint: str | None
    types: tuple[str, ...]
    scopes: tuple[str, ...]
    xaddrs: tuple[str, ...]
    metadata_version: str | None = None

    @property
    def is_network_video_transmitter(self) -> bool:
        return is_network_video_transmitter(self.types)


@dataclass(frozen=True)
class ProbeMatches:
    relates_to: str | None
    matches: tuple[ProbeMatch, ...]


@dataclass(frozen=True)
class DeviceMessage:
    """A message in which a device describes itself (``kind``: one of
    :data:`DEVICE_MESSAGES`); a Hello carries exactly one match."""

    kind: str
    relates_to: str | None
    matches: tuple[ProbeMatch, ...]


@dataclass(frozen=True)
class Probe:
    message_id: str | None
    types: tuple[str, ...]


def new_message_id() -> str:
    return f"uuid:{uuid_module.uuid4()}"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def build_probe(message_id: str | None = None, types: Sequence[str] = ()) -> bytes:
    """A Probe. No ``types`` = every target service answers (cameras, printers, PCs)."""
    types_element = f"<d:Types>{_escape(' '.join(types))}</d:Types>" if types else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<s:Envelope xmlns:s="{SOAP12_NS}" xmlns:a="{ADDRESSING_NS}" '
        f'xmlns:d="{DISCOVERY_NS}" xmlns:dn="{NETWORK_WSDL_NS}" xmlns:tds="{DEVICE_WSDL_NS}">'
        f'<s:Header><a:Action s:mustUnderstand="1">{PROBE_ACTION}</a:Action>'
        f"<a:MessageID>{_escape(message_id or new_message_id())}</a:MessageID>"
        f"<a:ReplyTo><a:Address>{ANONYMOUS}</a:Address></a:ReplyTo>"
        f'<a:To s:mustUnderstand="1">{DISCOVERY_TO}</a:To></s:Header>'
        f"<s:Body><d:Probe>{types_element}</d:Probe></s:Body></s:Envelope>"
    ).encode()


def build_probe_matches(
    relates_to: str | None, matches: Sequence[ProbeMatch], message_id: str | None = None
) -> bytes:
    """The device side: a ProbeMatches envelope (lab and tests)."""
    relates = f"<a:RelatesTo>{_escape(relates_to)}</a:RelatesTo>" if relates_to else ""
    body = "".join(
        "<d:ProbeMatch>"
        f"<a:EndpointReference><a:Address>{_escape(m.endpoint or '')}</a:Address></a:EndpointReference>"
        f"<d:Types>{_escape(' '.join(m.types))}</d:Types>"
        f"<d:Scopes>{_escape(' '.join(m.scopes))}</d:Scopes>"
        f"<d:XAddrs>{_escape(' '.join(m.xaddrs))}</d:XAddrs>"
        f"<d:MetadataVersion>{_escape(m.metadata_version or '1')}</d:MetadataVersion>"
        "</d:ProbeMatch>"
        for m in matches
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<s:Envelope xmlns:s="{SOAP12_NS}" xmlns:a="{ADDRESSING_NS}" '
        f'xmlns:d="{DISCOVERY_NS}" xmlns:dn="{NETWORK_WSDL_NS}" xmlns:tds="{DEVICE_WSDL_NS}">'
        f"<s:Header><a:MessageID>{_escape(message_id or new_message_id())}</a:MessageID>"
        f"{relates}<a:To>{ANONYMOUS}</a:To>"
        f"<a:Action>{PROBE_MATCHES_ACTION}</a:Action></s:Header>"
        f"<s:Body><d:ProbeMatches>{body}</d:ProbeMatches></s:Body></s:Envelope>"
    ).encode()


def _items(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    return tuple(item[:MAX_ITEM_CHARS] for item in text.split()[:MAX_LIST_ITEMS])


def _envelope_parts(data: bytes) -> tuple[ET.Element | None, ET.Element]:
    root = parse_xml(data)
    if _local(root.tag) != "Envelope":
        raise ProtocolError(f"not a SOAP envelope (root element {_local(root.tag)[:40]!r})")
    body = _child(root, "Body")
    if body is None:
        raise ProtocolError("SOAP envelope without a Body")
    return _child(root, "Header"), body


def parse_probe(data: bytes) -> Probe:
    """The lab side: parse a Probe. Raises ProtocolError on anything else."""
    header, body = _envelope_parts(data)
    probe = _child(body, "Probe")
    if probe is None:
        raise ProtocolError("SOAP body holds no WS-Discovery Probe")
    message_id = _text(_child(header, "MessageID")) if header is not None else None
    return Probe(message_id, _items(_text(_child(probe, "Types"))))


def _match(element: ET.Element) -> ProbeMatch:
    """The description a ProbeMatch, ResolveMatch or Hello element carries."""
    reference = _child(element, "EndpointReference")
    endpoint = _text(_find(reference, "Address")) if reference is not None else None
    return ProbeMatch(
        endpoint=endpoint,
        types=_items(_text(_child(element, "Types"))),
        scopes=_items(_text(_child(element, "Scopes"))),
        xaddrs=_items(_text(_child(element, "XAddrs"))),
        metadata_version=_text(_child(element, "MetadataVersion")),
    )


def _matches(container: ET.Element, item: str) -> tuple[ProbeMatch, ...]:
    matches: list[ProbeMatch] = []
    for element in container:
        if _local(element.tag) != item:
            continue
        if len(matches) >= MAX_MATCHES:
            break
        matches.append(_match(element))
    return tuple(matches)


def parse_probe_matches(data: bytes) -> ProbeMatches:
    """Parse a ProbeMatches reply. Raises ProtocolError on anything else."""
    header, body = _envelope_parts(data)
    container = _child(body, "ProbeMatches")
    if container is None:
        raise ProtocolError("SOAP body holds no ProbeMatches")
    relates_to = _text(_child(header, "RelatesTo")) if header is not None else None
    return ProbeMatches(relates_to, _matches(container, "ProbeMatch"))


def parse_device_message(data: bytes) -> DeviceMessage:
    """Parse a message in which a target service describes itself: ProbeMatches,
    ResolveMatches or an unasked Hello. Raises ProtocolError on anything else."""
    message = parse_message(data)
    if isinstance(message, Probe):
        raise ProtocolError("SOAP body holds no ProbeMatches, ResolveMatches or Hello")
    return message


def parse_message(data: bytes) -> DeviceMessage | Probe:
    """:func:`parse_device_message`, or the Probe a client sent (parsed once: a capture holds
    a client's probes every few seconds). Raises ProtocolError on anything else."""
    header, body = _envelope_parts(data)
    relates_to = _text(_child(header, "RelatesTo")) if header is not None else None
    for kind, item in DEVICE_MESSAGES:
        container = _child(body, kind)
        if container is None:
            continue
        matches = (_match(container),) if item is None else _matches(container, item)
        return DeviceMessage(kind, relates_to, matches)
    probe = _child(body, "Probe")
    if probe is not None:
        message_id = _text(_child(header, "MessageID")) if header is not None else None
        return Probe(message_id, _items(_text(_child(probe, "Types"))))
    raise ProtocolError("SOAP body holds no ProbeMatches, ResolveMatches, Hello or Probe")


def is_network_video_transmitter(types: Sequence[str]) -> bool:
    """True when a Types list names ONVIF's NetworkVideoTransmitter (any prefix)."""
    return any(t.rsplit(":", 1)[-1] == "NetworkVideoTransmitter" for t in types)


def onvif_scopes(scopes: Sequence[str]) -> list[tuple[str, str]]:
    """``onvif://www.onvif.org/name/HIKVISION%20DS-2CD…`` -> ``("name", "HIKVISION DS-2CD…")``.

    The category is lower-cased (devices write ``MAC``, ``Profile``); the value is
    URL-decoded. Scopes outside the ONVIF scheme are skipped.
    """
    result: list[tuple[str, str]] = []
    for scope in scopes:
        if not scope.lower().startswith(ONVIF_SCOPE_PREFIX):
            continue
        rest = scope[len(ONVIF_SCOPE_PREFIX) :]
        category, _, value = rest.partition("/")
        result.append((category.lower(), unquote(value, errors="replace")[:MAX_ITEM_CHARS]))
    return result

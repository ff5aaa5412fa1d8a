"""SSDP M-SEARCH over UDP 1900 (multicast 239.255.255.250 or unicast), then the UPnP device
description and, on an Internet Gateway Device, its port mappings (read-only queries)."""

from __future__ import annotations

import asyncio
from urllib.parse import urljoin, urlsplit

from provscan.discovery.interface import DiscoveryProtocol, DiscoveryReply
from provscan.errors import ProtocolError
from provscan.model import Observation
from provscan.observations import ssdp as observe_ssdp
from provscan.observations import upnp as observe_upnp
from provscan.wire import http1, ssdp, upnp

#: The description and each SOAP answer are read up to this many bytes.
MAX_HTTP_BYTES = 256 * 1024
#: Port mappings asked for per gateway (GetGenericPortMappingEntry index 0..N-1).
MAX_PORT_MAPPINGS = 64
_IGD_SERVICES = (upnp.WAN_IP_CONNECTION, upnp.WAN_PPP_CONNECTION)


class Ssdp(DiscoveryProtocol):
    name = "ssdp"
    port = ssdp.SSDP_PORT
    multicast_group = ssdp.SSDP_MULTICAST_GROUP

    def build_probe(self, destination: str) -> bytes:
        host = f"{destination}:{self.port}"
        return ssdp.build_msearch(ssdp.SEARCH_ALL, mx=1, host=host)

    def interpret(self, data: bytes, address: str, port: int) -> DiscoveryReply | None:
        sighting = observe_ssdp.read(data)
        if sighting is None:
            return None  # searches and NOTIFYs of others
        location = next(
            (o.value for o in sighting.observations if o.field == "ssdp.location"), None
        )
        follow_up = location if location and _same_host(location, address) else None
        notes: tuple[str, ...] = ()
        if location and follow_up is None:
            notes = (f"SSDP LOCATION {location[:120]} points to another host: not fetched",)
        return DiscoveryReply(
            self.name, address, self.port, sighting.observations, follow_up=follow_up, notes=notes
        )


def _same_host(url: str, address: str) -> bool:
    """Only descriptions served by the replying address are fetched (never a third host)."""
    try:
        parts = urlsplit(url)
        return parts.scheme == "http" and parts.hostname == address and (parts.port or 80) > 0
    except ValueError:
        return False


async def http_exchange(
    address: str,
    port: int,
    method: str,
    path: str,
    *,
    headers: tuple[tuple[str, str], ...] = (),
    body: bytes = b"",
    timeout_s: float,
) -> http1.HttpResponse:
    """One bounded HTTP/1.1 exchange (Connection: close). Raises ProtocolError/OSError."""
    request = http1.build_request(
        method, path, f"{address}:{port}", (*headers, ("Connection", "close")), body
    )
    async with asyncio.timeout(timeout_s):
        reader, writer = await asyncio.open_connection(address, port)
        try:
            writer.write(request)
            await writer.drain()
            data = bytearray()
            while len(data) < MAX_HTTP_BYTES:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                data += chunk
        finally:
            writer.close()
    return http1.parse_response(bytes(data[:MAX_HTTP_BYTES]))


async def follow_up(reply: DiscoveryReply, timeout_s: float) -> DiscoveryReply:
    """Fetch the description at the reply's LOCATION; on a gateway, list its port mappings."""
    assert reply.follow_up is not None
    parts = urlsplit(reply.follow_up)
    port = parts.port or 80
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    observations = list(reply.observations)
    notes = list(reply.notes)
    try:
        response = await http_exchange(reply.address, port, "GET", path, timeout_s=timeout_s)
        if response.status != 200:
            raise ProtocolError(f"description fetch answered {response.status}")
        device = upnp.parse_description(response.body)
    except (ProtocolError, OSError, TimeoutError, ValueError) as exc:
        notes.append(f"UPnP description {reply.follow_up[:120]}: {type(exc).__name__}: {exc}"[:240])
        return _replace(reply, observations, notes, None)
    observations.extend(observe_upnp.description_observations(device, port))
    read: list[bool] = []  # per IGD service queried: its table read to its end
    total = 0
    for service in device.all_services():
        if service.service_type in _IGD_SERVICES and service.control_url:
            control = urljoin(reply.follow_up, service.control_url)
            if not _same_host(control, reply.address):
                notes.append("IGD control URL points to another host: not queried")
                continue
            mappings, complete = await port_mappings(
                reply.address, control, service.service_type, timeout_s
            )
            for mapping in mappings:
                observations.append(observe_upnp.port_mapping_observation(mapping, port))
                notes.append(f"UPnP IGD port mapping exposes {mapping.summary()}")
            read.append(complete)
            total += len(mappings)
    if read and all(read):
        observations.append(observe_upnp.mappings_read_observation(total, port))
    serial = device.serial_number
    return _replace(reply, observations, notes, serial)


async def port_mappings(
    address: str, control_url: str, service_type: str, timeout_s: float
) -> tuple[list[upnp.PortMapping], bool]:
    """The gateway's mappings, and whether the table was read to its end (a UPnP fault past
    the last entry) rather than cut short (an error, or :data:`MAX_PORT_MAPPINGS` read)."""
    parts = urlsplit(control_url)
    port = parts.port or 80
    mappings: list[upnp.PortMapping] = []
    for index in range(MAX_PORT_MAPPINGS):
        action, body = upnp.build_port_mapping_request(service_type, index)
        try:
            response = await http_exchange(
                address,
                port,
                "POST",
                parts.path or "/",
                headers=(("Content-Type", 'text/xml; charset="utf-8"'), ("SOAPAction", action)),
                body=body,
                timeout_s=timeout_s,
            )
            mapping = upnp.parse_port_mapping_response(response.body)
        except (ProtocolError, OSError, TimeoutError, ValueError):
            return mappings, False
        if mapping is None:
            return mappings, True
        mappings.append(mapping)
    return mappings, False


def _replace(
    reply: DiscoveryReply, observations: list[Observation], notes: list[str], serial: str | None
) -> DiscoveryReply:
    return DiscoveryReply(
        reply.protocol,
        reply.address,
        reply.port,
        tuple(observations),
        mac=reply.mac,
        serial=reply.serial or serial,
        follow_up=None,
        notes=tuple(notes),
    )

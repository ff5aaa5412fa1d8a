"""UPnP description and IGD control responder (TCP, e.g. 49152, where libupnp listens).

Serves the device description (UPnP Device Architecture 1.1 §2.3) built from the
identity, and, for a gateway, answers GetGenericPortMappingEntry (IGD WANIPConnection:1
§2.4.14) from ``port_mappings``, with fault 713 past the last entry.

``service.options``::

    description_path: /rootDesc.xml
    manufacturer: null          # default identity.brand
    model_name: null            # default identity.model
    friendly_name: null
    device_type: urn:schemas-upnp-org:device:Basic:1
    gateway: false              # nest WANDevice/WANConnectionDevice/WANIPConnection
    port_mappings: []           # [{protocol, external_port, internal_client, internal_port, description}]
"""

from __future__ import annotations

import asyncio

from pydantic import BaseModel, ConfigDict, Field

from provscan.errors import ProtocolError
from provscan.lab.responders._io import close, read_head
from provscan.lab.responders.ssdp import device_uuid
from provscan.lab.spec import DeviceSpec, ServiceSpec
from provscan.wire import upnp as wire

CONTROL_PATH = "/ctl/IPConn"
HEAD_CAP = 8192
BODY_CAP = 16 * 1024


class MappingOption(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    protocol: str = "TCP"
    external_port: int
    internal_client: str
    internal_port: int
    description: str = ""


class UpnpOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description_path: str = "/rootDesc.xml"
    manufacturer: str | None = None
    manufacturer_url: str | None = None
    model_name: str | None = None
    friendly_name: str | None = None
    device_type: str = "urn:schemas-upnp-org:device:Basic:1"
    gateway: bool = False
    port_mappings: list[MappingOption] = Field(default_factory=list)


def validate_options(options: dict[str, object]) -> None:
    UpnpOptions.model_validate(options)


def description(device: DeviceSpec, options: UpnpOptions) -> bytes:
    identity = device.identity
    embedded: tuple[wire.UpnpDevice, ...] = ()
    if options.gateway:
        embedded = (
            wire.UpnpDevice(device_type="urn:schemas-upnp-org:device:WANDevice:1"),
            wire.UpnpDevice(
                device_type="urn:schemas-upnp-org:device:WANConnectionDevice:1",
                services=(wire.UpnpService(wire.WAN_IP_CONNECTION, CONTROL_PATH),),
            ),
        )
    root = wire.UpnpDevice(
        device_type=options.device_type,
        friendly_name=options.friendly_name
        or f"{identity.brand or ''} {identity.model or ''}".strip(),
        manufacturer=options.manufacturer or identity.brand,
        manufacturer_url=options.manufacturer_url,
        model_name=options.model_name or identity.model,
        model_number=identity.model,
        serial_number=identity.serial,
        udn=f"uuid:{device_uuid(device)}",
        embedded=embedded,
    )
    return wire.build_description(root)


def _response(status: str, body: bytes, content_type: str = "text/xml") -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


async def respond(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    device: DeviceSpec,
    service: ServiceSpec,
) -> None:
    options = UpnpOptions.model_validate(service.options)
    try:
        head = await read_head(reader, HEAD_CAP)
        if head is None:
            return
        lines = head.decode("latin-1").split("\r\n")
        method, _, rest = lines[0].partition(" ")
        path = rest.split(" ", 1)[0]
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length" and value.strip().isdigit():
                length = min(int(value.strip()), BODY_CAP)
        if method == "GET" and path == options.description_path:
            writer.write(_response("200 OK", description(device, options)))
        elif method == "POST" and path == CONTROL_PATH and options.gateway:
            body = await asyncio.wait_for(reader.readexactly(length), 5.0) if length else b""
            try:
                index = wire.parse_port_mapping_request(body)
            except ProtocolError:
                writer.write(
                    _response(
                        "500 Internal Server Error", wire.build_upnp_fault(402, "Invalid Args")
                    )
                )
            else:
                if index < len(options.port_mappings):
                    m = options.port_mappings[index]
                    mapping = wire.PortMapping(
                        remote_host="",
                        external_port=str(m.external_port),
                        protocol=m.protocol,
                        internal_port=str(m.internal_port),
                        internal_client=m.internal_client,
                        enabled="1",
                        description=m.description,
                        lease_duration="0",
                    )
                    writer.write(
                        _response(
                            "200 OK",
                            wire.build_port_mapping_response(wire.WAN_IP_CONNECTION, mapping),
                        )
                    )
                else:
                    fault = wire.build_upnp_fault(
                        wire.ARRAY_INDEX_INVALID, "SpecifiedArrayIndexInvalid"
                    )
                    writer.write(_response("500 Internal Server Error", fault))
        else:
            writer.write(_response("404 Not Found", b"", "text/plain"))
        await writer.drain()
    except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
        pass
    finally:
        await close(writer)

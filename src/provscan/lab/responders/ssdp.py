"""SSDP responder (UDP 1900): answers M-SEARCH with LOCATION/SERVER/ST/USN.

UPnP Device Architecture 1.1 §1.3.3 (search response). The description it points to is
served by the ``upnp`` TCP responder on ``description_port``.

``service.options``::

    server: "Linux/4.9 UPnP/1.0 Portable SDK for UPnP devices/1.6.22"
    description_port: 49152
    description_path: /rootDesc.xml
    device_type: urn:schemas-upnp-org:device:Basic:1
"""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict

from provscan.errors import ProtocolError
from provscan.lab.spec import DeviceSpec, ServiceSpec
from provscan.wire import ssdp as wire

MULTICAST_GROUP = wire.SSDP_MULTICAST_GROUP


class SsdpOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    server: str = "Linux/4.9 UPnP/1.0 Portable SDK for UPnP devices/1.6.22"
    description_port: int = 49152
    description_path: str = "/rootDesc.xml"
    device_type: str = "urn:schemas-upnp-org:device:Basic:1"


def validate_options(options: dict[str, object]) -> None:
    SsdpOptions.model_validate(options)


def device_uuid(device: DeviceSpec) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "provscan-lab-upnp:" + device.id))


def answer(data: bytes, device: DeviceSpec, service: ServiceSpec) -> bytes | None:
    try:
        message = wire.parse_message(data)
    except ProtocolError:
        return None
    if not message.is_search:
        return None
    options = SsdpOptions.model_validate(service.options)
    wanted = message.header("st") or ""
    if wanted not in (wire.SEARCH_ALL, wire.ROOT_DEVICE, options.device_type):
        return None
    st = wire.ROOT_DEVICE if wanted == wire.SEARCH_ALL else wanted
    return wire.build_search_response(
        location=f"http://{device.address}:{options.description_port}{options.description_path}",
        server=options.server,
        search_target=st,
        usn=f"uuid:{device_uuid(device)}::{st}",
    )

"""Dahua DHDiscover responder (UDP 37810): answers DHDiscover.search with notifyDevInfo.

Layout from ``rroller/dahua`` ``discovery.py`` and ``mcw0/DahuaConsole`` ``net.py``
(knowledge/fingerprint-signals.md §3): DHIP header, JSON ``client.notifyDevInfo`` with
``params.deviceInfo``; ``Vendor``/``Manufacturer`` carry the OEM name (a field capture
shows ``"Manufacturer":"Intelbras"`` from a Dahua OUI).

``service.options``::

    device_class: IPC        # DeviceClass
    vendor: null             # Vendor (default: identity.brand)
    manufacturer: null       # Manufacturer (default: identity.brand)
    machine_name: null       # MachineName (default: identity.serial)
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from provscan.errors import ProtocolError
from provscan.lab.spec import DeviceSpec, ServiceSpec
from provscan.wire import dahua as wire

MULTICAST_GROUP = wire.DHDISCOVER_MULTICAST_GROUP


class DhDiscoverOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    device_class: str = "IPC"
    vendor: str | None = None
    manufacturer: str | None = None
    machine_name: str | None = None


def validate_options(options: dict[str, object]) -> None:
    DhDiscoverOptions.model_validate(options)


def answer(data: bytes, device: DeviceSpec, service: ServiceSpec) -> bytes | None:
    try:
        if not wire.parse_dhdiscover_search(data):
            return None
    except ProtocolError:
        return None  # bare JSON or garbage: real devices stay silent
    options = DhDiscoverOptions.model_validate(service.options)
    identity = device.identity
    info: dict[str, Any] = {
        "DeviceClass": options.device_class,
        "DeviceType": identity.model or "",
        "HttpPort": 80,
        "IPv4Address": {
            "DefaultGateway": "0.0.0.0",
            "DhcpEnable": False,
            "IPAddress": device.address,
            "SubnetMask": "255.255.255.0",
        },
        "MachineName": options.machine_name or identity.serial or "",
        "Manufacturer": options.manufacturer or identity.brand or "",
        "Port": 37777,
        "RemoteVideoInputChannels": 0,
        "SerialNo": identity.serial or "",
        "Vendor": options.vendor or identity.brand or "",
        "Version": identity.firmware or "",
        "VideoInputChannels": 1,
    }
    return wire.build_dhdiscover_reply(info, identity.mac or "")

"""Lab responders: one module per protocol, each exposing ``async def respond(reader, writer,
device, service)``. The registry maps a ServiceSpec.protocol to its responder."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable
from types import ModuleType

from provscan.lab.spec import DeviceSpec, ServiceSpec

Responder = Callable[
    [asyncio.StreamReader, asyncio.StreamWriter, DeviceSpec, ServiceSpec], Awaitable[None]
]

#: protocol name -> module under provscan.lab.responders defining ``respond``
_MODULES: dict[str, str] = {
    "http": "http",
    "rtsp": "rtsp",
    "hik-sdk": "hik_sdk",
    "dahua-dvrip": "dahua",
    "xiongmai": "xiongmai",
    "banner": "banner",
    "hostile": "hostile",
    "upnp": "upnp",
}

#: UDP discovery protocols: module defining ``answer(data, device, service) -> bytes | None``
#: and ``MULTICAST_GROUP`` (joined only inside a test network namespace).
_UDP_MODULES: dict[str, str] = {
    "sadp": "sadp",
    "dhdiscover": "dhdiscover",
    "wsd": "wsd",
    "ssdp": "ssdp",
    "mdns": "mdns",
    "snmp": "snmp",
}
UdpResponder = Callable[[bytes, DeviceSpec, ServiceSpec], bytes | None]


def get_responder(protocol: str) -> Responder:
    try:
        module_name = _MODULES[protocol]
    except KeyError as exc:
        raise KeyError(f"no lab responder for protocol {protocol!r}") from exc
    module = importlib.import_module(f"provscan.lab.responders.{module_name}")
    responder: Responder = module.respond
    return responder


def get_udp_module(protocol: str) -> ModuleType:
    """The module answering a UDP discovery protocol (``answer`` and ``MULTICAST_GROUP``)."""
    try:
        module_name = _UDP_MODULES[protocol]
    except KeyError as exc:
        raise KeyError(f"no lab UDP responder for protocol {protocol!r}") from exc
    return importlib.import_module(f"provscan.lab.responders.{module_name}")


def is_udp_protocol(protocol: str) -> bool:
    return protocol in _UDP_MODULES


def known_protocols() -> list[str]:
    return sorted(_MODULES)


def known_udp_protocols() -> list[str]:
    return sorted(_UDP_MODULES)

"""Lab responders: one module per protocol, each exposing ``async def respond(reader, writer,
device, service)``. The registry maps a ServiceSpec.protocol to its responder."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable

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
}


def get_responder(protocol: str) -> Responder:
    try:
        module_name = _MODULES[protocol]
    except KeyError as exc:
        raise KeyError(f"no lab responder for protocol {protocol!r}") from exc
    module = importlib.import_module(f"provscan.lab.responders.{module_name}")
    responder: Responder = module.respond
    return responder


def known_protocols() -> list[str]:
    return sorted(_MODULES)

"""Hikvision SDK port (TCP 8000) responder: the nmap-documented reply, sent unasked.

``service.options``::

    reply_hex: "00000010 0000001e 0000001e 00000000"   # default: nmap l.1801's match
    delay_s: 0.0                                       # wait before speaking

The device speaks first (nmap matched it under the NULL probe), then reads and drops what
the client sends, up to a cap, until the client closes.
"""

from __future__ import annotations

import asyncio

from pydantic import BaseModel, ConfigDict, Field

from provscan.lab.responders._io import close, drain_and_close
from provscan.lab.spec import DeviceSpec, ServiceSpec
from provscan.wire import hik_sdk as wire


class HikSdkOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    reply_hex: str = wire.NMAP_CONTROL_PORT_REPLY.hex()
    delay_s: float = Field(default=0.0, ge=0.0, le=10.0)


async def respond(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    device: DeviceSpec,
    service: ServiceSpec,
) -> None:
    options = HikSdkOptions.model_validate(service.options)
    reply = bytes.fromhex(options.reply_hex.replace(" ", ""))
    try:
        if options.delay_s:
            await asyncio.sleep(options.delay_s)
        writer.write(reply)
        await writer.drain()
    except ConnectionError:
        await close(writer)
        return
    await drain_and_close(reader, writer)

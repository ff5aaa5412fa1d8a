"""Hostile devices: everything a scanner must survive without hanging or exhausting memory.

``options.mode``:

- ``stream_forever``: an HTTP 200 whose body never ends, written as fast as the client reads.
- ``never_answer``: accepts and reads, never writes; holds until the client closes.
- ``slow_drip``: a valid HTTP reply, one byte per ``interval_s`` (default 1 s).
- ``malformed_http``: a garbage status line, a header without colon, negative and huge
  Content-Length, NUL bytes.
- ``xml_bomb``: HTTP 200 with a billion-laughs XML body, on every path (ONVIF included).
- ``tls_stall``: accepts TCP, reads the ClientHello, never answers it.
- ``reset``: closes at once with a TCP RST.

Every mode waits on the network (drain, read, sleep), never spins, and ends when the client
disconnects or the lab cancels it; the lab also cuts any connection past its lifetime.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from provscan.lab.spec import DeviceSpec, ServiceSpec

Mode = Literal[
    "stream_forever",
    "never_answer",
    "slow_drip",
    "malformed_http",
    "xml_bomb",
    "tls_stall",
    "reset",
]
MODES: tuple[str, ...] = Mode.__args__  # type: ignore[attr-defined]

STREAM_CHUNK = b"A" * 65536
REQUEST_WAIT_S = 2.0


class HostileOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Mode
    interval_s: float = Field(default=1.0, gt=0.0, le=60.0)


def validate_options(options: Mapping[str, Any]) -> HostileOptions:
    return HostileOptions.model_validate(dict(options))


SLOW_DRIP_REPLY = (
    b"HTTP/1.1 200 OK\r\nServer: drip\r\nContent-Type: text/html\r\nContent-Length: 64\r\n\r\n"
    + b"<html><head><title>slow</title></head><body>"
    + b"." * 20
    + b"</body></html>"
)

MALFORMED_REPLY = (
    b"HTTP/1.1 2OO \x00OK\xff\xfe\r\n"
    b"Server: \x00\x00malformed\x00\r\n"
    b"This header has no colon at all\r\n"
    b"Content-Length: -1\r\n"
    b"Content-Length: 99999999999999999999999999\r\n"
    b"Transfer-Encoding: chunked, identity, bogus\r\n"
    b": empty-name\r\n"
    b"X-\x00Null: \x00\r\n"
    b"\r\n"
    b"zz\r\n\x00\x00\x00garbage\x00\xff\r\n"
)

XML_BOMB = (
    b'<?xml version="1.0"?>\n'
    b"<!DOCTYPE lolz [\n"
    b' <!ENTITY lol "lol">\n'
    b' <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n'
    + b"".join(
        f' <!ENTITY lol{level} "{("&lol" + str(level - 1) + ";") * 10}">\n'.encode()
        for level in range(2, 10)
    )
    + b"]>\n"
    b'<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope">'
    b"<env:Body><lolz>&lol9;</lolz></env:Body></env:Envelope>\n"
)


def _xml_bomb_reply() -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml; charset=utf-8\r\n"
        + f"Content-Length: {len(XML_BOMB)}\r\nConnection: close\r\n\r\n".encode()
        + XML_BOMB
    )


async def _read_request_briefly(reader: asyncio.StreamReader) -> None:
    """Give the client a moment to send its request; a banner-grabber sends nothing."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(REQUEST_WAIT_S):
            buffer = b""
            while b"\r\n\r\n" not in buffer and len(buffer) < 65536:
                chunk = await reader.read(4096)
                if not chunk:
                    return
                buffer += chunk


async def _hold_until_client_closes(reader: asyncio.StreamReader) -> None:
    while await reader.read(65536):
        pass


async def respond(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    device: DeviceSpec,
    service: ServiceSpec,
) -> None:
    options = validate_options(service.options)
    try:
        await _MODE_HANDLERS[options.mode](reader, writer, options)
    except (ConnectionResetError, BrokenPipeError, asyncio.IncompleteReadError):
        return


async def _stream_forever(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, options: HostileOptions
) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n")
    while not writer.is_closing():
        writer.write(STREAM_CHUNK)
        await writer.drain()  # blocks while the client is not reading: no spinning
        if reader.at_eof():
            return


async def _never_answer(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, options: HostileOptions
) -> None:
    await _hold_until_client_closes(reader)


async def _slow_drip(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, options: HostileOptions
) -> None:
    await _read_request_briefly(reader)
    for index in range(len(SLOW_DRIP_REPLY)):
        if writer.is_closing() or reader.at_eof():
            return
        writer.write(SLOW_DRIP_REPLY[index : index + 1])
        await writer.drain()
        await asyncio.sleep(options.interval_s)


async def _malformed_http(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, options: HostileOptions
) -> None:
    await _read_request_briefly(reader)
    writer.write(MALFORMED_REPLY)
    await writer.drain()


async def _xml_bomb(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, options: HostileOptions
) -> None:
    await _read_request_briefly(reader)
    writer.write(_xml_bomb_reply())
    await writer.drain()


async def _tls_stall(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, options: HostileOptions
) -> None:
    # Read the ClientHello and whatever follows; never write a ServerHello.
    await _hold_until_client_closes(reader)


async def _reset(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, options: HostileOptions
) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


_MODE_HANDLERS = {
    "stream_forever": _stream_forever,
    "never_answer": _never_answer,
    "slow_drip": _slow_drip,
    "malformed_http": _malformed_http,
    "xml_bomb": _xml_bomb,
    "tls_stall": _tls_stall,
    "reset": _reset,
}

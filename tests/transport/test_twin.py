"""The in-memory twin keeps the real stream's contract (same answers, caps and failures).

Each case runs the same conversation against a scripted device twice: through the real
bounded TCP stream to a loopback server that answers by the script, and through the twin.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from provscan.transport.interface import ProbeClosed, Stream
from provscan.transport.limits import ScanLimits
from provscan.transport.memory import Script, ScriptedConnector, ScriptedStream
from provscan.transport.tcp import open_bounded

LIMITS = ScanLimits(connect_timeout_s=1.0, read_timeout_s=0.5, per_connection_deadline_s=3.0)
SMALL_CAP = ScanLimits(
    connect_timeout_s=1.0, read_timeout_s=0.5, per_connection_deadline_s=3.0, read_byte_cap=16
)

Conversation = Callable[[Stream], Awaitable[object]]


def echo_upper(data: bytes) -> bytes:
    return data.upper() if data else b"HELLO\r\n"


async def over_tcp(script: Script, conversation: Conversation, limits: ScanLimits) -> object:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(script(b""))
        await writer.drain()
        while data := await reader.read(1024):
            writer.write(script(data))
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        stream = await open_bounded("127.0.0.1", port, limits)
        try:
            return await conversation(stream)
        finally:
            await stream.close()
    finally:
        server.close()
        await server.wait_closed()


async def over_twin(script: Script, conversation: Conversation, limits: ScanLimits) -> object:
    connector = ScriptedConnector(script, limits=limits)
    stream = await connector("127.0.0.1", 1)
    return await conversation(stream)


async def banner_then_request(stream: Stream) -> object:
    banner = await stream.read_until(b"\r\n")
    await stream.write(b"get /x\r\n")
    reply = await stream.read_exactly(8)
    return banner, reply, stream.bytes_read, stream.truncated


async def capped(stream: Stream) -> object:
    await stream.read_until(b"\r\n")
    await stream.write(b"a" * 40 + b"\r\n")
    data = await stream.read_until(b"\r\n")
    # The cap (16 bytes) stops the read: both streams hand back at most the cap, marked truncated.
    return len(data) + 7 <= 16, stream.bytes_read, stream.truncated


@pytest.mark.parametrize(
    ("conversation", "limits"), [(banner_then_request, LIMITS), (capped, SMALL_CAP)]
)
def test_the_twin_answers_like_the_real_stream(
    conversation: Conversation, limits: ScanLimits
) -> None:
    real = asyncio.run(over_tcp(echo_upper, conversation, limits))
    twin = asyncio.run(over_twin(echo_upper, conversation, limits))
    assert real == twin


def test_the_twin_fails_like_the_real_stream_when_a_read_cannot_be_met() -> None:
    async def too_much(stream: Stream) -> object:
        await stream.read_until(b"\r\n")
        return await stream.read_exactly(100)

    with pytest.raises(ProbeClosed):
        asyncio.run(over_twin(echo_upper, too_much, LIMITS))


def test_the_twin_records_what_the_client_sent() -> None:
    stream = ScriptedStream(echo_upper)

    async def talk() -> bytes:
        await stream.write(b"ping")
        return await stream.read_some()

    assert asyncio.run(talk()) == b"PING"
    assert stream.written == [b"ping"]

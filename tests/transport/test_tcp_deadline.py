"""A read or write asked for after the connection's deadline is refused without leaving the
coroutine it was given un-awaited (CI saw "coroutine 'StreamReader.read' was never awaited"
as an unraisable warning failing an unrelated test, under load)."""

from __future__ import annotations

import asyncio
import gc
import time
import warnings

import pytest

from provscan.transport.interface import ProbeTimeout
from provscan.transport.limits import ScanLimits
from provscan.transport.tcp import BoundedStream


def test_past_the_deadline_nothing_is_left_unawaited() -> None:
    async def scenario() -> None:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(1)  # until the client closes
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        # Given a stream whose deadline has already passed
        stream = BoundedStream(reader, writer, ScanLimits(), deadline=time.monotonic() - 1.0)
        # Then a read and a write are refused as timeouts
        with pytest.raises(ProbeTimeout, match="deadline"):
            await stream.read_some(16)
        with pytest.raises(ProbeTimeout, match="deadline"):
            await stream.write(b"x")
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()

    with warnings.catch_warnings():
        # And no coroutine is collected un-awaited (it would warn when collected)
        warnings.simplefilter("error", RuntimeWarning)
        asyncio.run(scenario())
        gc.collect()

"""A byte relay between a TCP port and a Unix socket, used to give a sensor inside a network
namespace (no route out) its broker at 127.0.0.1:5672: the namespace side listens on TCP and
connects to a Unix socket in the file system, which the root side forwards to the broker.

    python sensors_relay.py tcp-to-unix PORT SOCKET     (inside the namespace)
    python sensors_relay.py unix-to-tcp SOCKET PORT     (outside, to 127.0.0.1:PORT)
"""

from __future__ import annotations

import asyncio
import sys


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


def _joiner(connect: object) -> object:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await connect()  # type: ignore[operator]
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))

    return handle


async def main(mode: str, first: str, second: str) -> None:
    if mode == "tcp-to-unix":
        port, path = int(first), second
        server = await asyncio.start_server(
            _joiner(lambda: asyncio.open_unix_connection(path)),  # type: ignore[arg-type]
            "127.0.0.1",
            port,
        )
    else:
        path, port = first, int(second)
        server = await asyncio.start_unix_server(
            _joiner(lambda: asyncio.open_connection("127.0.0.1", port)),  # type: ignore[arg-type]
            path,
        )
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))

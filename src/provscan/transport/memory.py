"""The in-memory twin of the transport: a scripted device, no sockets.

A script is a function of what the client wrote to what the device answers (``b""`` is
asked once for a device that speaks first: a banner, the Hikvision SDK port). The twin keeps
the real stream's contract — byte cap, ``truncated``, EOF, :class:`ProbeClosed` when a read
cannot be satisfied — so a probe that passes against it behaves the same over TCP.

The UDP twin (:class:`ScriptedDatagrams`) is an :data:`~provscan.transport.udp.OpenEndpoint`
for :func:`~provscan.transport.udp.exchange_datagrams`: a datagram script maps what was sent,
and to where, to the replies that come back (several, malformed, oversized, from other
sources), delivered on the event loop as a socket would deliver them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from provscan.transport.interface import ProbeClosed, Stream
from provscan.transport.limits import ScanLimits
from provscan.transport.udp import ProtocolFactory, Route

#: What a scripted device answers to what it was sent.
Script = Callable[[bytes], bytes]


class ScriptedStream(Stream):
    """One connection to a scripted device: each write is answered by ``script``."""

    def __init__(
        self,
        script: Script,
        certificate: bytes | None = None,
        limits: ScanLimits | None = None,
    ) -> None:
        self.script = script
        self.certificate = certificate
        self.limits = limits or ScanLimits()
        self.written: list[bytes] = []
        self._pending = bytearray()
        self._read = 0
        self._answered = False
        self._truncated = False
        self.closed = False

    async def write(self, data: bytes) -> None:
        if self.closed:
            raise ProbeClosed("connection closed")
        self.written.append(data)
        self._pending += self.script(data)
        self._answered = True

    def _speak_first(self) -> None:
        if not self._answered:  # a device that speaks first (banner, Hikvision SDK port)
            self._pending += self.script(b"")
            self._answered = True

    def _take(self, wanted: int) -> bytes:
        left = self.limits.read_byte_cap - self._read
        if wanted > left:
            self._truncated = True
            wanted = max(left, 0)
        data = bytes(self._pending[:wanted])
        del self._pending[:wanted]
        self._read += len(data)
        return data

    async def read_some(self, max_bytes: int = 65536) -> bytes:
        self._speak_first()
        return self._take(min(max_bytes, len(self._pending)))

    async def read_exactly(self, n: int) -> bytes:
        self._speak_first()
        if len(self._pending) < n:
            raise ProbeClosed("the scripted device closed before sending enough")
        return self._take(n)

    async def read_until(self, marker: bytes, limit: int | None = None) -> bytes:
        self._speak_first()
        end = self._pending.find(marker)
        size = len(self._pending) if end < 0 else end + len(marker)
        return self._take(min(size, limit) if limit is not None else size)

    async def read_to_eof(self, limit: int | None = None) -> bytes:
        self._speak_first()
        size = len(self._pending)
        return self._take(min(size, limit) if limit is not None else size)

    @property
    def bytes_read(self) -> int:
        return self._read

    @property
    def truncated(self) -> bool:
        return self._truncated

    def peer_certificate(self) -> bytes | None:
        return self.certificate

    async def close(self) -> None:
        self.closed = True


class ScriptedConnector:
    """A scheduler ``Connector`` whose every connection reaches the same scripted device."""

    def __init__(
        self, script: Script, certificate: bytes | None = None, limits: ScanLimits | None = None
    ) -> None:
        self.script = script
        self.certificate = certificate
        self.limits = limits
        self.streams: list[ScriptedStream] = []

    async def __call__(
        self, address: str, port: int, *, tls: bool = False, server_hostname: str | None = None
    ) -> ScriptedStream:
        stream = ScriptedStream(self.script, self.certificate if tls else None, self.limits)
        self.streams.append(stream)
        return stream


#: What a scripted UDP network answers to ``(data, destination_address, destination_port)``:
#: the replies, each ``(source_address, source_port, payload)``. Raising OSError reports a
#: send error to the endpoint's protocol, as a real socket's ``error_received`` would.
DatagramScript = Callable[[bytes, str, int], Sequence[tuple[str, int, bytes]]]
#: The largest payload one IPv4 UDP datagram can carry; the twin drops larger replies.
MAX_UDP_PAYLOAD = 65507


class ScriptedDatagramTransport(asyncio.DatagramTransport):
    """One endpoint on a scripted network: each ``sendto`` is answered by the script."""

    def __init__(
        self, network: ScriptedDatagrams, route: Route, protocol: asyncio.DatagramProtocol
    ) -> None:
        super().__init__()
        self.network = network
        self.route = route
        self.protocol = protocol
        self._closing = False

    def sendto(self, data: bytes | bytearray | memoryview, addr: Any = None) -> None:
        if self._closing or addr is None:
            return
        address, port = str(addr[0]), int(addr[1])
        self.network.sent.append((address, port, bytes(data)))
        loop = asyncio.get_running_loop()
        try:
            replies = self.network.script(bytes(data), address, port)
        except OSError as exc:
            loop.call_soon(self.protocol.error_received, exc)
            return
        for source_address, source_port, payload in replies:
            if len(payload) <= MAX_UDP_PAYLOAD:
                loop.call_soon(self._deliver, payload, (source_address, source_port))

    def _deliver(self, payload: bytes, source: tuple[str, int]) -> None:
        if not self._closing:
            self.protocol.datagram_received(payload, source)

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        if not self._closing:
            self._closing = True
            asyncio.get_running_loop().call_soon(self.protocol.connection_lost, None)

    def abort(self) -> None:
        self.close()


class ScriptedDatagrams:
    """The UDP twin: an ``OpenEndpoint`` whose endpoints reach the scripted network.

    Records every datagram sent (``sent``: destination address, port, payload) and every
    route an endpoint was opened with (``routes``)."""

    def __init__(self, script: DatagramScript) -> None:
        self.script = script
        self.sent: list[tuple[str, int, bytes]] = []
        self.routes: list[Route] = []
        self.endpoints: list[ScriptedDatagramTransport] = []

    async def __call__(
        self, route: Route, protocol_factory: ProtocolFactory
    ) -> ScriptedDatagramTransport:
        protocol = protocol_factory()
        transport = ScriptedDatagramTransport(self, route, protocol)
        protocol.connection_made(transport)
        self.routes.append(route)
        self.endpoints.append(transport)
        return transport

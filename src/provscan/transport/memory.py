"""The in-memory twin of the transport: a scripted device, no sockets.

A script is a function of what the client wrote to what the device answers (``b""`` is
asked once for a device that speaks first: a banner, the Hikvision SDK port). The twin keeps
the real stream's contract — byte cap, ``truncated``, EOF, :class:`ProbeClosed` when a read
cannot be satisfied — so a probe that passes against it behaves the same over TCP.
"""

from __future__ import annotations

from collections.abc import Callable

from provscan.transport.interface import ProbeClosed, Stream
from provscan.transport.limits import ScanLimits

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

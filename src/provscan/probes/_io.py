"""Small read helpers over a :class:`provscan.probes.interface.Stream` (no sockets here)."""

from __future__ import annotations

from provscan.probes.interface import ProbeTimeout, Stream
from provscan.wire._headers import split_head


class BufferedReader:
    """Reads from a Stream into a buffer so that framing can be parsed piecewise.

    Every read goes through the Stream, so its byte cap and timeouts still hold. A timeout
    after some bytes arrived ends the read with what came (partial data is data); a timeout
    with nothing raises :class:`ProbeTimeout` as usual.
    """

    def __init__(self, stream: Stream) -> None:
        self.stream = stream
        self.buffer = bytearray()
        self.eof = False

    async def _fill(self, wanted: int) -> bool:
        """Read once; False when nothing more will come (EOF or byte cap)."""
        if self.eof:
            return False
        chunk = await self.stream.read_some(max(1, min(wanted, 65536)))
        if not chunk:
            self.eof = True
            return False
        self.buffer += chunk
        return True

    def _take(self, n: int) -> bytes:
        data = bytes(self.buffer[:n])
        del self.buffer[:n]
        return data

    async def read_upto(self, n: int) -> bytes:
        """Up to ``n`` bytes: fewer only on EOF, byte cap, or a timeout after some data."""
        try:
            while len(self.buffer) < n:
                if not await self._fill(n - len(self.buffer)):
                    break
        except ProbeTimeout:
            if not self.buffer:
                raise
        return self._take(n)

    async def read_head(self, limit: int) -> bytes:
        """Bytes up to and including the first blank line (or all that came, capped)."""
        try:
            while True:
                _head, rest, terminated = split_head(bytes(self.buffer))
                if terminated:
                    return self._take(len(self.buffer) - len(rest))
                if len(self.buffer) >= limit or not await self._fill(limit - len(self.buffer)):
                    break
        except ProbeTimeout:
            if not self.buffer:
                raise
        return self._take(min(len(self.buffer), limit))


def host_header(address: str, port: int) -> str:
    """``address:port`` with IPv6 literals bracketed."""
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"

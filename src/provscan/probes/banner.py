"""Banner grab: what a service says unasked (telnet, FTP, SSH, some DVR consoles).

Request bytes: **none** (telnet option negotiation is not answered either: no login, no
command). The probe connects and waits up to :data:`BANNER_WAIT_S` for the device to speak
first. A telnet server often sends its option negotiation first and the greeting after it,
and many greetings come in several writes (greeting, then ``Login:``), so reading goes on
while more arrives within :data:`BANNER_MORE_S`, until printable text is seen and the line
stops growing, :data:`READ_BYTES` are read or the wait is over. An SSH identification line
is complete on its own. Silence, an immediate close or a reset is not an error for a banner
grab: it returns ``[]``.
"""

from __future__ import annotations

import asyncio
import time

from provscan.model import Observation
from provscan.observations import banner as observe
from provscan.probes.interface import Probe, ProbeClosed, ProbeContext, ProbeTimeout
from provscan.transport.interface import Stream

BANNER_WAIT_S = 1.0
#: After printable text arrived: how long to wait for the rest of a multi-part greeting.
BANNER_MORE_S = 0.25
READ_BYTES = 1024


def _complete(data: bytes) -> bool:
    """Enough to stop reading: an SSH identification line ends with its newline."""
    return data.startswith(b"SSH-") and b"\n" in data


async def read_banner(stream: Stream, wait_s: float) -> bytes:
    """What the peer sends unasked within ``wait_s`` (see the module text)."""
    deadline = time.monotonic() + wait_s
    data = b""
    while len(data) < READ_BYTES and not _complete(data):
        remaining = deadline - time.monotonic()
        if observe.banner_lines(data):
            remaining = min(remaining, BANNER_MORE_S)
        if remaining <= 0:
            break
        try:
            chunk = await asyncio.wait_for(
                stream.read_some(READ_BYTES - len(data)), timeout=remaining
            )
        except (TimeoutError, ProbeTimeout, ProbeClosed):
            break
        if not chunk:
            break
        data += chunk
    return data


class BannerProbe(Probe):
    name = "banner"
    order = 90

    def applies_to(self, port: int) -> bool:
        return True

    async def run(self, ctx: ProbeContext) -> list[Observation]:
        try:
            stream = await ctx.connect()
        except ProbeClosed:
            # A reset right after the handshake is the same answer as a reset on the first
            # read; which one is seen is a race, so both give "nothing to read".
            return []
        try:
            data = await read_banner(stream, min(BANNER_WAIT_S, ctx.limits.read_timeout_s))
        finally:
            await stream.close()
        return observe.banner_observations(ctx.port, data, f"{len(data)} bytes read")

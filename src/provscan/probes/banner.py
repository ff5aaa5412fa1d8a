"""Banner grab: what a service says unasked (telnet, FTP, SSH, some DVR consoles).

Request bytes: **none.** The probe connects, waits up to :data:`BANNER_WAIT_S` for the
device to speak first and reports the printable part of the first line. Silence, an
immediate close or a reset is not an error for a banner grab: it returns ``[]``.
"""

from __future__ import annotations

import asyncio

from provscan.model import Observation
from provscan.observations import banner as observe
from provscan.probes.interface import Probe, ProbeClosed, ProbeContext, ProbeTimeout

BANNER_WAIT_S = 1.0
READ_BYTES = 1024


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
            wait = min(BANNER_WAIT_S, ctx.limits.read_timeout_s)
            try:
                data = await asyncio.wait_for(stream.read_some(READ_BYTES), timeout=wait)
            except (TimeoutError, ProbeTimeout, ProbeClosed):
                return []
        finally:
            await stream.close()
        return observe.banner_observations(ctx.port, data, f"{len(data)} bytes read")

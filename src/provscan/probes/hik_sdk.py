"""Hikvision SDK port probe (TCP 8000).

Request bytes: **none** — the probe connects and listens, exactly like nmap's NULL probe
whose match is the only public fact about this port (see :mod:`provscan.wire.hik_sdk`).
"""

from __future__ import annotations

import contextlib

from provscan.errors import ProtocolError
from provscan.model import Observation
from provscan.observations import hik_sdk as observe
from provscan.probes._io import BufferedReader
from provscan.probes.interface import Probe, ProbeClosed, ProbeContext, ProbeTimeout
from provscan.wire import hik_sdk as wire


class HikSdkProbe(Probe):
    name = "hik-sdk"
    default_ports = frozenset({8000})
    order = 30

    async def run(self, ctx: ProbeContext) -> list[Observation]:
        stream = await ctx.connect()
        try:
            if wire.HELLO:
                await stream.write(wire.HELLO)
            reader = BufferedReader(stream)
            data = await reader.read_upto(wire.HEADER_BYTES)
            if not data:
                raise ProbeClosed("closed without sending anything")
            with contextlib.suppress(ProtocolError):
                reply = wire.parse_reply(data)
                # The rest of the first message, as far as it is reported.
                wanted = min(reply.declared_length, observe.REPORTED_BYTES) - len(data)
                if wanted > 0:
                    with contextlib.suppress(ProbeTimeout):
                        data += await reader.read_upto(wanted)
        finally:
            await stream.close()
        return observe.reply_observations(ctx.port, data)

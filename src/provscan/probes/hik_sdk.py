"""Hikvision SDK port probe (TCP 8000).

Request bytes: **none** — the probe connects and listens, exactly like nmap's NULL probe
whose match is the only public fact about this port (see :mod:`provscan.wire.hik_sdk`).
"""

from __future__ import annotations

import contextlib

from provscan.errors import ProtocolError
from provscan.model import Observation
from provscan.probes._io import BufferedReader
from provscan.probes.interface import Probe, ProbeClosed, ProbeContext, ProbeTimeout
from provscan.wire import hik_sdk as wire

#: Bytes reported in ``hik.sdk.reply``.
REPORTED_BYTES = 32


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
            try:
                reply = wire.parse_reply(data)
            except ProtocolError as exc:
                detail = f"unparsed: {exc}"
            else:
                wanted = min(reply.declared_length, REPORTED_BYTES) - len(data)
                if wanted > 0:
                    with contextlib.suppress(ProbeTimeout):
                        data += await reader.read_upto(wanted)
                match = "; nmap control-port match" if reply.matches_nmap_control_port else ""
                detail = f"declared length {reply.declared_length}{match}"
        finally:
            await stream.close()
        return [
            Observation("hik-sdk", ctx.port, "hik.sdk.reply", data[:REPORTED_BYTES].hex(), detail)
        ]

"""Xiongmai (Sofia/NetSurveillance) probe on TCP 34567.

Request bytes: one KeepAlive (msg id 1006) with a zero session, no login::

    ff 00 00 00 00 00 00 00 00 00 00 00 00 00 ee 03 2f 00 00 00
    {"Name":"KeepAlive","SessionID":"0x00000000"}\\n\\0

(see :mod:`provscan.wire.xiongmai` for why a KeepAlive and not a login).
"""

from __future__ import annotations

import contextlib

from provscan.errors import ProtocolError
from provscan.model import Observation
from provscan.observations import xiongmai as observe
from provscan.probes._io import BufferedReader
from provscan.probes.interface import (
    Probe,
    ProbeClosed,
    ProbeContext,
    ProbeMalformed,
    ProbeTimeout,
)
from provscan.wire import xiongmai as wire


class XiongmaiProbe(Probe):
    name = "xiongmai"
    default_ports = frozenset({34567})
    order = 30

    async def run(self, ctx: ProbeContext) -> list[Observation]:
        port = ctx.port
        stream = await ctx.connect()
        try:
            await stream.write(wire.build_keepalive_request())
            reader = BufferedReader(stream)
            head = await reader.read_upto(wire.HEADER_BYTES)
            if not head:
                raise ProbeClosed("closed without answering the KeepAlive")
            try:
                header = wire.parse_header(head)
            except ProtocolError as exc:
                raise ProbeMalformed(
                    f"not a Sofia reply ({exc}); first bytes {head.hex()}"
                ) from exc
            data = b""
            with contextlib.suppress(ProbeTimeout):
                data = await reader.read_upto(header.data_length)
        finally:
            await stream.close()

        return observe.reply_observations(port, head, wire.SofiaMessage(header, data))

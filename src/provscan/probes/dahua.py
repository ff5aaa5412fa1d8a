"""Dahua private-protocol probe: DVRIP port 37777 and DHIP port 5000.

Request bytes (one message, 32-byte DHIP header + JSON, 180 bytes in total)::

    20 00 00 00 44 48 49 50  00 00 00 00 01 00 00 00  94 00 00 00 00 00 00 00
    94 00 00 00 00 00 00 00
    {"id":1,"magic":"0x1234","method":"global.login","params":{"userName":"admin",
     "password":"","clientType":"Web3.0","loginType":"Direct"},"session":0}

This is the *challenge request* (step one of ``global.login``) with an empty password, as
Greenbone's Dahua detection sends to ``/RPC2_Login``; it is not a credential guess, and
the hashed second step is never sent (see :mod:`provscan.wire.dahua`). Current firmware
answers DHIP on 37777 as well as on 5000; older firmware answers with a binary DVRIP
header, which is reported as hex.
"""

from __future__ import annotations

import contextlib

from provscan.errors import ProtocolError
from provscan.model import Observation
from provscan.observations import dahua as observe
from provscan.probes._io import BufferedReader
from provscan.probes.interface import Probe, ProbeClosed, ProbeContext, ProbeTimeout
from provscan.wire import dahua as wire


class DahuaDvripProbe(Probe):
    name = "dahua-dvrip"
    default_ports = frozenset({37777, 5000})
    order = 30

    async def run(self, ctx: ProbeContext) -> list[Observation]:
        port = ctx.port
        stream = await ctx.connect()
        try:
            await stream.write(wire.build_login_challenge_request())
            reader = BufferedReader(stream)
            header = await reader.read_upto(wire.HEADER_BYTES)
            if not header:
                raise ProbeClosed("closed without answering the DHIP challenge request")
            payload = b""
            if wire.is_dhip(header):
                with contextlib.suppress(ProtocolError, ProbeTimeout):
                    dhip = wire.parse_dhip_header(header)
                    payload = await reader.read_upto(dhip.payload_length)
        finally:
            await stream.close()

        observations = [observe.reply_observation(port, header)]
        if payload:
            with contextlib.suppress(ProtocolError):
                # The header was DHIP, the JSON may not be: the hex above is the data then.
                reply = wire.parse_login_reply(payload)
                observations += observe.login_reply_observations(port, reply)
        return observations

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
from provscan.probes._io import BufferedReader
from provscan.probes.interface import Probe, ProbeClosed, ProbeContext, ProbeTimeout
from provscan.wire import dahua as wire

REPORTED_BYTES = 32


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
            kind = "unknown"
            detail = ""
            if wire.is_dhip(header):
                kind = "dhip"
                try:
                    dhip = wire.parse_dhip_header(header)
                except ProtocolError as exc:
                    detail = f"dhip header: {exc}"
                else:
                    with contextlib.suppress(ProbeTimeout):
                        payload = await reader.read_upto(dhip.payload_length)
            elif len(header) >= wire.HEADER_BYTES:
                try:
                    dvrip = wire.parse_dvrip_header(header)
                    kind = "dvrip"
                    detail = f"command 0x{dvrip.command:02x} ({dvrip.command_name})"
                except ProtocolError as exc:
                    detail = f"dvrip header: {exc}"
        finally:
            await stream.close()

        observations = [
            Observation(
                "dahua-dvrip",
                port,
                "dahua.dvrip.reply",
                header[:REPORTED_BYTES].hex(),
                f"{kind} {detail}".strip(),
            )
        ]
        if payload:
            observations += self._challenge(port, payload)
        return observations

    @staticmethod
    def _challenge(port: int, payload: bytes) -> list[Observation]:
        try:
            reply = wire.parse_login_reply(payload)
        except ProtocolError:
            return []  # the header was DHIP, the JSON was not: the hex above is the data
        found: list[Observation] = []
        if reply.realm:
            found.append(Observation("dahua-dvrip", port, "dahua.dhip.realm", reply.realm, "dhip"))
        if reply.mac:
            found.append(Observation("dahua-dvrip", port, "dahua.dhip.mac", reply.mac, "dhip"))
        if reply.error_message or reply.error_code is not None:
            found.append(
                Observation(
                    "dahua-dvrip",
                    port,
                    "dahua.dhip.error",
                    reply.error_message or str(reply.error_code),
                    f"code {reply.error_code}; encryption {reply.encryption}",
                )
            )
        return found

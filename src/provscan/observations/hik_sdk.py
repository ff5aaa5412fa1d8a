"""Hikvision SDK port (TCP 8000): the first reply -> observations."""

from __future__ import annotations

from provscan.errors import ProtocolError
from provscan.model import Observation
from provscan.wire import hik_sdk

PROTOCOL = "hik-sdk"
#: Bytes reported in ``hik.sdk.reply``.
REPORTED_BYTES = 32


def reply_observations(port: int, data: bytes) -> list[Observation]:
    """``hik.sdk.reply``: the first message as hex, up to its declared length and
    :data:`REPORTED_BYTES` (an unparsed reply: its first header's worth); detail: the
    declared length and whether it is the reply nmap attributes to Hikvision."""
    header = data[: hik_sdk.HEADER_BYTES]
    try:
        reply = hik_sdk.parse_reply(header)
    except ProtocolError as exc:
        return [Observation(PROTOCOL, port, "hik.sdk.reply", header.hex(), f"unparsed: {exc}")]
    match = "; nmap control-port match" if reply.matches_nmap_control_port else ""
    detail = f"declared length {reply.declared_length}{match}"
    reported = data[: min(reply.declared_length, REPORTED_BYTES)]
    return [Observation(PROTOCOL, port, "hik.sdk.reply", reported.hex(), detail)]

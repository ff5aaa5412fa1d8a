"""Xiongmai Sofia/NetSurveillance (TCP 34567): a reply -> observations."""

from __future__ import annotations

from provscan.model import Observation
from provscan.wire import xiongmai

PROTOCOL = "xiongmai"
#: Longest JSON text reported in ``xiongmai.json``.
MAX_JSON_CHARS = 4096


def reply_observations(port: int, head: bytes, message: xiongmai.SofiaMessage) -> list[Observation]:
    """``xiongmai.reply`` (the header bytes ``head`` as hex) and the JSON body."""
    header = message.header
    detail = f"msg id {header.message_id}, session 0x{header.session_id:08x}"
    found = [
        Observation(PROTOCOL, port, "xiongmai.reply", head[: xiongmai.HEADER_BYTES].hex(), detail)
    ]
    text = message.json_text()
    if text:
        found.append(Observation(PROTOCOL, port, "xiongmai.json", text[:MAX_JSON_CHARS], detail))
    return found

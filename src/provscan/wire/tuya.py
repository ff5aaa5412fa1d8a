"""Tuya local-protocol (LP) frames: the UDP broadcasts Tuya-platform devices send.

Tuya Wi-Fi devices announce themselves on the local network every few seconds: to UDP 6666
in clear (protocol 3.1) and to UDP 6667 encrypted with a fixed key (3.3 and later). A frame
is ``000055AA`` · sequence · command · length · payload · CRC-32 · ``0000AA55`` (length
counts the payload, CRC and suffix), or, from protocol 3.5, ``00006699`` · 2 reserved bytes ·
sequence · command · length · payload · ``00009966``. Only the framing is read here: the
clear payload is JSON (``gwId``, ``productKey``, ``version``, ``ip``); the encrypted one is
not decrypted.

Sources: jasonacox/tinytuya ``tinytuya/core/header.py`` and ``command_types.py`` (prefixes,
suffixes, command 0x13 "UDP_NEW"); codetheweb/tuyapi ``lib/message-parser.js``; the frames in
iot-pwn/weather-or-not ``README.md``.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass

from provscan.errors import ProtocolError

PORT_CLEAR = 6666
PORT_ENCRYPTED = 6667
PREFIX_55AA = b"\x00\x00\x55\xaa"
SUFFIX_55AA = b"\x00\x00\xaa\x55"
PREFIX_6699 = b"\x00\x00\x66\x99"
SUFFIX_6699 = b"\x00\x00\x99\x66"
#: Longest frame read (broadcasts are a few hundred bytes).
MAX_FRAME = 4096
#: Clear payload keys kept (all strings or numbers).
CLEAR_KEYS = ("gwId", "productKey", "version", "ip")


@dataclass(frozen=True)
class TuyaFrame:
    """One well-formed frame: its framing generation, command and (clear) payload keys."""

    generation: str  # "55aa" or "6699"
    command: int
    clear: dict[str, str]


def parse_frame(data: bytes) -> TuyaFrame:
    """A Tuya LP frame; raises ProtocolError when the framing does not hold."""
    if len(data) > MAX_FRAME:
        raise ProtocolError("Tuya frame too long")
    if data.startswith(PREFIX_55AA) and data.endswith(SUFFIX_55AA) and len(data) >= 24:
        _, command, length = struct.unpack_from(">III", data, 4)
        if length != len(data) - 16:
            raise ProtocolError("Tuya frame length does not match")
        return TuyaFrame("55aa", command, _clear(data[16:-8]))
    if data.startswith(PREFIX_6699) and data.endswith(SUFFIX_6699) and len(data) >= 22:
        _, command, length = struct.unpack_from(">III", data, 6)
        if length != len(data) - 22:
            raise ProtocolError("Tuya frame length does not match")
        return TuyaFrame("6699", command, {})
    raise ProtocolError("not a Tuya frame")


def _clear(payload: bytes) -> dict[str, str]:
    """The JSON of a clear broadcast (after an optional 4-byte return code), else {}."""
    start = payload.find(b"{")
    if start < 0 or start > 4:
        return {}
    try:
        document = json.loads(payload[start:].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return {}
    if not isinstance(document, dict):
        return {}
    return {
        key: str(document[key])
        for key in CLEAR_KEYS
        if isinstance(document.get(key), str | int | float) and not isinstance(document[key], bool)
    }

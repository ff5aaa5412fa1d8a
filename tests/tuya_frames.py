"""Tuya local-protocol frames built by hand for the wire and passive tests."""

from __future__ import annotations

import json
import struct
import zlib

from provscan.wire import tuya

CLEAR = json.dumps(
    {
        "ip": "192.0.2.40",
        "gwId": "bf0123456789abcdef01",
        "active": 2,
        "productKey": "keyabc",
        "version": "3.1",
    }
).encode()


def frame_55aa(payload: bytes, command: int = 0x13, sequence: int = 0) -> bytes:
    body = struct.pack(">I", 0) + payload  # return code, then the payload
    header = tuya.PREFIX_55AA + struct.pack(">III", sequence, command, len(body) + 8)
    crc = struct.pack(">I", zlib.crc32(header + body) & 0xFFFFFFFF)
    return header + body + crc + tuya.SUFFIX_55AA


def frame_6699(payload: bytes, command: int = 0x23) -> bytes:
    header = tuya.PREFIX_6699 + b"\x00\x00" + struct.pack(">III", 1, command, len(payload))
    return header + payload + tuya.SUFFIX_6699

"""Xiongmai "Sofia"/NetSurveillance private protocol on TCP 34567, pure.

Header (20 bytes, little-endian; layout from the public Kaitai description of Sofia and
``OpenIPC/python-dvr`` ``dvrip.py``, struct ``BB2xII2xHI``): head flag ``0xff``, version,
2 reserved bytes, session id (u32), sequence (u32), channel (u8), end flag (u8), message
id (u16), data length (u32). The data is JSON followed by ``\\n\\0``.

Message ids used here: 1000 login request / 1001 reply (not sent by provscan), 1006
``KeepAlive`` request / 1007 reply.

What provscan sends: a **KeepAlive (1006)** with session ``0x00000000`` — a documented
message that is not a login and carries no credentials. The only documented hello that is
sure to get a banner is the login (1000), and a login with an empty user and password is
still a login attempt, so provscan does not send it. Public sources do not document what
an unauthenticated device answers to a KeepAlive; devices seen in the lab reply with a
Sofia header (head flag ``0xff``, msg id 1007) and a JSON ``Ret`` code such as 103/105
("not permitted" / "not logged in" in python-dvr's code table). The header alone
identifies the protocol; the JSON is reported as is.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any

from provscan.errors import ProtocolError

HEADER_BYTES = 20
HEAD_FLAG = 0xFF
MSG_LOGIN_REQUEST = 1000
MSG_LOGIN_REPLY = 1001
MSG_KEEPALIVE_REQUEST = 1006
MSG_KEEPALIVE_REPLY = 1007
#: Largest data length we accept (a KeepAlive/login reply is well under 1 KiB).
MAX_DATA_BYTES = 64 * 1024
_FORMAT = "<BBxxIIBBHI"


@dataclass(frozen=True)
class SofiaHeader:
    head_flag: int
    version: int
    session_id: int
    sequence: int
    channel: int
    end_flag: int
    message_id: int
    data_length: int


@dataclass(frozen=True)
class SofiaMessage:
    header: SofiaHeader
    #: The data as sent (may be shorter than data_length when cut short).
    data: bytes

    @property
    def complete(self) -> bool:
        return len(self.data) == self.header.data_length

    def json_text(self) -> str | None:
        """The data as text without the ``\\n\\0`` tail, when it is a JSON object."""
        text = self.data.decode("utf-8", errors="replace").rstrip("\x00\r\n\t ")
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            return None
        return text if isinstance(value, dict) else None


def build_header(
    message_id: int,
    data_length: int,
    *,
    session_id: int = 0,
    sequence: int = 0,
    version: int = 0,
    channel: int = 0,
    end_flag: int = 0,
) -> bytes:
    return struct.pack(
        _FORMAT,
        HEAD_FLAG,
        version,
        session_id,
        sequence,
        channel,
        end_flag,
        message_id,
        data_length,
    )


def build_message(
    message_id: int, body: dict[str, Any], *, session_id: int = 0, sequence: int = 0
) -> bytes:
    """Header + compact JSON + ``\\n\\0`` (the tail python-dvr and CMS clients send)."""
    data = json.dumps(body, separators=(",", ":")).encode() + b"\n\x00"
    if len(data) > MAX_DATA_BYTES:
        raise ValueError("Sofia message too large")
    header = build_header(message_id, len(data), session_id=session_id, sequence=sequence)
    return header + data


def build_keepalive_request() -> bytes:
    """The probe's only request: KeepAlive with a zero session (see module docstring)."""
    return build_message(MSG_KEEPALIVE_REQUEST, {"Name": "KeepAlive", "SessionID": "0x00000000"})


def parse_header(data: bytes) -> SofiaHeader:
    """Parse the 20-byte header. Raises ProtocolError."""
    if not isinstance(data, bytes | bytearray):
        raise ProtocolError("header must be bytes")
    if len(data) < HEADER_BYTES:
        raise ProtocolError(f"Sofia header needs {HEADER_BYTES} bytes, got {len(data)}")
    fields = struct.unpack(_FORMAT, bytes(data[:HEADER_BYTES]))
    header = SofiaHeader(*fields)
    if header.head_flag != HEAD_FLAG:
        raise ProtocolError(f"Sofia head flag is 0x{header.head_flag:02x}, not 0xff")
    if header.data_length > MAX_DATA_BYTES:
        raise ProtocolError(f"absurd Sofia data length {header.data_length}")
    return header


def parse_message(data: bytes) -> SofiaMessage:
    """Header + as much data as present (up to data_length). Raises ProtocolError."""
    header = parse_header(data)
    return SofiaMessage(header, bytes(data[HEADER_BYTES : HEADER_BYTES + header.data_length]))

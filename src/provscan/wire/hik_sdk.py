"""Hikvision SDK ("IPCam control") port, TCP 8000: the first reply header, pure.

What we send: **nothing.** Hikvision publishes no specification of this private protocol,
and no public source documents a harmless hello for it. The only public fact is nmap's
``nmap-service-probes`` (7.93, l.1801): under the *NULL probe* — connect and send nothing —
a Hikvision device answers ``00 00 00 10 00 00 00 1e 00 00 00 1e 00 00 00 00``
("Hikvision IPCam control port"). So the probe stays silent and reads; :data:`HELLO` is
empty on purpose, and any byte sequence we could invent would be an undocumented request
to a device's control port.

The reply is read as big-endian 32-bit words: word 0 equals the total length of the
message (0x10 = 16 in the nmap match). The meaning of the later words is not publicly
documented; they are kept as numbers, not named.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from provscan.errors import ProtocolError

#: Bytes sent before reading: none (see the module docstring).
HELLO = b""
#: The reply nmap matches as "Hikvision IPCam control port".
NMAP_CONTROL_PORT_REPLY = bytes.fromhex("00000010 0000001e 0000001e 00000000".replace(" ", ""))
HEADER_BYTES = 16
#: Declared lengths above this are not a Hikvision SDK header (nmap's reply says 16).
MAX_DECLARED_LENGTH = 1 << 20


@dataclass(frozen=True)
class HikSdkReply:
    #: Word 0: total message length in bytes, header included.
    declared_length: int
    #: Words 1..3, undocumented; 0x1e, 0x1e, 0 in the nmap-observed reply.
    words: tuple[int, int, int]
    #: The whole first message (header and any body that came with it, up to the length).
    raw: bytes

    @property
    def matches_nmap_control_port(self) -> bool:
        """True for the exact 16 bytes nmap attributes to Hikvision."""
        return self.raw[:HEADER_BYTES] == NMAP_CONTROL_PORT_REPLY


def build_reply(words: tuple[int, int, int] = (0x1E, 0x1E, 0), body: bytes = b"") -> bytes:
    """The device side: a header whose word 0 is the total length."""
    return struct.pack(">4I", HEADER_BYTES + len(body), *words) + body


def parse_reply(data: bytes) -> HikSdkReply:
    """Parse the first reply. Raises ProtocolError when it cannot be this header."""
    if not isinstance(data, bytes | bytearray):
        raise ProtocolError("reply must be bytes")
    if len(data) < HEADER_BYTES:
        raise ProtocolError(f"Hikvision SDK header needs {HEADER_BYTES} bytes, got {len(data)}")
    length, first, second, third = struct.unpack(">4I", bytes(data[:HEADER_BYTES]))
    if length < HEADER_BYTES or length > MAX_DECLARED_LENGTH:
        raise ProtocolError(f"implausible Hikvision SDK length {length}")
    return HikSdkReply(length, (first, second, third), bytes(data[:length]))

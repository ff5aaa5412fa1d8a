"""Small capture builders for the passive tests (pcap records written by hand, frames by dpkt)."""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable

import dpkt

from provscan.knowledge.loader import Knowledge
from provscan.model import Device, HostEvidence

ETH_CLIENT = "02:00:00:00:00:01"
ETH_SERVER = "bc:ba:c2:12:34:56"  # a Hikvision OUI


def pcap_bytes(frames: list[bytes], *, linktype: int = 1, start: float = 1767603600.0) -> bytes:
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype)
    for index, frame in enumerate(frames):
        moment = start + index
        out += struct.pack("<IIII", int(moment), 0, len(frame), len(frame)) + frame
    return out


def tcp(
    src: str,
    dst: str,
    sport: int,
    dport: int,
    seq: int,
    flags: int,
    payload: bytes = b"",
    src_mac: str = ETH_CLIENT,
    dst_mac: str = ETH_SERVER,
) -> bytes:
    segment = dpkt.tcp.TCP(sport=sport, dport=dport, seq=seq, ack=1, flags=flags, data=payload)
    segment.off = 5
    ip = dpkt.ip.IP(
        src=socket.inet_aton(src), dst=socket.inet_aton(dst), p=dpkt.ip.IP_PROTO_TCP, data=segment
    )
    ip.len = 40 + len(payload)
    return bytes(
        dpkt.ethernet.Ethernet(
            src=bytes.fromhex(src_mac.replace(":", "")),
            dst=bytes.fromhex(dst_mac.replace(":", "")),
            type=dpkt.ethernet.ETH_TYPE_IP,
            data=ip,
        )
    )


CLIENT, SERVER = "10.0.0.5", "10.0.0.64"
SYN, ACK, PSH, FIN, RST = (
    dpkt.tcp.TH_SYN,
    dpkt.tcp.TH_ACK,
    dpkt.tcp.TH_PUSH,
    dpkt.tcp.TH_FIN,
    dpkt.tcp.TH_RST,
)
REQUEST = b"GET / HTTP/1.1\r\nHost: 10.0.0.64\r\n\r\n"
REPLY = (
    b"HTTP/1.1 401 Unauthorized\r\nServer: DNVRS-Webs\r\n"
    b'WWW-Authenticate: Digest qop="auth", realm="IP Camera(C2183)", nonce="abc"\r\n'
    b"Content-Length: 0\r\n\r\n"
)


def http_conversation(reply_segments: list[tuple[int, bytes]]) -> list[bytes]:
    """Handshake, one request, the reply as (offset, bytes) segments in the given order."""
    frames = [
        tcp(CLIENT, SERVER, 40000, 80, 100, SYN),
        tcp(SERVER, CLIENT, 80, 40000, 900, SYN | ACK, src_mac=ETH_SERVER, dst_mac=ETH_CLIENT),
        tcp(CLIENT, SERVER, 40000, 80, 101, ACK | PSH, REQUEST),
    ]
    for offset, piece in reply_segments:
        frames.append(
            tcp(
                SERVER,
                CLIENT,
                80,
                40000,
                901 + offset,
                ACK | PSH,
                piece,
                src_mac=ETH_SERVER,
                dst_mac=ETH_CLIENT,
            )
        )
    frames.append(
        tcp(
            SERVER,
            CLIENT,
            80,
            40000,
            901 + len(REPLY),
            ACK | FIN,
            src_mac=ETH_SERVER,
            dst_mac=ETH_CLIENT,
        )
    )
    frames.append(tcp(CLIENT, SERVER, 40000, 80, 101 + len(REQUEST), ACK | FIN))
    return frames


def split(data: bytes, size: int) -> list[tuple[int, bytes]]:
    return [(offset, data[offset : offset + size]) for offset in range(0, len(data), size)]


def identify_with(knowledge: Knowledge) -> Callable[[HostEvidence], Device]:
    """The identification stage over every bundled policy (no posture: these tests look at
    what the capture yields, not at advice)."""
    from provscan.identify import Identifier

    return Identifier(knowledge, knowledge.select_policies(None), posture=False).device

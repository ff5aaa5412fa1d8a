"""Link, network and transport decoding of one frame (pure: bytes in, a Packet out).

The hot path (Ethernet/VLAN, Linux cooked, loopback, raw IP; IPv4; TCP/UDP) unpacks the
fixed headers with :mod:`struct`: it runs for every frame of a multi-GB capture, and
building dpkt objects for each one would cost several times more (measured: see
``docs/decisions/0005-passive-capture-analysis.md``). The application protocols (DHCP,
DNS, mDNS) are decoded with dpkt, the others with the pure parsers of this package. Every length field is checked against the bytes present: a frame cut by
the snaplen yields what it has (``truncated``), never an exception. The transport payload
is cut from the frame only when it is read: bulk that cannot carry identity (RTP and other
UDP off the discovery ports, TCP the flow table no longer wants) is never copied.
"""

from __future__ import annotations

import socket
import struct

#: pcap link types we decode (https://www.tcpdump.org/linktypes.html).
LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_LINUX_SLL2 = 276
_RAW_ALIASES = (12, 14, LINKTYPE_RAW, 228, 229)
SUPPORTED_LINKTYPES = frozenset(
    {LINKTYPE_NULL, LINKTYPE_ETHERNET, LINKTYPE_LOOP, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2}
    | set(_RAW_ALIASES)
)

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_ARP = 0x0806
ETHERTYPE_IPV6 = 0x86DD
#: Hikvision SADP at layer 2 (MatrixEditor/hiktools ``lua/sadp.lua``).
ETHERTYPE_SADP = 0x8033
_VLAN_TYPES = (0x8100, 0x88A8, 0x9100)

PROTO_ICMP = 1
PROTO_TCP = 6
PROTO_UDP = 17
PROTO_ICMPV6 = 58
#: The ICMP and ICMPv6 "destination unreachable" types (a refusal, like a TCP reset).
ICMP_UNREACHABLE = 3
ICMPV6_UNREACHABLE = 1
_IPV6_EXTENSIONS = (0, 43, 60)  # hop-by-hop, routing, destination options
_IPV6_FRAGMENT = 44

TCP_FIN = 0x01
TCP_SYN = 0x02
TCP_RST = 0x04
TCP_ACK = 0x10

_ETH = struct.Struct("!6s6sH")
_IPV4 = struct.Struct("!BBHHHBBH4s4s")
_TCP = struct.Struct("!HHIIBB")
#: The TCP header up to the flags (the analyser's fast path reads it too).
TCP_HEADER = _TCP
_UDP = struct.Struct("!HHH")


class Packet:
    """What the analyser needs of one frame. Addresses are text; MACs are ``aa:bb:…``."""

    __slots__ = (
        "_data",
        "_payload",
        "_start",
        "_stop",
        "arp",
        "dport",
        "dst_ip",
        "dst_mac",
        "ethertype",
        "flags",
        "fragment",
        "proto",
        "seq",
        "sport",
        "src_ip",
        "src_mac",
        "truncated",
    )

    def __init__(self) -> None:
        self.src_mac: str | None = None
        self.dst_mac: str | None = None
        self.ethertype = 0
        self.src_ip: str | None = None
        self.dst_ip: str | None = None
        self.proto = 0
        self.sport = 0
        self.dport = 0
        self.flags = 0
        self.seq = 0
        self._payload: bytes | None = b""
        self._data = b""
        self._start = self._stop = 0
        self.truncated = False
        #: A later IPv4 fragment: no transport header of its own.
        self.fragment = False
        #: (sender MAC, sender IP) of an ARP packet.
        self.arp: tuple[str, str] | None = None

    @property
    def payload(self) -> bytes:
        """The transport payload (cut from the frame on first use)."""
        if self._payload is None:
            self._payload = self._data[self._start : self._stop]
        return self._payload

    @payload.setter
    def payload(self, value: bytes) -> None:
        self._payload = value

    def _payload_at(self, data: bytes, start: int, stop: int) -> None:
        self._data, self._start, self._stop, self._payload = data, start, stop, None


def mac_text(raw: bytes) -> str:
    return raw.hex(":")


def decode(linktype: int, data: bytes) -> Packet | None:
    """Decode one frame; None when its link type or network protocol is not handled."""
    packet = Packet()
    if linktype == LINKTYPE_ETHERNET:
        if len(data) < 14:
            return None
        dst, src, ethertype = _ETH.unpack_from(data)
        packet.dst_mac = dst.hex(":")
        packet.src_mac = src.hex(":")
        offset = 14
        while ethertype in _VLAN_TYPES and len(data) >= offset + 4:
            ethertype = struct.unpack_from("!H", data, offset + 2)[0]
            offset += 4
    elif linktype in (LINKTYPE_NULL, LINKTYPE_LOOP):
        if len(data) < 4:
            return None
        family = struct.unpack_from("<I" if linktype == LINKTYPE_NULL else "!I", data)[0]
        if family > 0xFFFF:  # written in the other byte order
            family = struct.unpack_from(">I" if linktype == LINKTYPE_NULL else "<I", data)[0]
        ethertype = ETHERTYPE_IPV4 if family == socket.AF_INET else ETHERTYPE_IPV6
        offset = 4
    elif linktype == LINKTYPE_LINUX_SLL:
        if len(data) < 16:
            return None
        address_length = struct.unpack_from("!H", data, 4)[0]
        if address_length == 6:
            packet.src_mac = data[6:12].hex(":")
        ethertype = struct.unpack_from("!H", data, 14)[0]
        offset = 16
    elif linktype == LINKTYPE_LINUX_SLL2:
        if len(data) < 20:
            return None
        ethertype = struct.unpack_from("!H", data, 0)[0]
        if data[11] == 6:
            packet.src_mac = data[12:18].hex(":")
        offset = 20
    elif linktype in _RAW_ALIASES:
        if not data:
            return None
        ethertype = ETHERTYPE_IPV6 if data[0] >> 4 == 6 else ETHERTYPE_IPV4
        offset = 0
    else:
        return None
    packet.ethertype = ethertype
    if ethertype == ETHERTYPE_IPV4:
        _ipv4(packet, data, offset)
    elif ethertype == ETHERTYPE_IPV6:
        _ipv6(packet, data, offset)
    elif ethertype == ETHERTYPE_ARP:
        _arp(packet, data, offset)
    elif ethertype == ETHERTYPE_SADP:
        packet.payload = data[offset:]
    return packet


def _ipv4(packet: Packet, data: bytes, offset: int) -> None:
    if len(data) < offset + 20:
        packet.truncated = True
        return
    (
        version_ihl,
        _tos,
        total_length,
        _ident,
        fragment_field,
        _ttl,
        proto,
        _checksum,
        src,
        dst,
    ) = _IPV4.unpack_from(data, offset)
    header_length = (version_ihl & 0x0F) * 4
    if version_ihl >> 4 != 4 or header_length < 20:
        packet.truncated = True
        return
    packet.src_ip = socket.inet_ntoa(src)
    packet.dst_ip = socket.inet_ntoa(dst)
    packet.proto = proto
    end = offset + total_length if total_length >= header_length else len(data)
    if end > len(data):
        packet.truncated = True
        end = len(data)
    if fragment_field & 0x1FFF:
        packet.fragment = True
        return
    _transport(packet, data, offset + header_length, end)


def _ipv6(packet: Packet, data: bytes, offset: int) -> None:
    if len(data) < offset + 40:
        packet.truncated = True
        return
    payload_length = struct.unpack_from("!H", data, offset + 4)[0]
    next_header = data[offset + 6]
    packet.src_ip = socket.inet_ntop(socket.AF_INET6, data[offset + 8 : offset + 24])
    packet.dst_ip = socket.inet_ntop(socket.AF_INET6, data[offset + 24 : offset + 40])
    end = offset + 40 + payload_length
    if end > len(data):
        packet.truncated = True
        end = len(data)
    position = offset + 40
    for _ in range(8):  # a bounded walk: hostile chains do not loop forever
        if next_header in _IPV6_EXTENSIONS:
            if position + 2 > end:
                return
            next_header, length = data[position], (data[position + 1] + 1) * 8
            position += length
        elif next_header == _IPV6_FRAGMENT:
            if position + 8 > end:
                return
            fragment_offset = struct.unpack_from("!H", data, position + 2)[0] >> 3
            next_header = data[position]
            position += 8
            if fragment_offset:
                packet.fragment = True
                return
        else:
            break
    packet.proto = next_header
    _transport(packet, data, position, end)


def _transport(packet: Packet, data: bytes, start: int, end: int) -> None:
    proto = packet.proto
    if proto == PROTO_TCP:
        if end < start + 20:
            packet.truncated = True
            return
        sport, dport, seq, _ack, offset_byte, flags = _TCP.unpack_from(data, start)
        header_length = (offset_byte >> 4) * 4
        packet.sport, packet.dport, packet.seq, packet.flags = sport, dport, seq, flags
        if header_length < 20:
            packet.truncated = True
            return
        packet._payload_at(data, start + header_length, end)
    elif proto == PROTO_UDP:
        if end < start + 8:
            packet.truncated = True
            return
        sport, dport, length = _UDP.unpack_from(data, start)
        packet.sport, packet.dport = sport, dport
        stop = start + length if length >= 8 else end
        if stop > end:
            packet.truncated = True
            stop = end
        packet._payload_at(data, start + 8, stop)
    elif proto in (PROTO_ICMP, PROTO_ICMPV6):
        packet._payload_at(data, start, end)  # the ICMP message, its type first


def _arp(packet: Packet, data: bytes, offset: int) -> None:
    # Ethernet/IPv4 ARP only: hardware type 1, protocol 0x0800, lengths 6 and 4.
    if len(data) < offset + 28:
        return
    hardware, protocol, hardware_length, protocol_length = struct.unpack_from("!HHBB", data, offset)
    if (hardware, protocol, hardware_length, protocol_length) != (1, 0x0800, 6, 4):
        return
    sender_mac = data[offset + 8 : offset + 14].hex(":")
    sender_ip = socket.inet_ntoa(data[offset + 14 : offset + 18])
    packet.arp = (sender_mac, sender_ip)
    packet.src_mac = sender_mac

"""Passive corpus entries as one capture: real DHCP, mDNS, SSDP, DNS and Tuya packets.

Each entry becomes a host with its own MAC and its own documentation address (192.0.2.0/24,
then 198.51.100.0/24, then 203.0.113.0/24) that sends, in this order: a gratuitous ARP announcing its address, its DHCP request (from
0.0.0.0, requesting its address), its mDNS announcements, its SSDP messages, its DNS queries
and its Tuya broadcasts. Frames are built with dpkt and written as a pcap file; nothing is
sent on any network, and the addresses are packet contents only.

The MAC is the source's when it shows the whole MAC; a source that shows only the OUI gets
its three octets followed by the entry's number; a source that shows none gets a locally
administered MAC (``02:…``), which names no maker, so only what the device said counts.
"""

from __future__ import annotations

import hashlib
import json
import socket
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

import dpkt
from corpus_schema import MdnsAnnouncement, PassiveEntry, SsdpMessage, TuyaBroadcast

_BLOCKS = ("192.0.2", "198.51.100", "203.0.113")
#: Hosts per documentation block (.1 is left to the capture's DHCP server, .53 to its DNS
#: server, .250 to the SSDP searcher; none of them sends a packet).
_HOSTS = [n for n in range(2, 250) if n != 53]
MAX_PASSIVE_DEVICES = len(_BLOCKS) * len(_HOSTS)
DNS_SERVER = "198.51.100.53"
SSDP_SEARCHER = "192.0.2.250"
_MDNS_GROUP, _SSDP_GROUP = "224.0.0.251", "239.255.255.250"
_MDNS_MAC, _SSDP_MAC = "01:00:5e:00:00:fb", "01:00:5e:7f:ff:fa"
_BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"
_SERVICE_ENUMERATION = "_services._dns-sd._udp.local."
_GATEWAY_MAC = "02:00:00:00:00:01"  # the DNS server's next hop (it sends nothing)
_START = 1767603600.0  # 2026-01-05T09:00:00Z
#: Tuya's fixed UDP key (jasonacox/tinytuya core/crypto_helper.py: md5 of this string).
_TUYA_UDP_KEY = hashlib.md5(b"yGAdlopoPVldABfn").digest()


def passive_address(index: int) -> str:
    """The documentation address of the ``index``-th passive corpus device."""
    if not 0 <= index < MAX_PASSIVE_DEVICES:
        raise ValueError(f"passive device index {index} outside 0..{MAX_PASSIVE_DEVICES - 1}")
    block, host = divmod(index, len(_HOSTS))
    return f"{_BLOCKS[block]}.{_HOSTS[host]}"


def passive_mac(entry: PassiveEntry, index: int) -> str:
    """The entry's MAC: the source's, its OUI plus the entry's number, or a local one."""
    given = entry.passive.mac
    if given is not None and len(given) == 17:
        return given
    tail = f"{0xC0 | index >> 16:02x}:{index >> 8 & 0xFF:02x}:{index & 0xFF:02x}"
    return f"{given}:{tail}" if given is not None else f"02:c0:7e:{tail}"


def _mac(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


def _udp_frame(
    src_mac: str, dst_mac: str, src: str, dst: str, sport: int, dport: int, payload: bytes
) -> bytes:
    datagram = dpkt.udp.UDP(sport=sport, dport=dport, data=payload)
    datagram.ulen = 8 + len(payload)
    packet = dpkt.ip.IP(
        src=socket.inet_aton(src),
        dst=socket.inet_aton(dst),
        p=dpkt.ip.IP_PROTO_UDP,
        ttl=255 if dport == 5353 else 64,
        data=datagram,
    )
    packet.len = 20 + len(datagram)
    return bytes(
        dpkt.ethernet.Ethernet(
            src=_mac(src_mac), dst=_mac(dst_mac), type=dpkt.ethernet.ETH_TYPE_IP, data=packet
        )
    )


def arp_announcement(mac: str, address: str) -> bytes:
    """A gratuitous ARP request: sender and target are the host's own address."""
    arp = dpkt.arp.ARP(
        sha=_mac(mac), spa=socket.inet_aton(address), tha=b"\x00" * 6, tpa=socket.inet_aton(address)
    )
    arp.op = dpkt.arp.ARP_OP_REQUEST
    return bytes(
        dpkt.ethernet.Ethernet(
            src=_mac(mac), dst=_mac(_BROADCAST_MAC), type=dpkt.ethernet.ETH_TYPE_ARP, data=arp
        )
    )


def dhcp_request(entry: PassiveEntry, mac: str, address: str, xid: int) -> bytes:
    """A DHCPREQUEST (option 53 = 3) asking for ``address`` with the entry's options."""
    dhcp = entry.passive.dhcp
    assert dhcp is not None
    options: list[tuple[int, bytes]] = [
        (dpkt.dhcp.DHCP_OPT_MSGTYPE, bytes([dpkt.dhcp.DHCPREQUEST])),
        (dpkt.dhcp.DHCP_OPT_REQ_IP, socket.inet_aton(address)),
    ]
    if dhcp.hostname is not None:
        options.append((dpkt.dhcp.DHCP_OPT_HOSTNAME, dhcp.hostname.encode()))
    if dhcp.vendor_class is not None:
        options.append((dpkt.dhcp.DHCP_OPT_VENDOR_ID, dhcp.vendor_class.encode()))
    if dhcp.parameter_list:
        options.append((dpkt.dhcp.DHCP_OPT_PARAM_REQ, bytes(dhcp.parameter_list)))
    message = dpkt.dhcp.DHCP(
        op=dpkt.dhcp.DHCP_OP_REQUEST, xid=xid, chaddr=_mac(mac) + b"\x00" * 10, opts=options
    )
    return _udp_frame(mac, _BROADCAST_MAC, "0.0.0.0", "255.255.255.255", 68, 67, bytes(message))


def _rr(name: str, rtype: int, **fields: object) -> dpkt.dns.DNS.RR:
    record = dpkt.dns.DNS.RR(name=name.rstrip("."), type=rtype, cls=dpkt.dns.DNS_IN, ttl=120)
    for key, value in fields.items():
        setattr(record, key, value)
    return record


def mdns_response(announcements: Sequence[MdnsAnnouncement], address: str) -> bytes:
    """One unsolicited mDNS response: PTR, SRV, TXT per instance and A for each host; a
    service type alone as the answer to a service-type enumeration."""
    answers: list[dpkt.dns.DNS.RR] = []
    hosts: list[str] = []
    for item in announcements:
        if item.instance is None:
            answers.append(
                _rr(_SERVICE_ENUMERATION, dpkt.dns.DNS_PTR, ptrname=item.service.rstrip("."))
            )
            continue
        full = f"{item.instance}.{item.service}"
        answers.append(_rr(item.service, dpkt.dns.DNS_PTR, ptrname=full.rstrip(".")))
        if item.host is not None:
            answers.append(
                _rr(
                    full,
                    dpkt.dns.DNS_SRV,
                    priority=0,
                    weight=0,
                    port=item.port,
                    srvname=item.host.rstrip("."),
                )
            )
            if item.host not in hosts:
                hosts.append(item.host)
        texts = [f"{key}={value}".encode()[:255] for key, value in item.txt] or [b""]
        answers.append(_rr(full, dpkt.dns.DNS_TXT, text=texts))
    for host in hosts:
        answers.append(_rr(host, dpkt.dns.DNS_A, ip=socket.inet_aton(address)))
    message = dpkt.dns.DNS(id=0, an=answers)
    message.qr, message.aa, message.rd = dpkt.dns.DNS_R, 1, 0
    return bytes(message)


def ssdp_message(message: SsdpMessage, address: str) -> bytes:
    """A NOTIFY (ssdp:alive) or a search reply with the headers the source shows."""
    headers: list[tuple[str, str | None]]
    if message.kind == "notify":
        start = "NOTIFY * HTTP/1.1"
        headers = [("HOST", f"{_SSDP_GROUP}:1900"), ("CACHE-CONTROL", "max-age=1800")]
    else:
        start = "HTTP/1.1 200 OK"
        headers = [("CACHE-CONTROL", "max-age=1800"), ("EXT", "")]
    location = f"http://{address}{message.location}" if message.location else None
    headers += [
        ("LOCATION", location),
        ("NT", message.nt),
        ("NTS", "ssdp:alive" if message.kind == "notify" else None),
        ("SERVER", message.server),
        ("ST", message.st),
        ("USN", message.usn),
    ]
    lines = [start] + [f"{name}: {value}" for name, value in headers if value is not None]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def dns_query(name: str, message_id: int) -> bytes:
    question = dpkt.dns.DNS.Q(name=name, type=dpkt.dns.DNS_A, cls=dpkt.dns.DNS_IN)
    return bytes(dpkt.dns.DNS(id=message_id, qr=dpkt.dns.DNS_Q, rd=1, qd=[question]))


def tuya_frame(broadcast: TuyaBroadcast) -> bytes:
    """A 55aa frame, command 0x13; on 6667 the JSON is AES-ECB encrypted as devices do."""
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    payload = json.dumps(broadcast.payload, separators=(",", ":")).encode()
    if broadcast.port == 6667:
        padder = padding.PKCS7(128).padder()
        padded = padder.update(payload) + padder.finalize()
        encryptor = Cipher(algorithms.AES(_TUYA_UDP_KEY), modes.ECB()).encryptor()
        payload = encryptor.update(padded) + encryptor.finalize()
    body = struct.pack(">I", 0) + payload
    header = b"\x00\x00\x55\xaa" + struct.pack(">III", 0, 0x13, len(body) + 8)
    crc = struct.pack(">I", zlib.crc32(header + body) & 0xFFFFFFFF)
    return header + body + crc + b"\x00\x00\xaa\x55"


def entry_frames(entry: PassiveEntry, index: int) -> list[bytes]:
    """Every frame the ``index``-th entry's device sends."""
    mac, address = passive_mac(entry, index), passive_address(index)
    observed = entry.passive
    # Every IPv4 host announces its address when it joins (RFC 5227): a gratuitous ARP.
    frames: list[bytes] = [arp_announcement(mac, address)]
    if observed.dhcp is not None:
        frames.append(dhcp_request(entry, mac, address, 0x5EED0000 + index))
    if observed.mdns:
        payload = mdns_response(observed.mdns, address)
        frames.append(_udp_frame(mac, _MDNS_MAC, address, _MDNS_GROUP, 5353, 5353, payload))
    for message in observed.ssdp:
        payload = ssdp_message(message, address)
        if message.kind == "notify":
            frames.append(_udp_frame(mac, _SSDP_MAC, address, _SSDP_GROUP, 1900, 1900, payload))
        else:
            frames.append(
                _udp_frame(mac, _GATEWAY_MAC, address, SSDP_SEARCHER, 1900, 50000, payload)
            )
    for number, name in enumerate(observed.dns_queries):
        payload = dns_query(name, (index * 64 + number) & 0xFFFF)
        frames.append(
            _udp_frame(mac, _GATEWAY_MAC, address, DNS_SERVER, 40000 + number, 53, payload)
        )
    for broadcast in observed.tuya:
        frames.append(
            _udp_frame(
                mac,
                _BROADCAST_MAC,
                address,
                "255.255.255.255",
                63145,
                broadcast.port,
                tuya_frame(broadcast),
            )
        )
    return frames


def write_capture(entries: Sequence[PassiveEntry], path: Path) -> dict[str, tuple[str, str]]:
    """One pcap of every entry's frames; returns entry id -> (address, MAC)."""
    placed: dict[str, tuple[str, str]] = {}
    moment = _START
    with path.open("wb") as handle:
        writer = dpkt.pcap.Writer(handle, linktype=dpkt.pcap.DLT_EN10MB)
        for index, entry in enumerate(entries):
            placed[entry.id] = (passive_address(index), passive_mac(entry, index))
            for frame in entry_frames(entry, index):
                writer.writepkt(frame, ts=moment)
                moment += 0.01
    return placed

"""A Tuya-platform device behind an Espressif radio, seen only by its LP broadcasts (issue 11)."""

from __future__ import annotations

import socket
from pathlib import Path

import dpkt
from pcap_builders import pcap_bytes

from provscan.pipeline import run_passive
from tuya_frames import CLEAR, frame_55aa

ESPRESSIF_MAC = "cc:50:e3:12:34:56"


def broadcast(src: str, payload: bytes, port: int) -> bytes:
    datagram = dpkt.udp.UDP(sport=63145, dport=port, data=payload)
    datagram.ulen = 8 + len(payload)
    ip = dpkt.ip.IP(
        src=socket.inet_aton(src),
        dst=socket.inet_aton("255.255.255.255"),
        p=dpkt.ip.IP_PROTO_UDP,
        data=datagram,
    )
    ip.len = 20 + len(datagram)
    return bytes(
        dpkt.ethernet.Ethernet(
            src=bytes.fromhex(ESPRESSIF_MAC.replace(":", "")),
            dst=b"\xff" * 6,
            type=dpkt.ethernet.ETH_TYPE_IP,
            data=ip,
        )
    )


def test_tuya_broadcasts_name_the_platform_maker_not_the_radio(tmp_path: Path) -> None:
    capture = tmp_path / "tuya.pcap"
    capture.write_bytes(
        pcap_bytes(
            [
                broadcast("192.0.2.41", frame_55aa(bytes(range(160))), 6667),
                broadcast("192.0.2.42", frame_55aa(CLEAR, command=0x00), 6666),
            ]
        )
    )
    devices = {device.ip: device for device in run_passive([str(capture)]).devices}
    encrypted, clear = devices["192.0.2.41"], devices["192.0.2.42"]
    for device in (encrypted, clear):
        assert device.manufacturer == "Tuya", device.notes
        assert any(e.rule_id == "tuya.lp.broadcast" for e in device.evidence)
        assert not device.restricted

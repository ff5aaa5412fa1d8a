"""The "also seen as" note of a device whose addresses were merged names the MAC that linked
them, and how each address came by it.

A newcomer read "also seen as 10.0.13.24, … (same MAC 02:00:0a:00:00:0a)" where those
addresses had never used that Ethernet MAC: the link was the MAC each one's SADP reply
reported (``<MAC>bc-ba-c2-12-34-56</MAC>``). Now the note says which MAC it was and where it
came from: the Ethernet source of their packets, a MAC their messages reported, or a binding
(ARP, DHCP, a discovery reply) that gave one address another's MAC.
"""

from __future__ import annotations

import socket
from pathlib import Path

import dpkt
from pcap_builders import ACK, SYN, pcap_bytes, tcp

from provscan.model import Device
from provscan.pipeline import run_passive

SCANNER, SCANNER_MAC = "10.0.0.5", "02:00:00:00:00:05"
#: The MAC the SADP replies report (a Hikvision OUI), used by no frame as its source.
REPORTED = "bc:ba:c2:12:34:56"


def sadp_reply(source: str, source_mac: str, mac: str, address: str) -> bytes:
    """A Hikvision SADP reply from ``source`` saying the device has ``mac`` and ``address``."""
    payload = (
        b'<?xml version="1.0" encoding="utf-8"?><ProbeMatch><Uuid>7A1B2C3D-0000-0000-0000-'
        b"BCBAC2123456</Uuid><Types>inquiry</Types><DeviceType>136323</DeviceType>"
        b"<DeviceDescription>DS-2CD2143G0-I</DeviceDescription>"
        b"<DeviceSN>DS-2CD2143G0-I20200114AAWR123456789</DeviceSN><CommandPort>8000"
        b"</CommandPort><HttpPort>80</HttpPort><MAC>"
        + mac.replace(":", "-").encode()
        + b"</MAC><IPv4Address>"
        + address.encode()
        + b"</IPv4Address><IPv4SubnetMask>255.255.255.0</IPv4SubnetMask><DHCP>true</DHCP>"
        b"<SoftwareVersion>V5.5.800build 210628</SoftwareVersion><Activated>true</Activated>"
        b"</ProbeMatch>"
    )
    datagram = dpkt.udp.UDP(sport=37020, dport=37020, data=payload)
    datagram.ulen = 8 + len(payload)
    packet = dpkt.ip.IP(
        src=socket.inet_aton(source),
        dst=socket.inet_aton("239.255.255.250"),
        p=dpkt.ip.IP_PROTO_UDP,
        data=datagram,
    )
    packet.len = 20 + datagram.ulen
    return bytes(
        dpkt.ethernet.Ethernet(
            src=bytes.fromhex(source_mac.replace(":", "")),
            dst=bytes.fromhex("01005e7ffffa"),
            type=dpkt.ethernet.ETH_TYPE_IP,
            data=packet,
        )
    )


def serves(address: str, mac: str, port: int = 80) -> list[bytes]:
    """The scanner's SYN to ``address`` and its SYN-ACK, sent from ``mac``."""
    return [
        tcp(SCANNER, address, 40000, port, 100, SYN, src_mac=SCANNER_MAC, dst_mac=mac),
        tcp(address, SCANNER, port, 40000, 900, SYN | ACK, src_mac=mac, dst_mac=SCANNER_MAC),
    ]


def analyse(tmp_path: Path, frames: list[bytes]) -> dict[str, Device]:
    path = tmp_path / "capture.pcap"
    path.write_bytes(pcap_bytes(frames))
    result = run_passive([str(path)], posture=False)
    return {device.ip: device for device in result.devices}


def merge_note(device: Device) -> str:
    (note,) = [note for note in device.notes if note.startswith("also seen as ")]
    return note


def test_addresses_linked_by_a_mac_their_sadp_replies_report_are_named_by_it(
    tmp_path: Path,
) -> None:
    # Given two addresses with Ethernet MACs of their own whose SADP replies report one MAC
    frames = [
        sadp_reply("10.0.0.21", "02:00:00:00:00:21", REPORTED, "10.0.0.21"),
        sadp_reply("10.0.0.22", "02:00:00:00:00:22", REPORTED, "10.0.0.22"),
    ]
    devices = analyse(tmp_path, frames)
    # Then they are one device, and its note names the reported MAC, not an Ethernet one
    device = devices["10.0.0.21"]
    assert "10.0.0.22" not in devices
    assert merge_note(device) == (
        f"also seen as 10.0.0.22 (same MAC {REPORTED}, reported in their SADP messages; "
        "not the Ethernet source of their packets)"
    )


def test_addresses_of_one_ethernet_mac_say_it_was_their_source(tmp_path: Path) -> None:
    # Given an IPv4 and an IPv6 address sent from the same Ethernet MAC
    mac = "02:00:00:00:00:31"
    frames = serves("10.0.0.31", mac)
    six = dpkt.ip6.IP6(
        src=socket.inet_pton(socket.AF_INET6, "fd00::31"),
        dst=socket.inet_pton(socket.AF_INET6, "fd00::5"),
        nxt=dpkt.ip.IP_PROTO_UDP,
        hlim=64,
        data=dpkt.udp.UDP(sport=5000, dport=5000, ulen=8),
    )
    six.plen = 8
    frames.append(
        bytes(
            dpkt.ethernet.Ethernet(
                src=bytes.fromhex(mac.replace(":", "")),
                dst=bytes.fromhex(SCANNER_MAC.replace(":", "")),
                type=dpkt.ethernet.ETH_TYPE_IP6,
                data=six,
            )
        )
    )
    device = analyse(tmp_path, frames)["10.0.0.31"]
    assert merge_note(device) == (
        f"also seen as fd00::31 (same MAC {mac}, the Ethernet source of their packets)"
    )


def test_a_mac_one_address_sends_from_and_another_reports_says_which_is_which(
    tmp_path: Path,
) -> None:
    # Given an address that sends from a MAC, and another whose SADP reply reports that MAC
    mac = "02:00:00:00:00:41"
    frames = serves("10.0.0.41", mac)
    frames.append(sadp_reply("10.0.0.42", "02:00:00:00:00:42", mac, "10.0.0.42"))
    device = analyse(tmp_path, frames)["10.0.0.41"]
    assert merge_note(device) == (
        f"also seen as 10.0.0.42 (same MAC {mac}: the Ethernet source of packets from "
        "10.0.0.41, "
        "reported in SADP messages from 10.0.0.42)"
    )


def test_an_address_a_discovery_reply_gives_another_mac_names_the_binding(
    tmp_path: Path,
) -> None:
    # Given a SADP reply from one address that says its MAC has another address, which sent
    # packets from a MAC of its own
    mac = "02:00:00:00:00:51"
    frames = [sadp_reply("10.0.0.51", mac, mac, "10.0.0.52")]
    frames += serves("10.0.0.52", "02:00:00:00:00:52")
    device = analyse(tmp_path, frames)["10.0.0.51"]
    assert merge_note(device) == (
        f"also seen as 10.0.0.52 (SADP says MAC {mac} (of 10.0.0.51) has 10.0.0.52)"
    )

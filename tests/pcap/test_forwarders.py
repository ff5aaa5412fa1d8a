"""Forwarders in captures (issue 11, point 6): a MAC that sends for several addresses - a router,
or an attacker in an ARP-spoofing capture - lends its identity to none of them and merges none
of them with itself; its own address (ARP/DHCP, when it has exactly one) keeps it."""

from __future__ import annotations

import socket
from pathlib import Path

import dpkt
import pytest
from pcap_builders import ACK, PSH, SYN, pcap_bytes, tcp

from provscan.model import Device
from provscan.passive.cloud import CloudMatcher
from provscan.passive.hosts import HostTable
from provscan.pipeline import run_passive

#: The attacker's adapter has a TP-Link OUI: the camera it relays must not become TP-Link.
ATTACKER_MAC = "00:0a:eb:aa:bb:cc"
VICTIM_MAC = "02:00:00:00:00:05"  # locally administered: names no maker
CAMERA, GATEWAY, ATTACKER, VICTIM = "10.0.0.64", "10.0.0.1", "10.0.0.66", "10.0.0.5"
#: A router with a Huawei OUI: the servers behind it are not Huawei devices.
ROUTER_MAC = "00:66:19:00:00:01"
ROUTER_IP = "192.168.1.1"
LAN_HOST, LAN_MAC = "192.168.1.50", "02:00:00:00:00:50"
SERVERS = ("203.0.113.10", "198.51.100.7")

RTSP_REQUEST = b"OPTIONS rtsp://10.0.0.64/ RTSP/1.0\r\nCSeq: 1\r\n\r\n"
#: The month-first Date after one space: a habit several makers share (live555, TP-Link,
#: Reolink), so it can only make the camera a review case. (After two spaces it is Hikvision's
#: own: knowledge rule hikvision.rtsp_date.two_space_month_first.)
RTSP_REPLY = (
    b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nDate: Thu, May 14 2020 16:45:35 GMT\r\n"
    b"Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n\r\n"
)
HTTP_REQUEST = b"GET / HTTP/1.1\r\nHost: example\r\n\r\n"
HTTP_REPLY = b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 0\r\n\r\n"


def arp_reply(sender_mac: str, sender_ip: str, target_mac: str, target_ip: str) -> bytes:
    arp = dpkt.arp.ARP(
        op=dpkt.arp.ARP_OP_REPLY,
        sha=bytes.fromhex(sender_mac.replace(":", "")),
        spa=socket.inet_aton(sender_ip),
        tha=bytes.fromhex(target_mac.replace(":", "")),
        tpa=socket.inet_aton(target_ip),
    )
    return bytes(
        dpkt.ethernet.Ethernet(
            src=bytes.fromhex(sender_mac.replace(":", "")),
            dst=bytes.fromhex(target_mac.replace(":", "")),
            type=dpkt.ethernet.ETH_TYPE_ARP,
            data=arp,
        )
    )


def conversation(
    client: str,
    server: str,
    port: int,
    request: bytes,
    reply: bytes,
    client_mac: str,
    server_mac: str,
    sport: int = 40000,
) -> list[bytes]:
    """A handshake and one request/reply; ``server_mac`` is the Ethernet source of the reply."""
    return [
        tcp(client, server, sport, port, 100, SYN, src_mac=client_mac, dst_mac=server_mac),
        tcp(server, client, port, sport, 900, SYN | ACK, src_mac=server_mac, dst_mac=client_mac),
        tcp(client, server, sport, port, 101, ACK | PSH, request, client_mac, server_mac),
        tcp(server, client, port, sport, 901, ACK | PSH, reply, server_mac, client_mac),
    ]


def arp_spoofing_frames() -> list[bytes]:
    """One MAC (the attacker's) is the Ethernet source for three addresses: the camera's
    RTSP replies it relays, the gateway it impersonates, and its own."""
    frames = [
        # the attacker claims both the gateway's and the camera's address
        arp_reply(ATTACKER_MAC, GATEWAY, VICTIM_MAC, VICTIM),
        arp_reply(ATTACKER_MAC, CAMERA, VICTIM_MAC, VICTIM),
    ]
    frames += conversation(VICTIM, CAMERA, 554, RTSP_REQUEST, RTSP_REPLY, VICTIM_MAC, ATTACKER_MAC)
    frames += conversation(
        VICTIM, GATEWAY, 80, HTTP_REQUEST, HTTP_REPLY, VICTIM_MAC, ATTACKER_MAC, 40001
    )
    frames += conversation(
        VICTIM, ATTACKER, 80, HTTP_REQUEST, HTTP_REPLY, VICTIM_MAC, ATTACKER_MAC, 40002
    )
    return frames


def routed_frames() -> list[bytes]:
    """Servers on the internet reach a LAN host through a router whose own address ARP names."""
    frames = [arp_reply(ROUTER_MAC, ROUTER_IP, LAN_MAC, LAN_HOST)]
    for index, server in enumerate(SERVERS):
        frames += conversation(
            LAN_HOST, server, 80, HTTP_REQUEST, HTTP_REPLY, LAN_MAC, ROUTER_MAC, 41000 + index
        )
    frames += conversation(
        LAN_HOST, ROUTER_IP, 80, HTTP_REQUEST, HTTP_REPLY, LAN_MAC, ROUTER_MAC, 42000
    )
    return frames


def analyse(tmp_path: Path, frames: list[bytes]) -> dict[str, Device]:
    path = tmp_path / "capture.pcap"
    path.write_bytes(pcap_bytes(frames))
    result = run_passive([str(path)], posture=False)
    return {device.ip: device for device in result.devices}


@pytest.fixture
def spoofed(tmp_path: Path) -> dict[str, Device]:
    return analyse(tmp_path, arp_spoofing_frames())


def test_nobody_is_flagged_restricted_in_an_arp_spoofing_capture(
    spoofed: dict[str, Device],
) -> None:
    assert {CAMERA, GATEWAY, ATTACKER} <= set(spoofed)
    # The forwarder itself is a TP-Link (its own MAC): restricted on its own account since the
    # Texas 2026 list (issue 12); nobody behind it borrows that.
    flagged = [(ip, d.manufacturer) for ip, d in spoofed.items() if d.restricted]
    assert flagged in ([], [("unknown", "TP-Link")])
    # the forwarder is shown by its own MAC, with its own maker, and nothing behind it
    forwarder = spoofed["unknown"]
    assert (forwarder.mac, forwarder.manufacturer) == (ATTACKER_MAC, "TP-Link")
    assert any("forwards frames for" in note for note in forwarder.notes)


def test_addresses_behind_a_forwarder_are_separate_and_get_no_mac(
    spoofed: dict[str, Device],
) -> None:
    for address in (CAMERA, GATEWAY, ATTACKER):
        device = spoofed[address]
        assert device.mac is None, address
        assert device.manufacturer is None, (address, device.manufacturer)
        assert not any("also seen as" in note for note in device.notes), device.notes
    camera = spoofed[CAMERA]
    assert any(e.observed_field == "rtsp.date" for e in camera.evidence)
    # the month-first date alone names Hikvision only as a possibility
    assert any(note.startswith("review: possibly made by Hikvision") for note in camera.notes)


def test_a_router_keeps_its_own_address_and_lends_its_maker_to_nobody(tmp_path: Path) -> None:
    devices = analyse(tmp_path, routed_frames())
    for server in SERVERS:
        assert devices[server].mac is None
        assert devices[server].manufacturer is None, devices[server].manufacturer
        assert not devices[server].restricted
    router = devices[ROUTER_IP]
    assert router.mac == ROUTER_MAC
    assert router.manufacturer == "Huawei"  # its own address: ARP names its MAC
    assert not any("forwarder MAC" in note for note in router.notes)
    assert "unknown" not in devices  # the router is its own address, not a second device


def test_forwarder_detection_counts_ipv4_addresses() -> None:
    table = HostTable(CloudMatcher(()))
    table.sender("10.0.0.7", "02:11:22:33:44:55", 1, 0.0)
    table.sender("fe80::1", "02:11:22:33:44:55", 2, 0.0)
    table.sender("2001:db8::1", "02:11:22:33:44:55", 3, 0.0)
    assert table.router_macs() == set()  # one IPv4 host with IPv6 addresses is no forwarder
    table.sender("10.0.0.8", "02:11:22:33:44:55", 4, 0.0)
    assert table.router_macs() == {"02:11:22:33:44:55"}


def test_a_mac_bound_to_several_addresses_has_no_own_address() -> None:
    table = HostTable(CloudMatcher(()))
    table.bind(ATTACKER_MAC, GATEWAY)
    assert table.own_address(ATTACKER_MAC) == GATEWAY
    table.bind(ATTACKER_MAC, CAMERA)
    assert table.own_address(ATTACKER_MAC) is None

"""A host a capture saw serve nothing but open connections (the scanning host, a workstation)
is told apart from a bare address: a note and its line in the unknown list say what it did;
identification and verdicts are untouched (a newcomer's review of `provscan pcap`)."""

from __future__ import annotations

import io
import socket
from pathlib import Path

import dpkt
import pytest
from pcap_builders import ACK, ETH_CLIENT, ETH_SERVER, SYN, pcap_bytes, tcp
from rich.console import Console

from provscan.model import SERVED_NOTHING_NOTE_PREFIX, Device, HostEvidence, ScanResult
from provscan.passive.cloud import CloudMatcher
from provscan.passive.hosts import MAX_PEERS_PER_HOST, PEER_BYTES, HostTable
from provscan.pipeline import run_passive
from provscan.report.formats import render_table

LAB = Path(__file__).parent / "fixtures" / "lab_scan.pcap.gz"
#: The distinct addresses the recording's scanning host sent a SYN to (counted with dpkt).
LAB_PEERS = 74

CLIENT, CLIENT6, SERVER, SILENT = "10.0.0.5", "fd00::5", "10.0.0.64", "10.0.0.65"
SERVER6 = "fd00::64"
PHONES_HOME, PHONES_HOME_MAC = "10.0.0.80", "bc:ba:c2:00:00:80"  # a Hikvision OUI
CLOUD = "198.51.100.7"


def rendered(result: ScanResult, width: int) -> str:
    buffer = io.StringIO()
    render_table(result, Console(file=buffer, width=width, no_color=True))
    return buffer.getvalue()


def tcp6(src: str, dst: str, sport: int, dport: int, flags: int) -> bytes:
    """An Ethernet/IPv6 TCP segment from the client (the general decoder reads it, not the
    IPv4 fast path)."""
    segment = dpkt.tcp.TCP(sport=sport, dport=dport, seq=1, flags=flags)
    segment.off = 5
    packet = dpkt.ip6.IP6(
        src=socket.inet_pton(socket.AF_INET6, src),
        dst=socket.inet_pton(socket.AF_INET6, dst),
        nxt=dpkt.ip.IP_PROTO_TCP,
        hlim=64,
        data=segment,
    )
    packet.plen = len(bytes(segment))
    return bytes(
        dpkt.ethernet.Ethernet(
            src=bytes.fromhex(ETH_CLIENT.replace(":", "")),
            dst=bytes.fromhex(ETH_SERVER.replace(":", "")),
            type=dpkt.ethernet.ETH_TYPE_IP6,
            data=packet,
        )
    )


@pytest.fixture(scope="module")
def lab() -> ScanResult:
    return run_passive([str(LAB)], posture=False)


def test_the_lab_recordings_scanning_host_says_what_it_did(lab: ScanResult) -> None:
    devices = {device.ip: device for device in lab.devices}
    scanner = devices["127.0.0.1"]
    note = f"served nothing; sent TCP connection requests to {LAB_PEERS} hosts"
    # Still a device nothing identified, now with what it was seen doing
    assert scanner.open_ports == ()
    assert scanner.manufacturer is None
    assert note in scanner.notes
    # Every other host of the recording served something: none carries the note
    assert not [
        d.ip
        for d in lab.devices
        if d is not scanner and any(n.startswith(SERVED_NOTHING_NOTE_PREFIX) for n in d.notes)
    ]
    for width in (80, 100):
        text = rendered(lab, width)
        assert f"127.0.0.1 ({note})" in text
        assert "no open port seen" not in text
        assert max(len(line) for line in text.splitlines()) <= width


def test_a_crafted_capture_counts_distinct_peers_on_both_decoding_paths(tmp_path: Path) -> None:
    frames = [
        tcp(CLIENT, SERVER, 40000, 80, 100, SYN),
        tcp(SERVER, CLIENT, 80, 40000, 900, SYN | ACK, src_mac=ETH_SERVER, dst_mac=ETH_CLIENT),
        tcp(CLIENT, SERVER, 40001, 81, 100, SYN),  # the same peer again: counted once
        tcp(CLIENT, SILENT, 40002, 443, 100, SYN),  # never answered: still opened
        tcp(CLIENT, SILENT, 40002, 443, 100, SYN),  # retransmitted
        tcp6(CLIENT6, SERVER6, 40003, 80, SYN),  # the same MAC's IPv6 address: one device
        tcp(PHONES_HOME, CLOUD, 50000, 443, 7, SYN, src_mac=PHONES_HOME_MAC),
    ]
    path = tmp_path / "clients.pcap"
    path.write_bytes(pcap_bytes(frames))
    devices = {device.ip: device for device in run_passive([str(path)], posture=False).devices}
    client = devices[CLIENT]
    assert client.manufacturer is None and client.open_ports == ()
    assert "served nothing; sent TCP connection requests to 3 hosts" in client.notes
    # The server served port 80: it says so by its port, not by a note
    assert devices[SERVER].open_ports == (80,)
    assert not any(n.startswith(SERVED_NOTHING_NOTE_PREFIX) for n in devices[SERVER].notes)
    # A device that only phones home is identified by its other signals, unchanged, no note
    camera = devices[PHONES_HOME]
    assert camera.manufacturer == "Hikvision"
    assert not any(n.startswith(SERVED_NOTHING_NOTE_PREFIX) for n in camera.notes)


def bare(host: HostEvidence) -> Device:
    return Device(ip=host.address, open_ports=host.open_ports)


def test_peers_are_remembered_once_each_and_bounded() -> None:
    table = HostTable(CloudMatcher(()))
    table.sender(CLIENT, ETH_CLIENT, 1, 0.0)
    # 2001:db8:: ends in eight zero bytes and 0:ffff:a00:1::1 starts with 0000 ffff 0a00 0001:
    # side by side they hold 10.0.0.1's 16 bytes across an entry boundary, which is no entry
    table.initiated(CLIENT, "2001:db8::")
    table.initiated(CLIENT, "0:ffff:a00:1::1")
    table.initiated(CLIENT, "10.0.0.1")
    table.initiated(CLIENT, socket.inet_aton("10.0.0.1"))  # the fast path's packed bytes
    (device,) = table.build_devices(bare)
    assert device.notes == ("served nothing; sent TCP connection requests to 3 hosts",)
    for index in range(MAX_PEERS_PER_HOST + 10):
        table.initiated(CLIENT, f"10.1.{index // 256}.{index % 256}")
    record = table.hosts[CLIENT]
    assert record.peers is not None and len(record.peers) == MAX_PEERS_PER_HOST * PEER_BYTES
    (device,) = table.build_devices(bare, release=True)
    assert device.notes == (
        f"served nothing; sent TCP connection requests to more than {MAX_PEERS_PER_HOST} hosts",
    )
    assert record.peers is None  # released with the facts once the device is built


def test_a_host_that_served_or_sent_no_syn_gets_no_note() -> None:
    table = HostTable(CloudMatcher(()))
    table.sender(SERVER, ETH_SERVER, 1, 0.0)
    table.initiated(SERVER, CLIENT)
    table.open_port(SERVER, 80)
    table.sender(SILENT, "02:00:00:00:00:65", 2, 0.0)
    assert all(device.notes == () for device in table.build_devices(bare))

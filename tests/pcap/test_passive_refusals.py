"""A host a capture saw do nothing but refuse connections (TCP resets to SYNs on closed
ports, ICMP port unreachable, the ARP replies that come before them) has no identity: it is
no device in the report or the inventory, only counted in a note. A host that served,
announced itself, sent anything else, or whose MAC names its maker is unchanged. Captures
written with dpkt (on both decoding paths) and cut from the lab recording."""

from __future__ import annotations

import gzip
import socket
from pathlib import Path

import dpkt
import pytest
from pcap_builders import (
    ACK,
    ETH_CLIENT,
    ETH_SERVER,
    REPLY,
    RST,
    SYN,
    http_conversation,
    pcap_bytes,
    tcp,
)

from provscan.model import Device, HostEvidence, ScanResult
from provscan.passive.cloud import CloudMatcher
from provscan.passive.hosts import SAID_ARP, SAID_REFUSAL, HostTable
from provscan.pipeline import run_passive

LAB = Path(__file__).parent / "fixtures" / "lab_scan.pcap.gz"
CLIENT, SERVER = "10.0.0.5", "10.0.0.64"
#: Refusers: a reset after ARP; a reset and an ICMP port unreachable; IPv6 resets and ICMPv6.
CLOSED, CLOSED_UDP, CLOSED6 = "10.0.0.70", "10.0.0.71", "fd00::70"
#: A reset from a MAC of Hikvision's (identified by it), an SSDP announcer that also refused,
#: a host whose first packet was a reset and whose next was a UDP stream.
HIK_RESET, HIK_RESET_MAC = "10.0.0.72", "bc:ba:c2:00:00:72"
ANNOUNCER, STREAMER = "10.0.0.73", "10.0.0.74"
REFUSED_NOTE = (
    "3 addresses only refused connections (TCP resets, ICMP unreachable) and showed nothing "
    "of themselves: not devices"
)
SSDP_NOTIFY = (
    b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=1800\r\n"
    b"LOCATION: http://10.0.0.73:49152/rootdesc1.xml\r\nNT: upnp:rootdevice\r\n"
    b"NTS: ssdp:alive\r\nSERVER: Linux/4.9.94-axis5, UPnP/1.0, Portable SDK for UPnP "
    b"devices/1.6.22\r\nUSN: uuid:Upnp-BasicDevice-1_0-ACCC8E123456::upnp:rootdevice\r\n\r\n"
)


def mac_of(address: str) -> str:
    """A locally administered MAC per host (no maker behind it)."""
    last = int(address.rsplit(".", 1)[-1]) if "." in address else int(address.rsplit(":")[-1])
    return f"02:00:00:00:01:{last:02x}"


def ether(src_mac: str, dst_mac: str, kind: int, payload: dpkt.Packet) -> bytes:
    return bytes(
        dpkt.ethernet.Ethernet(
            src=bytes.fromhex(src_mac.replace(":", "")),
            dst=bytes.fromhex(dst_mac.replace(":", "")),
            type=kind,
            data=payload,
        )
    )


def ipv4(src: str, dst: str, proto: int, payload: dpkt.Packet) -> dpkt.ip.IP:
    packet = dpkt.ip.IP(src=socket.inet_aton(src), dst=socket.inet_aton(dst), p=proto, data=payload)
    packet.len = 20 + len(bytes(payload))
    return packet


def ipv6(src: str, dst: str, proto: int, payload: dpkt.Packet) -> dpkt.ip6.IP6:
    packet = dpkt.ip6.IP6(
        src=socket.inet_pton(socket.AF_INET6, src),
        dst=socket.inet_pton(socket.AF_INET6, dst),
        nxt=proto,
        hlim=64,
        data=payload,
    )
    packet.plen = len(bytes(payload))
    return packet


def reset(src: str, dst: str, sport: int, dport: int, src_mac: str | None = None) -> bytes:
    return tcp(src, dst, sport, dport, 0, RST | ACK, src_mac=src_mac or mac_of(src))


def syn(dst: str, dport: int) -> bytes:
    return tcp(CLIENT, dst, 41000 + dport, dport, 1, SYN)


def udp(src: str, dst: str, sport: int, dport: int, payload: bytes) -> bytes:
    datagram = dpkt.udp.UDP(sport=sport, dport=dport, data=payload)
    datagram.ulen = 8 + len(payload)
    return ether(mac_of(src), ETH_CLIENT, dpkt.ethernet.ETH_TYPE_IP, ipv4(src, dst, 17, datagram))


def port_unreachable(src: str, dst: str) -> bytes:
    quoted = bytes(ipv4(dst, src, 17, dpkt.udp.UDP(sport=40000, dport=161, ulen=8)))
    message = dpkt.icmp.ICMP(type=3, code=3, data=dpkt.icmp.ICMP.Unreach(data=quoted))
    return ether(mac_of(src), ETH_CLIENT, dpkt.ethernet.ETH_TYPE_IP, ipv4(src, dst, 1, message))


def arp_reply(src: str) -> bytes:
    reply = dpkt.arp.ARP(
        op=dpkt.arp.ARP_OP_REPLY,
        sha=bytes.fromhex(mac_of(src).replace(":", "")),
        spa=socket.inet_aton(src),
        tha=bytes.fromhex(ETH_CLIENT.replace(":", "")),
        tpa=socket.inet_aton(CLIENT),
    )
    return ether(mac_of(src), ETH_CLIENT, dpkt.ethernet.ETH_TYPE_ARP, reply)


def reset6(src: str, dst: str) -> bytes:
    segment = dpkt.tcp.TCP(sport=80, dport=41080, seq=0, flags=RST | ACK)
    segment.off = 5
    return ether(mac_of(src), ETH_CLIENT, dpkt.ethernet.ETH_TYPE_IP6, ipv6(src, dst, 6, segment))


def unreachable6(src: str, dst: str) -> bytes:
    message = dpkt.icmp6.ICMP6(
        type=1, code=4, data=dpkt.icmp6.ICMP6.Error(data=b"\x60" + bytes(39))
    )
    return ether(mac_of(src), ETH_CLIENT, dpkt.ethernet.ETH_TYPE_IP6, ipv6(src, dst, 58, message))


def served_and_announced() -> list[bytes]:
    """Frames of hosts that did something: the client's SYNs, the server's HTTP reply (and
    a reset of its own), the announcer's SSDP NOTIFY, the streamer's reset then RTP."""
    return [
        *http_conversation([(0, REPLY)]),
        tcp(SERVER, CLIENT, 81, 41081, 0, RST | ACK, src_mac=ETH_SERVER),
        udp(ANNOUNCER, "239.255.255.250", 1900, 1900, SSDP_NOTIFY),
        syn(ANNOUNCER, 80),
        reset(ANNOUNCER, CLIENT, 80, 41080),
        syn(STREAMER, 80),
        reset(STREAMER, CLIENT, 80, 41080),
        udp(STREAMER, CLIENT, 5004, 40000, b"\x80\x60" + bytes(170)),
        udp(STREAMER, CLIENT, 5004, 40000, b"\x80\x60" + bytes(170)),
    ]


def refusals() -> list[bytes]:
    """Frames of hosts that only refused (and the SYNs and probes they refused)."""
    return [
        arp_reply(CLOSED),
        syn(CLOSED, 80),
        reset(CLOSED, CLIENT, 80, 41080),
        syn(CLOSED, 443),
        reset(CLOSED, CLIENT, 443, 41443),
        syn(CLOSED_UDP, 554),
        reset(CLOSED_UDP, CLIENT, 554, 41554),
        udp(CLIENT, CLOSED_UDP, 40000, 161, b"\x30\x00"),
        port_unreachable(CLOSED_UDP, CLIENT),
        reset6(CLOSED6, "fd00::5"),
        unreachable6(CLOSED6, "fd00::5"),
        syn(HIK_RESET, 80),
        reset(HIK_RESET, CLIENT, 80, 41080, src_mac=HIK_RESET_MAC),
    ]


def analysed(path: Path, frames: list[bytes]) -> ScanResult:
    path.write_bytes(pcap_bytes(frames))
    return run_passive([str(path)], posture=False)


def comparable(device: Device) -> Device:
    """A device without what differs between two captures of its packets: the SYNs the
    client sent to the refusers are in one only (its note counts its peers)."""
    return Device(
        ip=device.ip,
        mac=device.mac,
        open_ports=device.open_ports,
        manufacturer=device.manufacturer,
        model=device.model,
        evidence=device.evidence,
        attempts=device.attempts,
        restricted=device.restricted,
    )


def test_hosts_that_only_refused_are_counted_not_devices(tmp_path: Path) -> None:
    # Given a capture where three hosts only refused, after hosts that served or announced
    result = analysed(tmp_path / "mixed.pcap", [*served_and_announced(), *refusals()])
    devices = {device.ip: device for device in result.devices}
    # Then the refusers are no devices, and a note counts them
    assert CLOSED not in devices and CLOSED_UDP not in devices and CLOSED6 not in devices
    assert REFUSED_NOTE in result.info.notes
    assert result.info.hosts_scanned == len(result.devices) == 5
    # and a reset from a MAC of Hikvision's is still Hikvision's device, by its MAC
    assert devices[HIK_RESET].manufacturer == "Hikvision"
    assert devices[HIK_RESET].mac == HIK_RESET_MAC
    # and the hosts that served, announced or streamed are what they were without the
    # refusers' packets (the same packet numbers: the refusals come after them)
    alone = analysed(tmp_path / "alone.pcap", served_and_announced())
    assert not any("only refused" in note for note in alone.info.notes)
    kept = [comparable(d) for d in result.devices if d.ip != HIK_RESET]
    assert kept == [comparable(d) for d in alone.devices]
    assert devices[SERVER].open_ports == (80,) and devices[SERVER].manufacturer is not None
    assert any(e.observed_field.startswith("ssdp.") for e in devices[ANNOUNCER].evidence)
    assert STREAMER in devices  # a reset first, then a stream: it did something


def test_a_refusal_then_anything_else_makes_a_host_a_device(tmp_path: Path) -> None:
    # Each refuser's first packet a refusal, then one packet of another kind from it: a SYN
    # (the IPv4 fast path), a UDP datagram off the discovery ports (skipped as bulk once a
    # sender is known), an ICMP echo request (the general decoder)
    echo = dpkt.icmp.ICMP(type=8, code=0, data=dpkt.icmp.ICMP.Echo(id=1, seq=1, data=b"x"))
    frames = [
        syn(CLOSED, 80),
        reset(CLOSED, CLIENT, 80, 41080),
        tcp(CLOSED, CLIENT, 50000, 22, 1, SYN, src_mac=mac_of(CLOSED)),
        syn(CLOSED_UDP, 80),
        reset(CLOSED_UDP, CLIENT, 80, 41080),
        udp(CLOSED_UDP, CLIENT, 5004, 40000, b"\x80\x60" + bytes(40)),
        port_unreachable(HIK_RESET, CLIENT),
        ether(
            mac_of(HIK_RESET),
            ETH_CLIENT,
            dpkt.ethernet.ETH_TYPE_IP,
            ipv4(HIK_RESET, CLIENT, 1, echo),
        ),
    ]
    result = analysed(tmp_path / "then.pcap", frames)
    assert {device.ip for device in result.devices} == {CLIENT, CLOSED, CLOSED_UDP, HIK_RESET}
    assert not any("only refused" in note for note in result.info.notes)


def test_the_host_table_keeps_refusals_apart() -> None:
    table = HostTable(CloudMatcher(()))

    def bare(host: HostEvidence) -> Device:
        return Device(ip=host.address, open_ports=host.open_ports)

    table.sender(CLOSED, None, 1, 0.0, SAID_ARP)
    table.sender(CLOSED, None, 2, 0.0, SAID_REFUSAL)
    table.sender(CLOSED_UDP, None, 3, 0.0, SAID_ARP)  # ARP alone: a device, as before
    table.sender(SERVER, None, 4, 0.0, SAID_REFUSAL)
    table.open_port(SERVER, 80)  # a refusal and a port it served: a device
    assert [device.ip for device in table.build_devices(bare)] == [CLOSED_UDP, SERVER]
    assert table.refused_only == 1


def _lab_frames() -> tuple[int, list[tuple[float, bytes]]]:
    with gzip.open(LAB, "rb") as handle:
        reader = dpkt.pcap.Reader(handle)
        return reader.datalink(), [(stamp, bytes(frame)) for stamp, frame in reader]


def _refusal_from_lab_device(frame: bytes) -> bool:
    packet = dpkt.ethernet.Ethernet(frame).data
    if not isinstance(packet, dpkt.ip.IP) or not packet.src.startswith(bytes((127, 77))):
        return False
    if isinstance(packet.data, dpkt.tcp.TCP):
        return bool(packet.data.flags & dpkt.tcp.TH_RST)
    return isinstance(packet.data, dpkt.icmp.ICMP) and packet.data.type == 3


@pytest.mark.parametrize("workers", [1, 2])
def test_the_lab_recordings_refusals_alone_make_no_device(tmp_path: Path, workers: int) -> None:
    # The lab recording: every host in it served something; none is left out
    lab = run_passive([str(LAB)], posture=False, workers=workers)
    assert len(lab.devices) == 75
    assert not any("only refused" in note for note in lab.info.notes)
    # Its resets and ICMP port unreachables alone (what tshark -Y "tcp.flags.reset==1 or
    # icmp.type==3" keeps of the lab devices' packets): no device, each address counted
    linktype, frames = _lab_frames()
    kept = [(stamp, frame) for stamp, frame in frames if _refusal_from_lab_device(frame)]
    senders = {socket.inet_ntoa(dpkt.ethernet.Ethernet(f).data.src) for _, f in kept}
    assert len(senders) == 74
    path = tmp_path / "refusals.pcap"
    with path.open("wb") as handle:
        writer = dpkt.pcap.Writer(handle, linktype=linktype)
        for stamp, frame in kept:
            writer.writepkt(frame, ts=stamp)
    result = run_passive([str(path)], posture=False, workers=workers)
    assert result.devices == ()
    assert result.info.hosts_scanned == 0
    assert (
        "74 addresses only refused connections (TCP resets, ICMP unreachable) and showed "
        "nothing of themselves: not devices"
    ) in result.info.notes

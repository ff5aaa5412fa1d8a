"""What devices say unasked reaches a maker through the model grammars and TXT model keys.

Issue 11 point 6: a model number in a DHCP host name or vendor class, an SSDP SERVER header,
an mDNS instance name or the model a TXT record carries (``ty=``, ``md=``, ``usb_MDL=``…) is
read by the same grammars as a procurement list; a TXT key that names the maker
(``usb_MFG=``) is a self-naming claim. Shared signals (a vendor name written in a host
name, a cloud many makers' software calls) never name a restricted maker alone, but two of
them from different observations do. Real packets in a capture file, read by ``run_passive``
as ``provscan pcap`` does; values are made up in the shape the sources describe.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from pathlib import Path

import dpkt
import pytest
from pcap_builders import pcap_bytes

from provscan.model import Device
from provscan.pipeline import run_passive
from provscan.wire import mdns

BROADCAST = "ff:ff:ff:ff:ff:ff"
MDNS_GROUP_MAC = "01:00:5e:00:00:fb"


def _mac(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


def _udp(
    src_mac: str, dst_mac: str, src: str, dst: str, ports: tuple[int, int], data: bytes
) -> bytes:
    datagram = dpkt.udp.UDP(sport=ports[0], dport=ports[1], data=data)
    datagram.ulen = 8 + len(data)
    packet = dpkt.ip.IP(
        src=socket.inet_aton(src), dst=socket.inet_aton(dst), p=dpkt.ip.IP_PROTO_UDP, data=datagram
    )
    packet.len = 20 + len(datagram)
    frame = dpkt.ethernet.Ethernet(
        src=_mac(src_mac), dst=_mac(dst_mac), type=dpkt.ethernet.ETH_TYPE_IP, data=packet
    )
    return bytes(frame)


def dhcp_request(mac: str, address: str, *, hostname: str = "", vendor_class: str = "") -> bytes:
    options: list[tuple[int, bytes]] = [
        (dpkt.dhcp.DHCP_OPT_MSGTYPE, bytes([dpkt.dhcp.DHCPREQUEST])),
        (dpkt.dhcp.DHCP_OPT_REQ_IP, socket.inet_aton(address)),
    ]
    if hostname:
        options.append((dpkt.dhcp.DHCP_OPT_HOSTNAME, hostname.encode()))
    if vendor_class:
        options.append((dpkt.dhcp.DHCP_OPT_VENDOR_ID, vendor_class.encode()))
    message = dpkt.dhcp.DHCP(
        op=dpkt.dhcp.DHCP_OP_REQUEST, xid=7, chaddr=_mac(mac) + b"\x00" * 10, opts=options
    )
    return _udp(mac, BROADCAST, "0.0.0.0", "255.255.255.255", (68, 67), bytes(message))


def mdns_announcement(mac: str, address: str, services: Sequence[mdns.MdnsService]) -> bytes:
    payload = mdns.build_response(list(services), address=address)
    return _udp(mac, MDNS_GROUP_MAC, address, "224.0.0.251", (5353, 5353), payload)


def ssdp_notify(mac: str, address: str, server: str) -> bytes:
    lines = [
        "NOTIFY * HTTP/1.1",
        "HOST: 239.255.255.250:1900",
        "CACHE-CONTROL: max-age=1800",
        f"LOCATION: http://{address}:80/description.xml",
        "NT: upnp:rootdevice",
        "NTS: ssdp:alive",
        f"SERVER: {server}",
        "USN: uuid:00000000-0000-0000-0000-000000000001::upnp:rootdevice",
    ]
    payload = ("\r\n".join(lines) + "\r\n\r\n").encode()
    return _udp(mac, "01:00:5e:7f:ff:fa", address, "239.255.255.250", (1900, 1900), payload)


def dns_query(mac: str, address: str, name: str) -> bytes:
    question = dpkt.dns.DNS.Q(name=name, type=dpkt.dns.DNS_A, cls=dpkt.dns.DNS_IN)
    payload = bytes(dpkt.dns.DNS(id=9, qr=dpkt.dns.DNS_Q, rd=1, qd=[question]))
    return _udp(mac, "02:00:00:00:00:fe", address, "192.0.2.254", (40000, 53), payload)


def analyse(tmp_path: Path, frames: list[bytes]) -> dict[str, Device]:
    capture = tmp_path / "signals.pcap"
    capture.write_bytes(pcap_bytes(frames))
    return {device.ip: device for device in run_passive([str(capture)], posture=False).devices}


# Locally administered MACs: no OUI names a maker, only what the hosts say does.
HOSTS = {
    "model-hostname": ("02:c0:7e:00:00:01", "192.0.2.11"),
    "printer": ("02:c0:7e:00:00:02", "192.0.2.12"),
    "cast": ("02:c0:7e:00:00:03", "192.0.2.13"),
    "router": ("02:c0:7e:00:00:04", "192.0.2.14"),
    "named-only": ("02:c0:7e:00:00:05", "192.0.2.15"),
    "cloud-only": ("02:c0:7e:00:00:06", "192.0.2.16"),
    "corroborated": ("02:c0:7e:00:00:07", "192.0.2.17"),
    "generic": ("02:c0:7e:00:00:08", "192.0.2.18"),
}


@pytest.fixture(scope="module")
def devices(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Device]:
    def at(name: str) -> tuple[str, str]:
        return HOSTS[name]

    frames = [
        dhcp_request(*at("model-hostname"), hostname="DS-2CD2143G0-I"),
        mdns_announcement(
            *at("printer"),
            [
                mdns.MdnsService(
                    instance="Office printer._ipp._tcp.local.",
                    service_type="_ipp._tcp.local.",
                    host="office-printer.local.",
                    port=631,
                    txt=(
                        ("txtvers", "1"),
                        ("ty", "HP LaserJet Pro M404dn"),
                        ("product", "(HP LaserJet Pro M404dn)"),
                        ("usb_MFG", "HP"),
                        ("usb_MDL", "HP LaserJet Pro M404dn"),
                    ),
                )
            ],
        ),
        mdns_announcement(
            *at("cast"),
            [
                mdns.MdnsService(
                    instance="Chromecast-0123456789abcdef._googlecast._tcp.local.",
                    service_type="_googlecast._tcp.local.",
                    host="0123456789abcdef.local.",
                    port=8009,
                    txt=(("md", "Chromecast"), ("fn", "Living room")),
                )
            ],
        ),
        ssdp_notify(*at("router"), "Linux/3.10 UPnP/1.0 HG8245H/V3R017"),
        dhcp_request(*at("named-only"), hostname="HUAWEI_P30-1a2b3c"),
        dns_query(*at("cloud-only"), "query.hicloud.com"),
        dhcp_request(*at("corroborated"), vendor_class="HUAWEI:android:ELS"),
        dns_query(*at("corroborated"), "connectivitycheck.platform.hicloud.com"),
        ssdp_notify(
            *at("generic"), "Linux/4.9.125, UPnP/1.0, Portable SDK for UPnP devices/1.6.22"
        ),
        dhcp_request(*at("generic"), hostname="living-room", vendor_class="udhcp 1.22.1"),
    ]
    found = analyse(tmp_path_factory.mktemp("model-names"), frames)
    return {name: found[address] for name, (_, address) in HOSTS.items()}


def test_a_model_number_in_a_dhcp_host_name_is_read_by_the_grammars(
    devices: dict[str, Device],
) -> None:
    device = devices["model-hostname"]
    assert (device.manufacturer, device.model) == ("Hikvision", "DS-2CD2143G0-I")
    assert device.restricted
    assert any(
        e.rule_id == "grammar:hikvision.ds_2cd" and e.observed_field == "dhcp.hostname"
        for e in device.evidence
    )


def test_a_printers_txt_record_gives_its_maker_and_model(devices: dict[str, Device]) -> None:
    device = devices["printer"]
    assert device.manufacturer == "HP" and not device.restricted
    seen = {(e.observed_field, e.observed) for e in device.evidence}
    assert ("mdns.manufacturer", "HP") in seen
    assert ("mdns.model", "HP LaserJet Pro M404dn") in seen


def test_a_cast_receivers_md_names_google_only_for_googles_own_models(
    devices: dict[str, Device],
) -> None:
    device = devices["cast"]
    assert device.manufacturer == "Google"
    assert any(e.rule_id == "google.mdns_model.cast_device" for e in device.evidence)


def test_a_model_number_in_an_ssdp_server_header_names_the_maker(
    devices: dict[str, Device],
) -> None:
    device = devices["router"]
    assert (device.manufacturer, device.model) == ("Huawei", "HG8245H")
    assert device.restricted


def test_a_vendor_name_in_a_host_name_alone_flags_nothing(devices: dict[str, Device]) -> None:
    device = devices["named-only"]
    assert not device.restricted and device.manufacturer is None
    assert any("possibly made by Huawei" in note for note in device.notes)


def test_huaweis_cloud_alone_is_a_phone_home_not_a_maker(devices: dict[str, Device]) -> None:
    device = devices["cloud-only"]
    assert not device.restricted and device.manufacturer is None
    assert [c.service for c in device.phones_home] == [
        "Huawei HiCloud (HOTA firmware updates, HMS, HiLink device services)"
    ]


def test_two_shared_huawei_signals_from_different_observations_establish_huawei(
    devices: dict[str, Device],
) -> None:
    device = devices["corroborated"]
    assert device.manufacturer == "Huawei" and device.restricted
    fields = {e.observed_field for e in device.evidence if e.asserts.get("manufacturer")}
    assert fields == {"dhcp.vendor_class", "dns.query"}


def test_generic_strings_name_no_maker(devices: dict[str, Device]) -> None:
    device = devices["generic"]
    assert device.manufacturer is None and device.model is None
    assert not device.restricted

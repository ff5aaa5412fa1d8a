"""Build the committed capture fixtures of tests/pcap/fixtures (see tests/pcap/README.md).

python scripts/make_pcap_fixtures.py            # crafted captures only (no root needed)
python scripts/make_pcap_fixtures.py --record   # also record the device lab with tcpdump

    # the recording as committed: in a network namespace of its own, whose only interface
    # is its own loopback, so that nothing else on the machine (a `provscan lab up` on the
    # same 127.77.x.y addresses, another scan) is served or recorded
    sudo unshare --net sh -c 'ip link set lo up &&
        PROVSCAN_ALLOWED_TARGETS=127.0.0.0/8 .venv/bin/python scripts/make_pcap_fixtures.py --record'

- ``lab_scan.pcap.gz``: tcpdump on ``lo`` (filter ``net 127.77.0.0/16``) while provscan
  scans every non-hostile device of the bundled lab on its 127.77.x.y addresses (the
  discovery probes included) and then makes one TLS 1.2 handshake with each of the lab's
  TLS services (so that their certificates cross the wire in the clear). Needs tcpdump and
  root (or CAP_NET_RAW/CAP_NET_BIND_SERVICE). Everything stays on loopback. It also writes
  ``lab_scan.expected.json``. Record it again when lab devices are added or move.
- ``crafted_signals.pcapng``: frames built with dpkt for what the lab cannot produce
  (DHCP, DNS, TLS SNI, SADP, DHDiscover, WS-Discovery, SSDP, mDNS, ARP, a TLS 1.2
  server certificate, routed traffic behind a gateway MAC). Addresses are documentation
  and private ranges used as *data* only: nothing is sent anywhere.

Both are deterministic except for the recorded one (times, ports, nonces vary per run).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import gzip
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dpkt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

FIXTURES = ROOT / "tests" / "pcap" / "fixtures"
#: A fixed base time (2026-01-05 09:00:00 UTC) so crafted captures are byte-identical.
BASE_TIME = 1767603600.0


# --- crafting ----------------------------------------------------------------------------


def mac_bytes(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


def ether(src_mac: str, dst_mac: str, ip: dpkt.Packet) -> bytes:
    return bytes(
        dpkt.ethernet.Ethernet(
            src=mac_bytes(src_mac), dst=mac_bytes(dst_mac), type=dpkt.ethernet.ETH_TYPE_IP, data=ip
        )
    )


def udp_frame(
    src_mac: str, dst_mac: str, src: str, dst: str, sport: int, dport: int, payload: bytes
) -> bytes:
    udp = dpkt.udp.UDP(sport=sport, dport=dport, data=payload)
    udp.ulen = 8 + len(payload)
    ip = dpkt.ip.IP(
        src=socket.inet_aton(src), dst=socket.inet_aton(dst), p=dpkt.ip.IP_PROTO_UDP, data=udp
    )
    ip.len = 20 + udp.ulen
    return ether(src_mac, dst_mac, ip)


def tcp_frame(
    src_mac: str,
    dst_mac: str,
    src: str,
    dst: str,
    sport: int,
    dport: int,
    seq: int,
    flags: int,
    payload: bytes = b"",
) -> bytes:
    tcp = dpkt.tcp.TCP(sport=sport, dport=dport, seq=seq, ack=1, flags=flags, data=payload)
    tcp.off = 5
    ip = dpkt.ip.IP(
        src=socket.inet_aton(src), dst=socket.inet_aton(dst), p=dpkt.ip.IP_PROTO_TCP, data=tcp
    )
    ip.len = 20 + 20 + len(payload)
    return ether(src_mac, dst_mac, ip)


def tcp_conversation(
    client: tuple[str, str, int],
    server: tuple[str, str, int],
    request: bytes,
    reply: bytes,
    segment: int = 0,
) -> list[bytes]:
    """Handshake, request, reply (split into ``segment``-byte pieces), FINs."""
    (cmac, cip, cport), (smac, sip, sport) = client, server
    syn, ack, psh, fin = dpkt.tcp.TH_SYN, dpkt.tcp.TH_ACK, dpkt.tcp.TH_PUSH, dpkt.tcp.TH_FIN
    frames = [
        tcp_frame(cmac, smac, cip, sip, cport, sport, 1000, syn),
        tcp_frame(smac, cmac, sip, cip, sport, cport, 5000, syn | ack),
        tcp_frame(cmac, smac, cip, sip, cport, sport, 1001, ack | psh, request),
    ]
    pieces = [reply[i : i + segment] for i in range(0, len(reply), segment)] if segment else [reply]
    seq = 5001
    for piece in pieces:
        frames.append(tcp_frame(smac, cmac, sip, cip, sport, cport, seq, ack | psh, piece))
        seq += len(piece)
    frames.append(tcp_frame(smac, cmac, sip, cip, sport, cport, seq, ack | fin))
    frames.append(tcp_frame(cmac, smac, cip, sip, cport, sport, 1001 + len(request), ack | fin))
    return frames


def dhcp_request(mac: str, hostname: str, vendor_class: str, requested: str) -> bytes:
    options = [
        (dpkt.dhcp.DHCP_OPT_MSGTYPE, bytes([dpkt.dhcp.DHCPREQUEST])),
        (dpkt.dhcp.DHCP_OPT_REQ_IP, socket.inet_aton(requested)),
        (dpkt.dhcp.DHCP_OPT_HOSTNAME, hostname.encode()),
        (dpkt.dhcp.DHCP_OPT_VENDOR_ID, vendor_class.encode()),
        (dpkt.dhcp.DHCP_OPT_PARAM_REQ, bytes([1, 3, 6, 12, 15, 28, 42])),
    ]
    message = dpkt.dhcp.DHCP(chaddr=mac_bytes(mac), xid=0x1234, opts=options)
    return udp_frame(mac, "ff:ff:ff:ff:ff:ff", "0.0.0.0", "255.255.255.255", 68, 67, bytes(message))


def dns_query(mac: str, gateway_mac: str, src: str, resolver: str, name: str) -> bytes:
    query = dpkt.dns.DNS(id=7, qd=[dpkt.dns.DNS.Q(name=name, type=dpkt.dns.DNS_A)])
    return udp_frame(mac, gateway_mac, src, resolver, 40000, 53, bytes(query))


def client_hello(name: str) -> bytes:
    host = name.encode()
    server_name = struct.pack("!HBH", len(host) + 3, 0, len(host)) + host
    extensions = struct.pack("!HH", 0, len(server_name)) + server_name
    body = (
        b"\x03\x03"
        + bytes(32)
        + b"\x00"
        + struct.pack("!H", 2)
        + b"\xc0\x2f"
        + b"\x01\x00"
        + struct.pack("!H", len(extensions))
        + extensions
    )
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack("!H", len(handshake)) + handshake


def server_hello_and_certificate(der: bytes) -> bytes:
    hello_body = b"\x03\x03" + bytes(32) + b"\x00" + b"\xc0\x2f" + b"\x00"
    hello = b"\x02" + len(hello_body).to_bytes(3, "big") + hello_body
    chain = len(der).to_bytes(3, "big") + der
    certificate_body = len(chain).to_bytes(3, "big") + chain
    certificate = b"\x0b" + len(certificate_body).to_bytes(3, "big") + certificate_body
    done = b"\x0e\x00\x00\x00"
    handshake = hello + certificate + done
    return b"\x16\x03\x03" + struct.pack("!H", len(handshake)) + handshake


def hikvision_certificate() -> bytes:
    """A self-signed certificate with Hikvision's default subject (recog x509_subjects.xml)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from cryptography.x509.oid import NameOID

    # Ed25519 signatures are deterministic: the fixture is byte-identical on every run.
    key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "ZheJiang"),
            x509.NameAttribute(NameOID.LOCALITY_NAME, "HangZhou"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "HIKVISION"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "DVRNVR"),
            x509.NameAttribute(NameOID.COMMON_NAME, "www.hikvision.com"),
        ]
    )
    start = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(4242)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=3650))
        .sign(key, None)
    )
    return certificate.public_bytes(serialization.Encoding.DER)


def dhip(payload: bytes) -> bytes:
    from provscan.wire.dahua import build_dhip

    return build_dhip(payload)


GATEWAY_MAC = "00:1b:21:0a:0b:0c"  # an Intel NIC OUI: a plain router
BROADCAST = "ff:ff:ff:ff:ff:ff"
HIK_MAC = "bc:ba:c2:44:55:66"  # Hangzhou Hikvision OUI BCBAC2
HIK_IP = "192.168.1.64"
DAHUA_MAC = "3c:ef:8c:61:01:c0"  # Zhejiang Dahua OUI 3CEF8C
DAHUA_IP = "192.168.1.108"
INTELBRAS_MAC = "b4:4c:3b:10:20:30"  # Dahua OUI B44C3B, Intelbras label
INTELBRAS_IP = "192.168.1.109"
EZVIZ_MAC = "58:8f:cf:01:02:03"  # Hangzhou Ezviz OUI 588FCF
EZVIZ_IP = "192.168.1.70"
AXIS_MAC = "ac:cc:8e:12:34:56"  # Axis OUI ACCC8E
AXIS_IP = "192.168.1.90"
NVR_MAC = "e0:ca:3c:77:88:99"  # Hikvision OUI E0CA3C
NVR_IP = "192.168.1.20"
LAPTOP_MAC = "02:42:ac:11:00:02"  # locally administered
LAPTOP_IP = "192.168.1.50"
RESOLVER = "192.168.1.1"


def crafted_frames() -> list[bytes]:
    sadp = (
        b'<?xml version="1.0" encoding="utf-8"?><ProbeMatch><Uuid>7A1B2C3D-0000-0000-0000-'
        b"BCBAC2445566</Uuid><Types>inquiry</Types><DeviceType>136323</DeviceType>"
        b"<DeviceDescription>DS-2CD2143G0-I</DeviceDescription>"
        b"<DeviceSN>DS-2CD2143G0-I20200114AAWR123456789</DeviceSN><CommandPort>8000"
        b"</CommandPort><HttpPort>80</HttpPort><MAC>bc-ba-c2-44-55-66</MAC>"
        b"<IPv4Address>192.168.1.64</IPv4Address><IPv4SubnetMask>255.255.255.0"
        b"</IPv4SubnetMask><DHCP>true</DHCP><SoftwareVersion>V5.5.800build 210628"
        b"</SoftwareVersion><Activated>true</Activated></ProbeMatch>"
    )
    wsd_hello = (
        b'<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope '
        b'xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" '
        b'xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        b'xmlns:wsdd="http://schemas.xmlsoap.org/ws/2005/04/discovery" '
        b'xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><SOAP-ENV:Header>'
        b"<wsa:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Hello</wsa:Action>"
        b"</SOAP-ENV:Header><SOAP-ENV:Body><wsdd:Hello><wsdd:Types>dn:NetworkVideoTransmitter"
        b"</wsdd:Types><wsdd:Scopes>onvif://www.onvif.org/type/video_encoder "
        b"onvif://www.onvif.org/name/HIKVISION%20DS-2CD2143G0-I "
        b"onvif://www.onvif.org/hardware/DS-2CD2143G0-I "
        b"onvif://www.onvif.org/location/city/hangzhou</wsdd:Scopes>"
        b"<wsdd:XAddrs>http://192.168.1.64/onvif/device_service</wsdd:XAddrs>"
        b"</wsdd:Hello></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    )
    dhdiscover = dhip(
        b'{"method":"client.notifyDevInfo","params":{"deviceInfo":{"DeviceClass":"IPC",'
        b'"DeviceType":"IPC-HDW2431T-AS-S2","SerialNo":"4M0747EPAA1D284","Version":'
        b'"2.800.0000000.29.R.210630","HttpPort":80,"Port":37777,"MachineName":"IPC-HDW2431T",'
        b'"Vendor":"General","Manufacturer":"Dahua","mac":"3c:ef:8c:61:01:c0",'
        b'"IPv4Address":{"IPAddress":"192.168.1.108","SubnetMask":"255.255.255.0"}}}}'
    )
    intelbras = dhip(
        b'{"method":"client.notifyDevInfo","params":{"deviceInfo":{"DeviceClass":"VTO",'
        b'"DeviceType":"SS 3530 MF FACE W","SerialNo":"7B01234PAZ00001","Version":'
        b'"2.000.00IB004.0.R","Manufacturer":"Intelbras","Vendor":"Intelbras",'
        b'"mac":"b4:4c:3b:10:20:30","IPv4Address":{"IPAddress":"192.168.1.109"}}}}'
    )
    ssdp = (
        b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=1800\r\n"
        b"LOCATION: http://192.168.1.90:49152/rootdesc1.xml\r\nNT: upnp:rootdevice\r\n"
        b"NTS: ssdp:alive\r\nSERVER: Linux/4.9.94-axis5, UPnP/1.0, Portable SDK for UPnP "
        b"devices/1.6.22\r\nUSN: uuid:Upnp-BasicDevice-1_0-ACCC8E123456::upnp:rootdevice\r\n\r\n"
    )
    mdns = dpkt.dns.DNS(
        id=0,
        qr=dpkt.dns.DNS_R,
        aa=1,
        an=[
            dpkt.dns.DNS.RR(
                name="_axis-video._tcp.local",
                type=dpkt.dns.DNS_PTR,
                ttl=4500,
                ptrname="AXIS P3225-LV Mk II - ACCC8E123456._axis-video._tcp.local",
            ),
            dpkt.dns.DNS.RR(
                name="axis-accc8e123456.local",
                type=dpkt.dns.DNS_A,
                ttl=120,
                ip=socket.inet_aton(AXIS_IP),
            ),
        ],
    )
    http_request = (
        b"GET /ISAPI/System/deviceInfo HTTP/1.1\r\nHost: 192.168.1.20\r\n"
        b"User-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n\r\n"
    )
    http_reply = (
        b"HTTP/1.1 401 Unauthorized\r\nDate: Mon, 05 Jan 2026 09:00:10 GMT\r\nServer: "
        b'DNVRS-Webs\r\nWWW-Authenticate: Digest qop="auth", realm="IP Camera(C2183)", '
        b'nonce="4e5468694e7a42694e7a4d364f4449354d7a6b354d513d3d", stale="FALSE"\r\n'
        b"Content-Length: 0\r\nConnection: close\r\n\r\n"
    )
    frames: list[bytes] = [
        # ARP from the gateway: it owns 192.168.1.1.
        bytes(
            dpkt.ethernet.Ethernet(
                src=mac_bytes(GATEWAY_MAC),
                dst=mac_bytes(BROADCAST),
                type=dpkt.ethernet.ETH_TYPE_ARP,
                data=dpkt.arp.ARP(
                    sha=mac_bytes(GATEWAY_MAC),
                    spa=socket.inet_aton(RESOLVER),
                    tha=bytes(6),
                    tpa=socket.inet_aton(HIK_IP),
                ),
            )
        ),
        dhcp_request(HIK_MAC, "IPCamera", "udhcp 1.19.4", HIK_IP),
        udp_frame(HIK_MAC, BROADCAST, HIK_IP, "239.255.255.250", 37020, 37020, sadp),
        udp_frame(HIK_MAC, BROADCAST, HIK_IP, "239.255.255.250", 3702, 3702, wsd_hello),
        dns_query(HIK_MAC, GATEWAY_MAC, HIK_IP, RESOLVER, "litedev.hik-connect.com"),
        *tcp_conversation(
            (HIK_MAC, HIK_IP, 51000),
            (GATEWAY_MAC, "203.0.113.10", 443),
            client_hello("litedev.hik-connect.com"),
            b"",
        ),
        dhcp_request(DAHUA_MAC, "DahuaIPC", "udhcp 1.24.2", DAHUA_IP),
        udp_frame(DAHUA_MAC, BROADCAST, DAHUA_IP, "239.255.255.251", 37810, 37810, dhdiscover),
        dns_query(DAHUA_MAC, GATEWAY_MAC, DAHUA_IP, RESOLVER, "www.easy4ipcloud.com"),
        udp_frame(
            INTELBRAS_MAC, BROADCAST, INTELBRAS_IP, "239.255.255.251", 37810, 37810, intelbras
        ),
        dns_query(EZVIZ_MAC, GATEWAY_MAC, EZVIZ_IP, RESOLVER, "litedev.ezvizlife.com"),
        *tcp_conversation(
            (EZVIZ_MAC, EZVIZ_IP, 52000),
            (GATEWAY_MAC, "203.0.113.20", 443),
            client_hello("dev.ezvizlife.com"),
            b"",
        ),
        dhcp_request(
            AXIS_MAC, "axis-accc8e123456", "AXIS,Network Camera,P3225-LV Mk II,9.70.1.5", AXIS_IP
        ),
        udp_frame(AXIS_MAC, BROADCAST, AXIS_IP, "239.255.255.250", 1900, 1900, ssdp),
        udp_frame(AXIS_MAC, BROADCAST, AXIS_IP, "224.0.0.251", 5353, 5353, bytes(mdns)),
        # An NVR: a TLS 1.2 handshake with Hikvision's default certificate, and an HTTP 401
        # whose reply is split over three segments.
        *tcp_conversation(
            (LAPTOP_MAC, LAPTOP_IP, 53000),
            (NVR_MAC, NVR_IP, 443),
            client_hello("192.168.1.20"),
            server_hello_and_certificate(hikvision_certificate()),
            segment=400,
        ),
        *tcp_conversation(
            (LAPTOP_MAC, LAPTOP_IP, 53001),
            (NVR_MAC, NVR_IP, 80),
            http_request,
            http_reply,
            segment=120,
        ),
        dns_query(LAPTOP_MAC, GATEWAY_MAC, LAPTOP_IP, RESOLVER, "www.example.com"),
    ]
    # Replies from the internet arrive through the gateway: many addresses, one MAC.
    for index, address in enumerate(("203.0.113.10", "203.0.113.20", "198.51.100.7")):
        frames.append(
            udp_frame(GATEWAY_MAC, LAPTOP_MAC, address, LAPTOP_IP, 443, 40100 + index, b"\x00" * 8)
        )
    frames.append(udp_frame(GATEWAY_MAC, LAPTOP_MAC, RESOLVER, LAPTOP_IP, 53, 40000, b""))
    return frames


def write_pcapng(path: Path, frames: list[bytes]) -> None:
    with path.open("wb") as handle:
        writer = dpkt.pcapng.Writer(handle, snaplen=65535, linktype=dpkt.pcap.DLT_EN10MB)
        for index, frame in enumerate(frames):
            writer.writepkt(frame, ts=BASE_TIME + index * 0.25)


# --- recording the lab -------------------------------------------------------------------


@contextlib.contextmanager
def tcpdump(path: Path, capture_filter: str) -> Iterator[None]:
    """Record ``lo`` into ``path`` while the block runs (loopback only, by construction)."""
    binary = shutil.which("tcpdump")
    if binary is None:
        raise SystemExit("tcpdump is not installed (apt-get install tcpdump)")
    process = subprocess.Popen(
        # --immediate-mode: each packet is handed over as it comes (without it libpcap holds
        # packets in a kernel block for up to a second, and the last ones, the TLS 1.2
        # handshakes, could still be there when tcpdump is stopped); -B: a 64 MiB buffer,
        # so that the scan's bursts are not dropped meanwhile (a recording with drops is refused).
        [
            *(binary, "-i", "lo", "--immediate-mode", "-B", "65536", "-U", "-s", "0", "-n"),
            *("-w", str(path), capture_filter),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    line = process.stderr.readline().decode(errors="replace")
    if "listening on" not in line:
        process.kill()
        raise RuntimeError(f"tcpdump did not start: {line.strip()}")
    try:
        yield
    finally:
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=10)
        report = errors.decode(errors="replace").splitlines()
        for line in report:
            print(f"tcpdump: {line}")
        dropped = [line for line in report if "dropped" in line and not line.startswith("0 ")]
        if dropped:
            raise SystemExit(f"tcpdump dropped packets ({'; '.join(dropped)}): record again")


def tls12_handshakes(endpoints: list[tuple[str, int]]) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    for address, port in endpoints:
        try:
            with (
                socket.create_connection((address, port), 3) as raw,
                context.wrap_socket(raw) as wrapped,
            ):
                wrapped.getpeercert(binary_form=True)
        except OSError as exc:
            print(f"TLS 1.2 handshake with {address}:{port} failed: {exc}")


def record_lab(path: Path, device_ids: list[str] | None = None) -> None:
    """Scan the lab (all non-hostile devices, or those named) while tcpdump records."""
    from provscan.lab.server import run_lab_in_thread
    from provscan.pipeline import run_scan
    from provscan.targets import build_targets
    from provscan.transport.limits import DEFAULT_PORTS, ScanLimits

    limits = dataclasses.replace(
        ScanLimits(),
        connect_timeout_s=1.0,
        read_timeout_s=1.0,
        per_connection_deadline_s=2.5,
        per_host_deadline_s=15.0,
    )
    with run_lab_in_thread() as lab:
        devices = [
            d
            for d in lab.devices
            if not d.expect.hostile and (device_ids is None or d.id in device_ids)
        ]
        addresses = sorted({d.address for d in devices})
        ports = sorted(set(DEFAULT_PORTS) | {s.port for d in devices for s in d.services})
        tls_endpoints = [(d.address, s.port) for d in devices for s in d.services if s.tls]
        with tcpdump(path, "net 127.77.0.0/16"):
            result = asyncio.run(
                run_scan(build_targets(addresses), addresses, ports, limits=limits)
            )
            tls12_handshakes(tls_endpoints)
    write_expectations(FIXTURES / "lab_scan.expected.json", devices, result)


def write_expectations(path: Path, devices: list[Any], result: Any) -> None:
    """What the active scan concluded during the recording: the passive analysis of the
    same traffic must conclude the same (frozen with the recording)."""
    import json

    by_address = {device.ip: device for device in result.devices}
    expected = {}
    for spec in devices:
        found = by_address.get(spec.address)
        if found is None or found.manufacturer is None:
            continue  # the TCP scan itself did not identify it (UDP-discovery-only devices)
        expected[spec.address] = {
            "id": spec.id,
            "manufacturer": found.manufacturer,
            "brand": found.brand or found.manufacturer,
            "restricted": found.restricted,
            "model": found.model,
        }
    path.write_text(json.dumps(expected, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--record", action="store_true", help="also record the lab (tcpdump)")
    args = parser.parse_args(argv)
    FIXTURES.mkdir(parents=True, exist_ok=True)
    crafted = FIXTURES / "crafted_signals.pcapng"
    write_pcapng(crafted, crafted_frames())
    print(f"wrote {crafted} ({crafted.stat().st_size} bytes)")
    if args.record:
        with tempfile.TemporaryDirectory() as directory:
            raw = Path(directory) / "lab.pcap"
            record_lab(raw)
            target = FIXTURES / "lab_scan.pcap.gz"
            with raw.open("rb") as source, gzip.GzipFile(target, "wb", mtime=0) as sink:
                shutil.copyfileobj(source, sink)
            print(f"wrote {target} ({target.stat().st_size} bytes, {raw.stat().st_size} raw)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

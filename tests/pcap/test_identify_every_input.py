"""Every input leaves through the same identification stage (issue 10.1): what an active scan
reports about a device's posture, discovery and passive analysis report too when they saw the
same model and firmware."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pcap_builders import ACK, ETH_CLIENT, ETH_SERVER, FIN, PSH, SYN, pcap_bytes, tcp

from provscan.commands.discover import build_result
from provscan.discovery.interface import DiscoveredHost, DiscoveryResult
from provscan.model import Observation
from provscan.pipeline import run_passive

CAMERA, STATION = "10.20.0.64", "10.20.0.5"
#: A Hikvision camera on the last build of the CVE-2017-7921 range (V5.2.0 b140721 to V5.4.0
#: b160530, knowledge/data/vulnerabilities.yaml), as its ISAPI deviceInfo reports it.
DEVICE_INFO = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<DeviceInfo version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">\n'
    b"<deviceName>IP CAMERA</deviceName>\n<model>DS-2CD2132F-IS</model>\n"
    b"<serialNumber>DS-2CD2132F-IS20160612AAWR512345678</serialNumber>\n"
    b"<macAddress>44:19:b6:12:00:10</macAddress>\n"
    b"<firmwareVersion>V5.4.0</firmwareVersion>\n<firmwareReleasedDate>build 160530"
    b"</firmwareReleasedDate>\n<deviceType>IPCamera</deviceType>\n</DeviceInfo>\n"
)


def isapi_capture(path: Path, firmware: bytes) -> Path:
    body = DEVICE_INFO.replace(b"<firmwareVersion>V5.4.0</firmwareVersion>", firmware)
    request = b"GET /ISAPI/System/deviceInfo HTTP/1.1\r\nHost: " + CAMERA.encode() + b"\r\n\r\n"
    reply = (
        b"HTTP/1.1 200 OK\r\nServer: App-webs/\r\nContent-Type: application/xml\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    server = {"src_mac": ETH_SERVER, "dst_mac": ETH_CLIENT}
    frames = [
        tcp(STATION, CAMERA, 41000, 80, 100, SYN),
        tcp(CAMERA, STATION, 80, 41000, 900, SYN | ACK, **server),
        tcp(STATION, CAMERA, 41000, 80, 101, ACK | PSH, request),
        tcp(CAMERA, STATION, 80, 41000, 901, ACK | PSH, reply, **server),
        tcp(CAMERA, STATION, 80, 41000, 901 + len(reply), ACK | FIN, **server),
        tcp(STATION, CAMERA, 41000, 80, 101 + len(request), ACK | FIN),
    ]
    path.write_bytes(pcap_bytes(frames))
    return path


def test_pcap_reports_vulnerabilities_and_remediation(tmp_path: Path) -> None:
    capture = isapi_capture(
        tmp_path / "isapi.pcap", b"<firmwareVersion>V5.4.0 build 160530</firmwareVersion>"
    )
    result = run_passive([str(capture)])
    camera = next(d for d in result.devices if d.ip == CAMERA)
    assert camera.manufacturer == "Hikvision" and camera.model == "DS-2CD2132F-IS"
    statuses = {v.cve: v.status for v in camera.vulnerabilities}
    assert statuses["CVE-2017-7921"] == "vulnerable"
    actions = [r.action for r in camera.remediation]
    assert "patch" in actions and "replace" in actions


def test_pcap_without_firmware_leaves_the_cve_undetermined(tmp_path: Path) -> None:
    capture = isapi_capture(tmp_path / "nofw.pcap", b"")
    camera = next(d for d in run_passive([str(capture)]).devices if d.ip == CAMERA)
    assert {v.cve: v.status for v in camera.vulnerabilities}["CVE-2017-7921"] == "undetermined"


def test_discover_reports_vulnerabilities_and_remediation() -> None:
    # Given what Hikvision's SADP announces (model and firmware, see observations/sadp.py)
    host = DiscoveredHost(
        address="127.0.0.1",
        mac="44:19:b6:12:00:10",
        mac_source="sadp",
        serial=None,
        protocols=("sadp",),
        observations=(
            Observation("sadp", 37020, "sadp.description", "DS-2CD2132F-IS"),
            Observation("sadp", 37020, "sadp.firmware", "V5.4.0 build 160530"),
        ),
    )
    # When discover builds its result
    result = build_result(
        DiscoveryResult(hosts=(host,)), started=datetime.now(UTC), target_specs=["127.0.0.1"]
    )
    # Then the device carries the same posture an active scan would give it
    (device,) = result.devices
    assert device.manufacturer == "Hikvision"
    assert {v.cve: v.status for v in device.vulnerabilities}.get("CVE-2017-7921") == "vulnerable"
    assert any(r.action == "patch" for r in device.remediation)

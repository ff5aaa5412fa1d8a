"""Each exposure says, as a fact of its own, the device port it is on and (for a UPnP
mapping) the gateway it was read from (contract 1.7): the remediation cases read these, not
the exposure's words. Real posture knowledge, observations as the probes record them."""

from __future__ import annotations

from datetime import UTC, datetime

from provscan.knowledge.loader import load_posture_knowledge
from provscan.model import (
    AttemptStatus,
    Device,
    Observation,
    PhoneHome,
    ProbeAttempt,
    ScanInfo,
    ScanResult,
)
from provscan.posture.assess import assess_device, assess_scan, mapping_internal_port

KNOWLEDGE = load_posture_knowledge()


def _attempt(probe: str, port: int, *observations: Observation) -> ProbeAttempt:
    return ProbeAttempt(probe, port, AttemptStatus.OK, tuple(observations))


def _info() -> ScanInfo:
    return ScanInfo(
        "s", "active", datetime(2026, 1, 1, tzinfo=UTC), None, ("x",), (80,), ("us",), "0"
    )


def test_every_exposure_seen_on_a_port_carries_that_port() -> None:
    # Given a camera with telnet on 2323, a login page on 8080, RTSP open on 8554, a factory
    # account accepted on 81 and P2P enabled (read on 443), reached at a public address
    device = Device(
        ip="8.8.4.4",
        open_ports=(81, 443, 2323, 8080, 8554),
        manufacturer="Dahua",
        attempts=(
            _attempt("banner", 2323, Observation("banner", 2323, "banner.text", "login:")),
            _attempt(
                "http",
                8080,
                Observation("http", 8080, "http.body", '<input type="password">', "/"),
            ),
            _attempt(
                "rtsp",
                8554,
                Observation("rtsp", 8554, "rtsp.status_line", "RTSP/1.0 200 OK", "DESCRIBE"),
            ),
            _attempt(
                "default-credentials",
                81,
                Observation("http", 81, "default_credentials.accepted", "admin", "/cgi-bin"),
            ),
            _attempt(
                "credentialed-dahua-tls",
                443,
                Observation("https", 443, "dahua.cgi.p2p_enabled", "true", "configManager"),
            ),
        ),
        phones_home=(
            PhoneHome("Dahua P2P", "www.easy4ipcloud.com", 7, datetime(2026, 1, 1, tzinfo=UTC)),
        ),
    )
    # When posture assesses it
    exposures = assess_device(device, KNOWLEDGE).exposure
    # Then each exposure seen on a port says which, and none was seen elsewhere
    found = sorted(((e.kind, e.port) for e in exposures), key=lambda k: (k[0], k[1] or 0))
    assert found == [
        ("cloud_p2p", None),
        ("cloud_p2p", 443),
        ("default_credentials", 81),
        ("plain_http_login", 8080),
        ("public_address", None),
        ("rtsp_unauthenticated", 8554),
        ("telnet", 2323),
    ]
    assert all(e.source is None for e in exposures)


def test_a_upnp_mapping_says_the_gateway_it_was_read_from_and_the_port_it_forwards_to() -> None:
    # Given two gateways, one mapping a port to the camera's RTSP, one to its web UI
    gateways = (
        Device(
            ip="192.168.1.1",
            notes=("UPnP IGD port mapping exposes TCP *:8554 -> 192.168.1.64:554 (rtsp)",),
        ),
        Device(
            ip="192.168.2.1",
            attempts=(
                _attempt(
                    "ssdp",
                    1900,
                    Observation("upnp", 1900, "upnp.port_mapping", "TCP *:80 -> 192.168.1.64:?"),
                ),
            ),
        ),
    )
    camera = Device(ip="192.168.1.64", open_ports=(80, 554), manufacturer="Dahua")
    # When the scan is assessed
    result = assess_scan(ScanResult(_info(), (*gateways, camera)), KNOWLEDGE)
    exposed = next(d for d in result.devices if d.ip == camera.ip)
    # Then each mapping names its gateway; the port is the camera's, when the gateway said it
    assert sorted((e.kind, e.source, e.port or 0) for e in exposed.exposure) == [
        ("internet_upnp_mapping", "192.168.1.1", 554),
        ("internet_upnp_mapping", "192.168.2.1", 0),
    ]


def test_the_internal_port_of_a_mapping_summary() -> None:
    assert mapping_internal_port("TCP *:8080 -> 192.168.0.64:80 (camera web)") == 80
    assert mapping_internal_port("UDP 1.2.3.4:3478 -> [fd00::64]:3478") == 3478
    assert mapping_internal_port("TCP *:8080 -> 192.168.0.64:? (unknown)") is None
    assert mapping_internal_port("TCP *:8080 -> 192.168.0.64:70000") is None
    assert mapping_internal_port("TCP *:8080 -> 192.168.0.64:0") is None

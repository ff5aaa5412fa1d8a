"""The device lab over real loopback sockets: routes byte-exact, TLS, ONVIF, hostile modes."""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import json
import logging
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import defusedxml.ElementTree as SafeET
import pytest
import yaml
from cryptography import x509
from defusedxml import DefusedXmlException

from provscan.errors import LabError
from provscan.knowledge.loader import load_knowledge
from provscan.lab.responders import hostile as hostile_responder
from provscan.lab.server import (
    Lab,
    bundled_personality_paths,
    generate_bench_lab,
    lab_down,
    lab_status,
    lab_up,
    load_devices,
    load_personality_file,
    run_lab_in_thread,
    validate_devices,
)
from provscan.lab.spec import DeviceSpec
from provscan.policy.evaluate import default_parties, measure_binds

VENDORS = Path(__file__).parents[2] / "src/provscan/knowledge/data/vendors.yaml"
NS = {
    "env": "http://www.w3.org/2003/05/soap-envelope",
    "tds": "http://www.onvif.org/ver10/device/wsdl",
    "tt": "http://www.onvif.org/ver10/schema",
}
# Tests here run their own labs on 127.78.x.y so they never collide with the session-wide
# lab (tests/conftest.py) that serves the bundled personalities on 127.77.x.y.
TEST_PREFIX = "127.78."


def relocated(devices: list[DeviceSpec], prefix: str = TEST_PREFIX) -> list[DeviceSpec]:
    moved = []
    for device in devices:
        _, _, c, d = device.address.split(".")
        moved.append(device.model_copy(update={"address": f"{prefix}{c}.{d}"}))
    return moved


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with run_lab_in_thread(relocated(load_devices(None))) as running:
        yield running


def address_of(lab: Lab, device_id: str) -> str:
    return lab.device(device_id).address


def exchange(address: str, port: int, request: bytes, *, limit: int = 1 << 20) -> bytes:
    """Send ``request``, read until the server closes (or ``limit`` bytes)."""
    with socket.create_connection((address, port), timeout=2) as sock:
        sock.sendall(request)
        data = b""
        while len(data) < limit:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        return data


def tls_client() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def split_response(raw: bytes) -> tuple[list[bytes], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return head.split(b"\r\n"), body


def soap(action: str) -> bytes:
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{NS["env"]}"><s:Body>'
        f'<tds:{action} xmlns:tds="{NS["tds"]}"/></s:Body></s:Envelope>'
    ).encode()
    return (
        b"POST /onvif/device_service HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/soap+xml; charset=utf-8\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


# --- personality files -----------------------------------------------------------------


def test_personality_files_validate_with_unique_loopback_addresses() -> None:
    devices = [
        device
        for path in bundled_personality_paths()
        for device in load_personality_file(path).devices
    ]
    validate_devices(devices)  # ids, endpoints, protocols and responder options
    addresses = [device.address for device in devices]
    assert len(addresses) == len(set(addresses))
    assert len(devices) >= 40
    lab_network = ipaddress.ip_network("127.77.0.0/16")
    assert all(ipaddress.ip_address(address) in lab_network for address in addresses)


# The families a restricting measure names for a national government body: the default
# reading a lab expectation is written for (decision 0015).
_POLICIES = tuple(load_knowledge().policies.values())
RESTRICTED_FAMILIES = {
    family
    for policy in _POLICIES
    for measure in policy.measures
    if measure.restricts and measure_binds(measure, default_parties(_POLICIES))
    for family in measure.families
}


def test_personality_names_come_from_the_controlled_vocabulary() -> None:
    vendors = yaml.safe_load(VENDORS.read_text(encoding="utf-8"))["vendors"]
    names = {vendor["name"] for vendor in vendors}
    families = {vendor["name"]: vendor.get("family") for vendor in vendors}
    for device in load_devices(None):
        for name in (device.expect.manufacturer, device.expect.brand):
            assert name is None or name in names, (device.id, name)
        if device.expect.hostile:
            continue
        # Restricted means made by a family that a restricting measure names, whatever the
        # label says (Hikvision, Dahua, Huawei, ZTE, Hytera).
        assert device.expect.restricted is not None, device.id
        maker_family = families.get(device.expect.manufacturer or "")
        assert device.expect.restricted == (maker_family in RESTRICTED_FAMILIES), device.id


def test_every_hostile_mode_has_a_device() -> None:
    modes = {
        service.options["mode"]
        for device in load_devices(["hostile"])
        for service in device.services
    }
    assert modes == set(hostile_responder.MODES)


def test_bench_lab_clones_onto_sequential_addresses() -> None:
    devices = generate_bench_lab(120)
    validate_devices(devices)
    addresses = [ipaddress.ip_address(device.address) for device in devices]
    assert addresses[0] == ipaddress.ip_address("127.88.0.1")
    assert addresses == [addresses[0] + offset for offset in range(120)]
    assert not any(device.expect.hostile for device in devices)


# --- HTTP ------------------------------------------------------------------------------


def test_dahua_root_page_is_byte_exact_with_upper_case_headers(lab: Lab) -> None:
    raw = exchange(address_of(lab, "dahua-ipc"), 80, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    lines, body = split_response(raw)
    assert lines == [
        b"HTTP/1.1 200 OK",
        b"CONNECTION: close",
        f"CONTENT-LENGTH: {len(body)}".encode(),
        b"CACHE-CONTROL: max-age=0",
        b"CONTENT-TYPE: text/html",
        b"P3P: CP=CAO PSA OUR",
        b'Etag: "1591061592:5ed64b78"',
    ]
    assert body.startswith(b"\xef\xbb\xbf<!DOCTYPE html PUBLIC")
    assert b"<title>WEB SERVICE</title>" in body


def test_hikvision_isapi_answers_digest_challenge_without_server_header(lab: Lab) -> None:
    raw = exchange(
        address_of(lab, "hik-ipc-g2"), 80, b"GET /ISAPI/System/deviceInfo HTTP/1.1\r\n\r\n"
    )
    lines, body = split_response(raw)
    assert lines[0] == b"HTTP/1.1 401 Unauthorized"
    assert not any(line.lower().startswith(b"server:") for line in lines)
    challenge = next(line for line in lines if line.startswith(b"WWW-Authenticate: "))
    assert b'Digest qop="auth", realm="IP Camera(C1234)", nonce="' in challenge
    assert b"<statusValue>401</statusValue>" in body


def test_dahua_rpc2_login_challenge_leaks_realm_and_mac(lab: Lab) -> None:
    device = lab.device("amcrest-ipc")
    payload = b'{"method":"global.login","params":{"userName":"admin","password":""},"id":1}'
    request = (
        b"POST /RPC2_Login HTTP/1.1\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(payload)}\r\n\r\n".encode()
        + payload
    )
    _, body = split_response(exchange(device.address, 80, request))
    reply = json.loads(body)
    assert reply["error"] == {"code": 268632079, "message": "Component error: login challenge!"}
    assert reply["params"]["realm"] == "Login to AMC000N49SSV0M2U46"
    assert reply["params"]["mac"] == "3CEF8C6101C0"
    assert reply["params"]["encryption"] == "Default"
    assert reply["result"] is False


def test_unknown_path_gets_default_route_and_head_gets_no_body(lab: Lab) -> None:
    address = address_of(lab, "neg-nginx")
    lines, body = split_response(exchange(address, 80, b"GET /nope HTTP/1.1\r\n\r\n"))
    assert lines[0] == b"HTTP/1.1 404 Not Found"
    assert b"nginx/1.24.0" in body
    lines, body = split_response(exchange(address, 80, b"HEAD / HTTP/1.1\r\n\r\n"))
    assert lines[0] == b"HTTP/1.1 200 OK"
    assert body == b""


def test_mobotix_redirect_uses_http_1_0(lab: Lab) -> None:
    lines, _ = split_response(
        exchange(address_of(lab, "mobotix-m16"), 80, b"GET / HTTP/1.1\r\n\r\n")
    )
    assert lines[0] == b"HTTP/1.0 302 Found"
    assert b"Location: /control/userimage.html" in lines


def test_connections_are_recorded_with_their_first_line(lab: Lab) -> None:
    address = address_of(lab, "axis-p3225")
    exchange(address, 80, b"GET /axis-cgi/param.cgi HTTP/1.1\r\n\r\n")
    records = [record for record in lab.record if record.address == address]
    assert records[-1].device_id == "axis-p3225"
    assert records[-1].port == 80
    assert records[-1].first_line == "GET /axis-cgi/param.cgi HTTP/1.1"


def test_banner_is_sent_on_connect(lab: Lab) -> None:
    with socket.create_connection((address_of(lab, "neg-mikrotik"), 21), timeout=2) as sock:
        assert sock.recv(1024) == b"220 MikroTik FTP server (MikroTik 6.49.7) ready\r\n"


# --- TLS -------------------------------------------------------------------------------


def served_certificate(address: str, port: int) -> x509.Certificate:
    with (
        socket.create_connection((address, port), timeout=2) as raw,
        tls_client().wrap_socket(raw) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def test_tls_serves_the_documented_hikvision_subject(lab: Lab) -> None:
    certificate = served_certificate(address_of(lab, "hik-ipc-g2"), 443)
    expected = "CN=www.hikvision.com,OU=DVRNVR,O=HIKVISION,L=HangZhou,ST=ZheJiang,C=CN"
    assert certificate.subject.rfc4514_string() == expected
    assert certificate.issuer == certificate.subject  # self-signed


def test_tls_issuer_given_means_issued_by_a_ca(lab: Lab) -> None:
    certificate = served_certificate(address_of(lab, "bosch-flexidome"), 443)
    assert certificate.subject.rfc4514_string() == (
        "CN=00075faabbcc.myboschcam.net,O=Bosch Sicherheitssysteme GmbH"
    )
    assert certificate.issuer.rfc4514_string().endswith(
        "OU=ST-VS,O=Bosch Sicherheitssysteme GmbH,L=Grasbrunn,C=DE"
    )


def test_http_over_tls_answers_routes(lab: Lab) -> None:
    with (
        socket.create_connection((address_of(lab, "hik-ipc-g2"), 443), timeout=2) as raw,
        tls_client().wrap_socket(raw) as tls,
    ):
        tls.sendall(b"GET /doc/page/login.asp HTTP/1.1\r\n\r\n")
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")


# --- ONVIF -----------------------------------------------------------------------------


def onvif_call(address: str, action: str) -> tuple[bytes, SafeET.Element]:
    lines, body = split_response(exchange(address, 80, soap(action)))
    return lines[0], SafeET.fromstring(body)


def test_onvif_system_date_and_time_always_answers(lab: Lab) -> None:
    status, root = onvif_call(address_of(lab, "hik-ipc-g2"), "GetSystemDateAndTime")
    assert status == b"HTTP/1.1 200 OK"
    year = root.find(".//tt:UTCDateTime/tt:Date/tt:Year", NS)
    assert year is not None and int(year.text or 0) >= 2024


def test_onvif_device_information_when_open(lab: Lab) -> None:
    status, root = onvif_call(address_of(lab, "intelbras-ipc"), "GetDeviceInformation")
    assert status == b"HTTP/1.1 200 OK"
    info = root.find(".//tds:GetDeviceInformationResponse", NS)
    assert info is not None
    fields = {child.tag.split("}")[1]: child.text for child in info}
    assert fields == {
        "Manufacturer": "Intelbras",
        "Model": "VIP 1230 B G4",
        "FirmwareVersion": "2.800.00IB01A.0.R",
        "SerialNumber": "7J04B35PAG1D2E3",
        "HardwareId": "VIP 1230 B G4",
    }


def test_onvif_device_information_refused_is_a_soap_fault(lab: Lab) -> None:
    status, root = onvif_call(address_of(lab, "dahua-ipc"), "GetDeviceInformation")
    assert status == b"HTTP/1.1 401 Unauthorized"
    subcode = root.find(".//env:Fault/env:Code/env:Subcode/env:Value", NS)
    assert subcode is not None and subcode.text == "ter:NotAuthorized"


# --- hostile devices -------------------------------------------------------------------


def test_stream_forever_sends_more_than_a_megabyte(lab: Lab) -> None:
    data = exchange(
        address_of(lab, "hostile-stream-forever"), 80, b"GET / HTTP/1.1\r\n\r\n", limit=1_200_000
    )
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")
    assert len(data) > 1_000_000


def test_never_answer_sends_nothing(lab: Lab) -> None:
    with socket.create_connection((address_of(lab, "hostile-never-answer"), 80), timeout=2) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
        sock.settimeout(1.0)
        with pytest.raises(TimeoutError):
            sock.recv(1)


def test_tls_stall_never_completes_a_handshake(lab: Lab) -> None:
    with socket.create_connection((address_of(lab, "hostile-tls-stall"), 443), timeout=2) as raw:
        raw.settimeout(1.0)
        with pytest.raises(TimeoutError), tls_client().wrap_socket(raw):
            pass


def test_slow_drip_sends_about_a_byte_a_second(lab: Lab) -> None:
    with socket.create_connection((address_of(lab, "hostile-slow-drip"), 80), timeout=2) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
        sock.settimeout(0.5)
        received = b""
        deadline = time.monotonic() + 1.2
        while time.monotonic() < deadline:
            try:
                received += sock.recv(1024)
            except TimeoutError:
                continue
    assert 1 <= len(received) <= 3
    assert b"HTTP/1.1".startswith(received)


def test_malformed_http_and_xml_bomb(lab: Lab) -> None:
    garbage = exchange(address_of(lab, "hostile-malformed-http"), 80, b"GET / HTTP/1.1\r\n\r\n")
    assert b"\x00" in garbage and b"Content-Length: -1" in garbage
    _, bomb = split_response(
        exchange(address_of(lab, "hostile-xml-bomb"), 80, soap("GetDeviceInformation"))
    )
    assert b"<!ENTITY lol9" in bomb
    with pytest.raises(DefusedXmlException):
        SafeET.fromstring(bomb)


def test_reset_closes_at_once(lab: Lab) -> None:
    try:
        with socket.create_connection((address_of(lab, "hostile-reset"), 80), timeout=2) as sock:
            assert sock.recv(1024) == b""
    except ConnectionResetError:
        pass  # the RST may already be there when connect() returns


# --- engine ----------------------------------------------------------------------------


def test_responder_failure_is_logged_and_the_lab_keeps_serving(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*_: object) -> None:
        raise RuntimeError("responder bug")

    monkeypatch.setattr("provscan.lab.server.get_responder", lambda protocol: broken)
    with caplog.at_level(logging.ERROR, logger="provscan.lab"):
        # Closed with the request unread: a reset is as good as an empty reply.
        with contextlib.suppress(ConnectionResetError):
            assert exchange(address_of(lab, "neg-apache"), 80, b"GET / HTTP/1.1\r\n\r\n") == b""
        deadline = time.monotonic() + 1
        while "responder bug" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.01)
    assert "responder bug" in caplog.text
    monkeypatch.undo()
    assert exchange(address_of(lab, "neg-apache"), 80, b"GET / HTTP/1.1\r\n\r\n").startswith(
        b"HTTP/1.1 200 OK"
    )


def small_lab_devices(prefix: str) -> list[DeviceSpec]:
    return relocated(load_devices(["negatives"]), prefix)


def test_stop_leaves_no_listening_sockets() -> None:
    devices = small_lab_devices("127.79.")
    with run_lab_in_thread(devices) as running:
        endpoints = running.endpoints()
        # An open client connection must not keep anything alive either.
        held = socket.create_connection((endpoints[0].address, endpoints[0].port), timeout=2)
    try:
        for endpoint in endpoints:
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection((endpoint.address, endpoint.port), timeout=1).close()
    finally:
        held.close()


def test_binding_a_used_endpoint_raises_lab_error_naming_it() -> None:
    devices = small_lab_devices("127.79.")[:1]
    with (
        run_lab_in_thread(devices),
        pytest.raises(LabError, match=r"127\.79\.6\.10:80"),
        run_lab_in_thread(devices),
    ):
        pass


def test_unknown_protocol_is_rejected_before_listening() -> None:
    device = small_lab_devices("127.79.")[0]
    broken = device.model_copy(
        update={"services": [device.services[0].model_copy(update={"protocol": "gopher"})]}
    )
    with pytest.raises(LabError, match="gopher"):
        Lab([broken])


def test_lab_up_status_down(tmp_path: Path) -> None:
    personality = tmp_path / "one.yaml"
    device = small_lab_devices("127.80.")[0].model_dump(mode="json")
    personality.write_text(yaml.safe_dump({"family": "test", "devices": [device]}))
    pid = lab_up(tmp_path / "state", [personality])
    try:
        status = lab_status(tmp_path / "state")
        assert status.running and status.pid == pid
        assert {(e.address, e.port) for e in status.endpoints} == {
            ("127.80.6.10", 80),
            ("127.80.6.10", 21),
        }
        assert exchange("127.80.6.10", 80, b"GET / HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 200")
        assert lab_up(tmp_path / "state", [personality]) == pid  # idempotent
    finally:
        assert lab_down(tmp_path / "state")
    assert not lab_status(tmp_path / "state").running
    with pytest.raises(OSError) as refused:
        socket.create_connection(("127.80.6.10", 80), timeout=1).close()
    assert refused.value.errno == errno.ECONNREFUSED

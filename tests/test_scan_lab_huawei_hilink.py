"""Huawei HiLink's basic_information over real sockets (issue 11, decision 0026).

- A Huawei 5G CPE Pro 2 (H122-373) whose reply names its class, its model and, in
  spreadname_en, its maker is Huawei and restricted, with the model.
- The same device on firmware that wants its web UI's session cookie first answers the same
  request with HiLink's <error><code>125002</code>: the code is kept as supporting evidence, so
  Huawei is named as a possibility (review) and not established.
- A MultiTech mPower cellular router whose REST API also lives under /api/ answers the request
  with a JSON 401: nothing HiLink is read, and it is not Huawei.

The personalities (telecom.yaml huawei-hilink-h122, negatives.yaml neg-mpower-api; the
session-cookie variant is the H122 with its reply replaced) are served on their own
127.N.133.x and 127.N.126.x, apart from the session lab.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from helpers import scan_addresses

from provscan.lab.server import Lab, load_devices, run_lab_in_thread
from provscan.lab.spec import DeviceSpec
from provscan.model import Device, ScanResult
from provscan.report.contract import verdict_of

OCTET = 80 + os.getpid() % 40
HILINK_REQUEST = "GET /api/device/basic_information HTTP/1.1"
#: HiLink's refusal on firmware that wants its session cookie (Salamek/huawei-lte-api Session.py
#: reads <error><code>, <message>; 125002 is its ERROR_SYSTEM_CSRF "Session error").
SESSION_ERROR = (
    '<?xml version="1.0" encoding="UTF-8"?>\r\n<error>\r\n<code>125002</code>\r\n'
    "<message></message>\r\n</error>\r\n"
)


def _moved(device: DeviceSpec, fourth: int | None = None) -> DeviceSpec:
    _, _, third, last = device.address.split(".")
    address = f"127.{OCTET}.{120 + int(third)}.{fourth if fourth is not None else last}"
    return device.model_copy(update={"address": address})


def _session_cookie_variant(device: DeviceSpec) -> DeviceSpec:
    """The H122 with basic_information answered by HiLink's session error."""
    (service,) = device.services
    routes = [
        {**route, "body": SESSION_ERROR}
        if route["path"] == "/api/device/basic_information"
        else route
        for route in service.options["routes"]
    ]
    options = {**service.options, "routes": routes}
    return device.model_copy(
        update={
            "id": "huawei-hilink-session-cookie",
            "services": [service.model_copy(update={"options": options})],
        }
    )


_BUNDLED = {
    d.id: d
    for d in load_devices(["telecom", "negatives"])
    if d.id in ("huawei-hilink-h122", "neg-mpower-api")
}
HUAWEI = _moved(_BUNDLED["huawei-hilink-h122"])
SESSION_COOKIE = _moved(_session_cookie_variant(_BUNDLED["huawei-hilink-h122"]), fourth=17)
LOOKALIKE = _moved(_BUNDLED["neg-mpower-api"])
DEVICES = (HUAWEI, SESSION_COOKIE, LOOKALIKE)


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with run_lab_in_thread(list(DEVICES)) as running:
        yield running


@pytest.fixture(scope="module")
def scan(lab: Lab) -> ScanResult:
    return scan_addresses(sorted(d.address for d in DEVICES), ports=[80])


def _device(scan: ScanResult, spec: DeviceSpec) -> Device:
    devices = {d.ip: d for d in scan.devices}
    assert spec.address in devices, f"{spec.id} not found"
    return devices[spec.address]


def _context(device: Device) -> str:
    return (
        f"maker={device.manufacturer} restricted={device.restricted} notes={device.notes}\n"
        + "\n".join(
            f"  {e.protocol}/{e.port} {e.observed_field}={e.observed!r} {e.rule_id}"
            for e in device.evidence
        )
    )


def _observed(device: Device) -> list[tuple[str, str]]:
    return [(o.field, o.value) for a in device.attempts for o in a.observations]


def test_the_hilink_cpe_is_huawei_restricted_with_its_model(scan: ScanResult) -> None:
    device = _device(scan, HUAWEI)
    context = _context(device)
    assert device.manufacturer == "Huawei", context
    assert device.restricted is True, context
    assert device.model == "H122-373", context
    assert device.findings and all(f.citation for f in device.findings), context
    rules = {e.rule_id for e in device.evidence}
    # the class establishes Huawei; the model number does too, through Huawei's grammar
    assert "huawei.hilink.classify_router" in rules, context
    assert "grammar:huawei.mobile_broadband" in rules, context
    observed = _observed(device)
    assert ("hilink.spread_name", "HUAWEI 5G CPE Pro 2") in observed, observed
    assert not any(field == "hilink.error_code" for field, _ in observed), observed


def test_a_refusal_names_huawei_only_as_a_possibility(scan: ScanResult) -> None:
    device = _device(scan, SESSION_COOKIE)
    context = _context(device)
    observed = _observed(device)
    assert ("hilink.error_code", "125002") in observed, observed
    # nothing names the model or the class: the code alone never establishes Huawei
    assert not any(f in ("hilink.device_name", "hilink.classify") for f, _ in observed), observed
    assert device.manufacturer is None, context
    assert device.restricted is False, context
    assert verdict_of(device.restricted, device.notes, device.manufacturer) == "review", context
    assert any(n.startswith("review:") and "Huawei" in n for n in device.notes), context
    rules = {e.rule_id for e in device.evidence}
    assert "huawei.hilink.error_code" in rules, context


def test_the_api_lookalike_answers_401_and_is_not_huawei(scan: ScanResult) -> None:
    device = _device(scan, LOOKALIKE)
    context = _context(device)
    observed = _observed(device)
    # the same request reached its /api/ and got its JSON 401: the path says nothing
    assert ("http.endpoint", "GET /api/device/basic_information -> 401") in observed, observed
    assert not any(field.startswith("hilink.") for field, _ in observed), observed
    assert device.manufacturer != "Huawei", context
    assert device.restricted is False, context
    assert not any("Huawei" in note for note in device.notes), context


def test_one_plain_get_per_device_and_no_session_is_requested(lab: Lab, scan: ScanResult) -> None:
    http = [r for r in lab.record if r.protocol == "http"]
    sent = [r for r in http if r.first_line == HILINK_REQUEST]
    assert sorted(r.device_id for r in sent) == sorted(d.id for d in DEVICES), [
        r.first_line for r in http
    ]
    for request in sent:
        head = request.first_bytes.split(b"\r\n\r\n", 1)[0].lower()
        assert b"cookie:" not in head and b"authorization:" not in head
        assert b"referer:" not in head
    # no second HiLink request (decision 0026): no session or token is asked for, and the
    # login-protected device information is never requested
    targets = [r.first_line.split(" ")[1] for r in http if r.first_line.count(" ") >= 2]
    for path in ("/api/webserver/", "/api/device/information", "/api/user/"):
        assert not any(target.startswith(path) for target in targets), (path, targets)

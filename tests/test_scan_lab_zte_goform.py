"""ZTE's goform version query over real sockets (issue 11): a ZTE MF266 whose pre-login
version query names its model is ZTE and restricted; a GoAhead 2.x router whose /goform/
answers the same request with status 200 ("Form ... is not defined") is not ZTE.

The two lab personalities (telecom.yaml zte-mf266-goform, negatives.yaml neg-goahead-goform)
are served on their own 127.N.113.x and 127.N.106.x, apart from the session lab.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from helpers import scan_addresses

from provscan.lab.server import Lab, load_devices, run_lab_in_thread
from provscan.lab.spec import DeviceSpec
from provscan.model import Device, ScanResult

OCTET = 80 + os.getpid() % 40
GOFORM_QUERY = (
    "GET /goform/goform_get_cmd_process?isTest=false"
    "&cmd=Language,cr_version,wa_inner_version&multi_data=1 HTTP/1.1"
)


def _moved(device: DeviceSpec) -> DeviceSpec:
    _, _, third, fourth = device.address.split(".")
    return device.model_copy(update={"address": f"127.{OCTET}.{100 + int(third)}.{fourth}"})


DEVICES = {
    d.id: _moved(d)
    for d in load_devices(["telecom", "negatives"])
    if d.id in ("zte-mf266-goform", "neg-goahead-goform")
}
ZTE, LOOKALIKE = DEVICES["zte-mf266-goform"], DEVICES["neg-goahead-goform"]


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with run_lab_in_thread(list(DEVICES.values())) as running:
        yield running


@pytest.fixture(scope="module")
def scan(lab: Lab) -> ScanResult:
    return scan_addresses(sorted(d.address for d in DEVICES.values()), ports=[80])


def _device(scan: ScanResult, spec: DeviceSpec) -> Device:
    devices = {d.ip: d for d in scan.devices}
    assert spec.address in devices, f"{spec.id} not found"
    return devices[spec.address]


def _context(device: Device) -> str:
    return f"maker={device.manufacturer} restricted={device.restricted}\n" + "\n".join(
        f"  {e.protocol}/{e.port} {e.observed_field}={e.observed!r} {e.rule_id}"
        for e in device.evidence
    )


def test_the_zte_router_is_zte_restricted_by_its_firmware_string(scan: ScanResult) -> None:
    device = _device(scan, ZTE)
    context = _context(device)
    assert device.manufacturer == "ZTE", context
    assert device.restricted is True, context
    assert device.model == "MF266", context
    assert device.findings and all(f.citation for f in device.findings), context
    rules = {e.rule_id for e in device.evidence}
    assert "zte.goform.firmware_mf_mc_model" in rules, context
    firmware = [e.observed for e in device.evidence if e.observed_field == "zte.goform.firmware"]
    assert firmware == ["BD_MEOPTMF266V1.0.0B06"], context


def test_the_goahead_lookalike_answers_200_and_is_not_zte(scan: ScanResult) -> None:
    device = _device(scan, LOOKALIKE)
    context = _context(device)
    observations = [o for a in device.attempts for o in a.observations]
    # the same request got a 200 there too: the status and the path say nothing
    assert any(
        o.field == "http.endpoint"
        and o.value.startswith("GET /goform/")
        and o.value.endswith("200")
        for o in observations
    ), context
    assert not any(o.field.startswith("zte.") for o in observations), context
    assert device.manufacturer != "ZTE", context
    assert device.restricted is False, context


def test_the_query_is_a_plain_get_with_the_devices_own_referer(lab: Lab, scan: ScanResult) -> None:
    sent = [r for r in lab.record if r.first_line == GOFORM_QUERY]
    assert {r.device_id for r in sent} == set(DEVICES), [r.first_line for r in lab.record]
    for request in sent:
        head = request.first_bytes.split(b"\r\n\r\n", 1)[0].lower()
        # the authority of the Host header, as a browser's Referer repeats its Host
        assert f"host: {request.address}:80\r\n".encode() in head
        assert f"referer: http://{request.address}:80/index.html".encode() in head
        assert b"cookie:" not in head and b"authorization:" not in head
    # no HTTP request the scan sent these devices could write to them
    methods = {r.first_line.split(" ", 1)[0] for r in lab.record if r.protocol == "http"}
    assert {m for m in methods if m.isalpha()} <= {"GET", "POST"}, methods

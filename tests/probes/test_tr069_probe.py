"""The TR-069 connection-request probe (TCP 7547) over real loopback sockets (issue 11)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from helpers import scan_addresses

from provscan.lab.server import Lab, run_lab_in_thread
from provscan.lab.spec import DeviceSpec, Expectation, Identity, ServiceSpec
from provscan.model import Device
from provscan.transport.limits import DEFAULT_PORTS

#: On their own 127.N.62.x (N = 120-159 per test process), apart from other labs.
BASE = f"127.{120 + os.getpid() % 40}.62"


def _cwmp(index: int, device_id: str, realm: str, server: str | None = None) -> DeviceSpec:
    headers = [["WWW-Authenticate", f'Digest realm="{realm}", nonce="{{nonce}}", qop="auth"']]
    if server:
        headers.append(["Server", server])
    headers += [["Content-Length", "0"], ["Connection", "close"]]
    return DeviceSpec(
        id=device_id,
        address=f"{BASE}.{index}",
        description="TR-069 connection-request port only",
        identity=Identity(),
        expect=Expectation(),
        sources=["test fixture"],
        services=[
            ServiceSpec(
                port=7547,
                protocol="http",
                options={"default": {"status": 401, "headers": headers, "body": ""}},
            )
        ],
    )


DEVICES = [
    _cwmp(1, "cwmp-huawei", "HuaweiHomeGateway"),
    _cwmp(2, "cwmp-cisco", "Cisco_CCSP_CWMP_TCPCR"),
    _cwmp(3, "cwmp-unknown", "IGD", server="gSOAP/2.7"),
]


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with run_lab_in_thread(DEVICES) as running:
        yield running


@pytest.fixture(scope="module")
def devices(lab: Lab) -> dict[str, Device]:
    lab.clear_record()
    result = scan_addresses([d.address for d in DEVICES], ports=DEFAULT_PORTS)
    return {device.ip: device for device in result.devices}


def test_7547_is_a_default_port() -> None:
    assert 7547 in DEFAULT_PORTS


def test_huawei_gateway_found_through_its_connection_request_port(
    devices: dict[str, Device],
) -> None:
    huawei = devices[f"{BASE}.1"]
    assert huawei.open_ports == (7547,)
    assert (huawei.manufacturer, huawei.restricted) == ("Huawei", True)
    evidence = {(e.rule_id, e.port) for e in huawei.evidence}
    assert ("huawei.http_realm.home_gateway", 7547) in evidence
    # One GET, by the tr069 probe, recorded as its attempt on 7547.
    assert [(a.probe, a.port, a.status.value) for a in huawei.attempts] == [("tr069", 7547, "ok")]


def test_cisco_cpe_is_a_look_alike_not_a_restricted_device(devices: dict[str, Device]) -> None:
    cisco = devices[f"{BASE}.2"]
    assert (cisco.manufacturer, cisco.restricted) == ("Cisco", False)


def test_unknown_cwmp_server_is_unknown_with_what_was_seen(devices: dict[str, Device]) -> None:
    unknown = devices[f"{BASE}.3"]
    assert unknown.manufacturer is None and not unknown.restricted
    seen = {(o.field, o.value) for a in unknown.attempts for o in a.observations}
    assert ("http.server", "gSOAP/2.7") in seen
    assert ("http.realm", "IGD") in seen


def test_the_probe_asks_only_for_the_root_page(lab: Lab, devices: dict[str, Device]) -> None:
    requests = [r for r in lab.record if r.port == 7547 and r.first_bytes]
    assert requests, "the lab saw no request on 7547"
    assert {r.first_line for r in requests} == {"GET / HTTP/1.1"}

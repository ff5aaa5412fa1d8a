"""Huawei and ZTE network equipment (issue 11): found on the default ports and identified.

The personalities (lab/personalities/telecom.yaml; the session lab serves them too, and
tests/test_scan_lab.py checks them with every other lab device) answer only where the public sources show
them answering: SSH and telnet banners, HTTP realms. Two of them have no web interface at
all, so they are found only because 22 and 23 are default ports
(docs/decisions/0009-default-ports.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from helpers import scan_addresses

from provscan.lab.server import Lab, load_devices, run_lab_in_thread
from provscan.model import ScanResult
from provscan.transport.limits import DEFAULT_PORTS

#: On their own 127.N.13.x (N = 80-119 per test process), apart from the session lab.
TELECOM_OCTET = 80 + os.getpid() % 40
DEVICES = [
    device.model_copy(
        update={"address": device.address.replace("127.77.", f"127.{TELECOM_OCTET}.", 1)}
    )
    for device in load_devices(["telecom"])
]


@pytest.fixture(scope="module")
def telecom_lab() -> Iterator[Lab]:
    with run_lab_in_thread(DEVICES) as running:
        yield running


@pytest.fixture(scope="module")
def telecom_scan(telecom_lab: Lab) -> ScanResult:
    return scan_addresses(sorted(d.address for d in DEVICES), ports=DEFAULT_PORTS)


def test_ssh_telnet_and_ftp_are_default_ports() -> None:
    assert {21, 22, 23} <= set(DEFAULT_PORTS)


@pytest.mark.parametrize("spec", DEVICES, ids=[d.id for d in DEVICES])
def test_telecom_device_is_identified(spec: object, telecom_scan: ScanResult) -> None:
    from provscan.lab.spec import DeviceSpec

    assert isinstance(spec, DeviceSpec)
    devices = {d.ip: d for d in telecom_scan.devices}
    assert spec.address in devices, f"{spec.id} not found on the default ports"
    device = devices[spec.address]
    evidence = "\n".join(
        f"  {e.protocol}/{e.port} {e.observed_field}={e.observed!r} {e.rule_id}"
        for e in device.evidence
    )
    context = (
        f"{spec.id}: got maker={device.manufacturer} restricted={device.restricted}\n{evidence}"
    )
    assert set(device.open_ports) == {s.port for s in spec.services}, context
    assert device.manufacturer == spec.expect.manufacturer, context
    assert device.restricted is spec.expect.restricted, context
    assert device.findings and all(f.citation for f in device.findings), context


def test_telnet_negotiation_does_not_reach_the_banner(telecom_scan: ScanResult) -> None:
    (gateway,) = [d for d in telecom_scan.devices if d.ip == f"127.{TELECOM_OCTET}.13.10"]
    texts = [e.observed for e in gateway.evidence if e.observed_field == "banner.text"]
    assert texts == ["Welcome Visiting Huawei Home Gateway"], texts

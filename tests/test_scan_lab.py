"""Every lab device identified correctly by a real scan over loopback."""

from __future__ import annotations

import time
import tracemalloc

import pytest
from helpers import SESSION_DEVICES, TEST_LIMITS, scan_addresses

from provscan.lab.server import Lab
from provscan.lab.spec import DeviceSpec
from provscan.model import ScanResult

DEVICES = [d for d in SESSION_DEVICES if not d.expect.hostile]
HOSTILE = [d for d in SESSION_DEVICES if d.expect.hostile]


@pytest.mark.parametrize("spec", DEVICES, ids=[d.id for d in DEVICES])
def test_lab_device_is_identified(spec: DeviceSpec, lab_scan: ScanResult) -> None:
    devices = {d.ip: d for d in lab_scan.devices}
    assert spec.address in devices, f"{spec.id} not found (no open port seen)"
    device = devices[spec.address]
    evidence = "\n".join(
        f"  {e.protocol}/{e.port} {e.observed_field}={e.observed!r} {e.rule_id}"
        for e in device.evidence
    )
    context = f"{spec.id}: got maker={device.manufacturer} brand={device.brand} restricted={device.restricted}\n{evidence}"
    if spec.expect.manufacturer is not None:
        assert device.manufacturer == spec.expect.manufacturer, context
    if spec.expect.brand is not None:
        assert (device.brand or device.manufacturer) == spec.expect.brand, context
    if spec.expect.restricted is not None:
        assert device.restricted is spec.expect.restricted, context
    if spec.expect.model is not None:
        assert device.model == spec.expect.model, context
    if device.restricted:
        assert device.findings and all(f.citation for f in device.findings)
    assert device.evidence, "a device must come with evidence"


def test_open_ports_match_the_lab(lab_scan: ScanResult) -> None:
    devices = {d.ip: d for d in lab_scan.devices}
    for spec in DEVICES:
        assert set(devices[spec.address].open_ports) == {s.port for s in spec.services}, spec.id


def test_every_attempt_is_recorded(lab_scan: ScanResult) -> None:
    for device in lab_scan.devices:
        probed_ports = {a.port for a in device.attempts}
        assert probed_ports == set(device.open_ports), device.ip


def test_hostile_devices_do_not_stop_the_scan(lab: Lab) -> None:
    # Given every hostile device of the lab
    addresses = sorted({d.address for d in HOSTILE})
    assert addresses
    tracemalloc.start()
    started = time.monotonic()
    # When they are scanned with the test deadlines
    result = scan_addresses(addresses)
    elapsed = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # Then the scan finishes within the host deadline, with bounded memory,
    # and reports what it saw (failures recorded as attempts, not dropped).
    assert elapsed < TEST_LIMITS.per_host_deadline_s + 5
    assert peak < 64 * 1024 * 1024, f"peak traced memory {peak} bytes"
    assert result.info.hosts_scanned == len(addresses)
    expected = {d.address: d for d in HOSTILE}
    for device in result.devices:
        # A hostile reply is never evidence of a vendor.
        assert device.restricted is bool(expected[device.ip].expect.restricted), device.ip
        assert {a.port for a in device.attempts} == set(device.open_ports)


def test_scan_is_non_intrusive(lab: Lab, lab_scan: ScanResult) -> None:
    # The lab records the first bytes of every connection it received during the scan.
    requests = [r for r in lab.record if not r.device_id.startswith("hostile")]
    assert requests
    for request in requests:
        data = request.first_bytes.lower()
        assert b"authorization:" not in data, request.first_line
        assert b"auth=" not in data and b"/sdk/weblanguage" not in data, request.first_line
        method = request.first_line.split(" ", 1)[0]
        if request.protocol in ("http",) and method.isalpha():
            assert method in ("GET", "POST"), request.first_line
        if request.protocol == "rtsp" and method.isalpha():
            assert method in ("OPTIONS", "DESCRIBE"), request.first_line

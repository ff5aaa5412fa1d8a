"""Credentialed requests chosen by the identified maker (issue 12, point 4).

A lab of Hikvision, Dahua and other makers' devices (relabels included) is scanned with a
credentials file that covers every one of them. The lab records every request: a maker's
API request (device_api.yaml) must reach only that maker's devices, and Hikvision's CVEs
must be decided from the DeviceInfo version joined with its separate build.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator

import pytest
from helpers import SESSION_DEVICES, TEST_LIMITS

from provscan.credentials import parse_credentials
from provscan.knowledge.device_api import load_device_api
from provscan.lab.server import LabRequest, run_lab_in_thread
from provscan.lab.spec import DeviceSpec
from provscan.model import Device, ScanResult
from provscan.pipeline import run_scan
from provscan.probes.credentialed import CredentialedApiCheck
from provscan.targets import build_targets

#: 250-254: outside the session labs (130-229) and the posture lab (230-249).
MIX_OCTET = 250 + os.getpid() % 5
HIKVISION = ("hik-fw-7921-vulnerable", "hik-fw-patched", "hik-ipc-g2", "lts-ipc")
DAHUA = ("dahua-fw-33044-vulnerable", "amcrest-fw-5735-fixed", "dahua-ipc")
OTHERS = (
    "axis-p3225",
    "hanwha-xnv",
    "bosch-flexidome",
    "uniview-ipc",
    "reolink-rlc810a",
    "neg-hp-printer",
    "neg-nginx",
)
PASSWORD = "lab-Passw0rd"
CREDENTIALS = {"default": {"username": "admin", "password": PASSWORD}}


def _moved(device: DeviceSpec) -> DeviceSpec:
    parts = device.address.split(".")
    parts[1] = str(MIX_OCTET)
    return device.model_copy(update={"address": ".".join(parts)})


MIX: dict[str, DeviceSpec] = {
    d.id: _moved(d) for d in SESSION_DEVICES if d.id in (*HIKVISION, *DAHUA, *OTHERS)
}
PORTS = sorted({s.port for d in MIX.values() for s in d.services})
#: The paths of each maker's API (every use), from the data the probes read.
MAKER_PATHS: dict[str, set[str]] = {}
for _request in load_device_api().requests:
    for _vendor in _request.vendors:
        MAKER_PATHS.setdefault(_vendor, set()).add(_request.path)


@pytest.fixture(scope="module")
def scanned() -> Iterator[tuple[ScanResult, list[LabRequest]]]:
    assert set(MIX) == {*HIKVISION, *DAHUA, *OTHERS}
    with run_lab_in_thread(list(MIX.values())) as lab:
        started = time.time()
        addresses = sorted(d.address for d in MIX.values())
        result = asyncio.run(
            run_scan(
                build_targets(addresses),
                addresses,
                PORTS,
                limits=TEST_LIMITS,
                credentials=parse_credentials(CREDENTIALS),
                discovery=None,
            )
        )
        time.sleep(0.05)  # let the lab thread record the last connections
        requests = [r for r in lab.record if r.received_at >= started]
        yield result, requests


def _family(address: str) -> str | None:
    spec = next(d for d in MIX.values() if d.address == address)
    return spec.identity.manufacturer


def _path(request: LabRequest) -> str:
    parts = request.first_line.split(" ")
    return parts[1] if len(parts) >= 2 else ""


def _credentialed(request: LabRequest) -> bool:
    return b"authorization:" in request.first_bytes.lower()


def _device(result: ScanResult, device_id: str) -> Device:
    return next(d for d in result.devices if d.ip == MIX[device_id].address)


def test_the_mix_is_identified_by_maker_first(
    scanned: tuple[ScanResult, list[LabRequest]],
) -> None:
    result, _ = scanned
    for device_id in HIKVISION:
        assert _device(result, device_id).manufacturer == "Hikvision", device_id
    for device_id in DAHUA:
        assert _device(result, device_id).manufacturer == "Dahua", device_id
    for device_id in OTHERS:
        assert _device(result, device_id).manufacturer not in ("Hikvision", "Dahua"), device_id


@pytest.mark.parametrize("maker", ["Hikvision", "Dahua"])
def test_a_makers_credentialed_requests_reach_only_that_makers_devices(
    maker: str, scanned: tuple[ScanResult, list[LabRequest]]
) -> None:
    _, requests = scanned
    paths = MAKER_PATHS[maker]
    with_credentials = [r for r in requests if _credentialed(r) and _path(r) in paths]
    # Some reached the maker's own devices, relabels included ...
    reached = {_family(r.address) for r in with_credentials}
    assert reached == {maker}, [(r.address, r.first_line) for r in with_credentials]
    relabel = MIX["lts-ipc" if maker == "Hikvision" else "amcrest-fw-5735-fixed"].address
    assert any(r.address == relabel for r in with_credentials)
    # ... and none of the maker's credentialed-only requests (the API's follow-ups, which
    # the unauthenticated probes never send) reached another maker's device.
    follow_ups = {
        request.path
        for request in load_device_api().requests
        if maker in request.vendors
        and request.use == "credentialed"
        and request.path != "/ISAPI/System/deviceInfo"
    }
    stray = [
        (r.address, r.first_line)
        for r in requests
        if _path(r) in follow_ups and _family(r.address) != maker
    ]
    assert not stray


def test_other_makers_get_no_credential_in_any_http_header(
    scanned: tuple[ScanResult, list[LabRequest]],
) -> None:
    _, requests = scanned
    others = {MIX[device_id].address for device_id in OTHERS}
    sent = [(r.address, r.first_line) for r in requests if r.address in others and _credentialed(r)]
    assert not sent


def test_the_api_checks_ran_only_on_their_makers_devices(
    scanned: tuple[ScanResult, list[LabRequest]],
) -> None:
    result, _ = scanned
    for device in result.devices:
        probes = {a.probe for a in device.attempts}
        family = _family(device.ip)
        assert ("credentialed-hikvision" in probes) == (family == "Hikvision"), device.ip
        assert ("credentialed-dahua" in probes) == (family == "Dahua"), device.ip


@pytest.mark.parametrize(
    ("device_id", "firmware", "statuses"),
    [
        (
            "hik-fw-7921-vulnerable",
            "V5.4.0 build 160530",
            {"CVE-2017-7921": "vulnerable", "CVE-2017-7923": "vulnerable"},
        ),
        ("hik-fw-patched", "V5.5.800 build 210628", {}),
    ],
)
def test_hikvision_cves_are_decided_from_version_and_build(
    device_id: str,
    firmware: str,
    statuses: dict[str, str],
    scanned: tuple[ScanResult, list[LabRequest]],
) -> None:
    result, _ = scanned
    device = _device(result, device_id)
    assert device.firmware == firmware
    assert any(
        note.startswith(f"firmware {firmware} learned from isapi.firmware + isapi.firmware_build")
        for note in device.notes
    ), device.notes
    found = {v.cve: v.status for v in device.vulnerabilities}
    for cve, status in statuses.items():
        assert found[cve] == status
    # on the boundaries of the published ranges, nothing that needs the build is left open
    assert not [v for v in device.vulnerabilities if "lacks a build" in v.note]
    if not statuses:
        assert "CVE-2021-36260" not in found  # the first fixed build is not affected


def test_no_check_is_planned_without_credentials_or_for_an_unknown_maker() -> None:
    check = CredentialedApiCheck(
        parse_credentials({"devices": {"10.0.0.1": CREDENTIALS["default"]}})
    )
    hik = Device(ip="10.0.0.1", open_ports=(80, 443), manufacturer="Hikvision", brand="LTS")
    assert sorted(probe.name for probe, _ in check.plan(hik)) == [
        "credentialed-hikvision",
        "credentialed-hikvision-tls",
    ]
    assert check.plan(Device(ip="10.0.0.2", open_ports=(80,), manufacturer="Hikvision")) == []
    for maker in (None, "Axis", "Uniview"):
        assert check.plan(Device(ip="10.0.0.1", open_ports=(80,), manufacturer=maker)) == []
    dahua = Device(ip="10.0.0.1", open_ports=(80, 8080), manufacturer="Dahua", brand="Amcrest")
    assert [(probe.name, port) for probe, port in check.plan(dahua)] == [
        ("credentialed-dahua", 80),
        ("credentialed-dahua", 8080),
    ]

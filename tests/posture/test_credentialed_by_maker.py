"""Credentialed requests chosen by the identified maker (issue 12, point 4).

A lab of devices of every maker with a credentialed API (Hikvision, Dahua, Axis, Hanwha,
Uniview, Reolink; relabels included) and of makers without one is scanned with a credentials
file that covers every one of them. The lab records every request: a maker's API request
(device_api.yaml) must reach only that maker's devices, a credential must never reach another
maker's endpoint, and the firmware each API gives must decide the CVEs that depend on it.
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
from provscan.probes.credentialed import (
    DAHUA_API,
    HIKVISION_API,
    TLS_PORTS,
    CredentialedApiCheck,
    request_allowed,
)
from provscan.targets import build_targets

#: 250-254: outside the session labs (130-229) and the posture lab (230-249).
MIX_OCTET = 250 + os.getpid() % 5
HIKVISION = ("hik-fw-7921-vulnerable", "hik-fw-patched", "hik-ipc-g2", "lts-ipc")
DAHUA = ("dahua-fw-33044-vulnerable", "amcrest-fw-5735-fixed", "dahua-ipc")
#: Makers with an API read from data (lab/personalities/posture_makers.yaml and others.yaml).
DATA_APIS = (
    "axis-posture",
    "hanwha-posture",
    "uniview-posture",
    "reolink-posture",
    "axis-p3225",
    "hanwha-xnv",
    "uniview-ipc",
    "reolink-rlc810a",
)
#: Makers without a maker API (Bosch answers the standard's ONVIF call only) and negatives.
WITHOUT_API = ("bosch-posture", "bosch-flexidome", "neg-hp-printer", "neg-nginx")
PASSWORD = "lab-Passw0rd"
CREDENTIALS = {"default": {"username": "admin", "password": PASSWORD}}


def _moved(device: DeviceSpec) -> DeviceSpec:
    parts = device.address.split(".")
    parts[1] = str(MIX_OCTET)
    return device.model_copy(update={"address": ".".join(parts)})


MIX: dict[str, DeviceSpec] = {
    d.id: _moved(d)
    for d in SESSION_DEVICES
    if d.id in (*HIKVISION, *DAHUA, *DATA_APIS, *WITHOUT_API)
}
PORTS = sorted({s.port for d in MIX.values() for s in d.services})
#: The paths of each maker's API (every use), from the data the probes read; a path with
#: credential placeholders is compared up to its query string.
MAKER_PATHS: dict[str, set[str]] = {}
for _request in load_device_api().requests:
    for _vendor in _request.vendors:
        MAKER_PATHS.setdefault(_vendor, set()).add(_request.path.split("{", 1)[0])


@pytest.fixture(scope="module")
def scanned() -> Iterator[tuple[ScanResult, list[LabRequest]]]:
    assert set(MIX) == {*HIKVISION, *DAHUA, *DATA_APIS, *WITHOUT_API}
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


def _of_maker(path: str, maker: str | None) -> bool:
    return any(path.startswith(p) if "?" in p else path == p for p in MAKER_PATHS.get(maker, ()))


def _credentialed(request: LabRequest) -> bool:
    """An HTTP Authorization header, or the password in the query string (Reolink's API)."""
    return b"authorization:" in request.first_bytes.lower() or PASSWORD in request.first_line


def _device(result: ScanResult, device_id: str) -> Device:
    return next(d for d in result.devices if d.ip == MIX[device_id].address)


def test_the_mix_is_identified_by_maker_first(
    scanned: tuple[ScanResult, list[LabRequest]],
) -> None:
    result, _ = scanned
    for device_id in (*HIKVISION, *DAHUA, *DATA_APIS, "bosch-posture", "bosch-flexidome"):
        spec = MIX[device_id]
        assert _device(result, device_id).manufacturer == spec.identity.manufacturer, device_id


@pytest.mark.parametrize("maker", sorted(MAKER_PATHS))
def test_a_makers_credentialed_requests_reach_only_that_makers_devices(
    maker: str, scanned: tuple[ScanResult, list[LabRequest]]
) -> None:
    _, requests = scanned
    with_credentials = [r for r in requests if _credentialed(r) and _of_maker(_path(r), maker)]
    # Some reached the maker's own devices, relabels included ...
    reached = {_family(r.address) for r in with_credentials}
    assert reached == {maker}, [(r.address, r.first_line) for r in with_credentials]
    if maker in ("Hikvision", "Dahua"):
        relabel = MIX["lts-ipc" if maker == "Hikvision" else "amcrest-fw-5735-fixed"].address
        assert any(r.address == relabel for r in with_credentials)
    # ... and none of the maker's credentialed-only requests (the API's follow-ups, which
    # the unauthenticated probes never send) reached another maker's device.
    follow_ups = {
        request.path.split("{", 1)[0]
        for request in load_device_api().requests
        if maker in request.vendors
        and request.use == "credentialed"
        and request.path != "/ISAPI/System/deviceInfo"
    }
    stray = [
        (r.address, r.first_line)
        for r in requests
        if any(_path(r).startswith(p) for p in follow_ups) and _family(r.address) != maker
    ]
    assert not stray


def test_no_credential_reaches_an_endpoint_of_another_maker(
    scanned: tuple[ScanResult, list[LabRequest]],
) -> None:
    # Every request that carries the credential goes to an API path of the device's own
    # maker, or is the standard's ONVIF call (whose token travels in the body, not a header).
    _, requests = scanned
    credentialed = [r for r in requests if _credentialed(r)]
    assert credentialed
    wrong = [
        (r.device_id, r.first_line)
        for r in credentialed
        if not _of_maker(_path(r), _family(r.address))
    ]
    assert not wrong


def test_makers_without_an_api_get_no_credential_in_a_header_or_query(
    scanned: tuple[ScanResult, list[LabRequest]],
) -> None:
    _, requests = scanned
    others = {MIX[device_id].address for device_id in WITHOUT_API}
    sent = [(r.address, r.first_line) for r in requests if r.address in others and _credentialed(r)]
    assert not sent


def test_a_credential_in_the_query_string_travels_only_over_tls(
    scanned: tuple[ScanResult, list[LabRequest]],
) -> None:
    _, requests = scanned
    in_query = [r for r in requests if PASSWORD in r.first_line]
    assert in_query, "the Reolink devices with TLS should have been asked"
    assert {r.port for r in in_query} <= set(TLS_PORTS)
    assert all(r.device_id == "reolink-posture" for r in in_query)  # the other has no TLS


def test_no_observation_carries_the_credential(
    scanned: tuple[ScanResult, list[LabRequest]],
) -> None:
    result, _ = scanned
    texts = [
        f"{o.field} {o.value} {o.detail}"
        for device in result.devices
        for attempt in device.attempts
        for o in (*attempt.observations,)
    ] + [note for device in result.devices for note in device.notes]
    assert texts and not [t for t in texts if PASSWORD in t or "user=admin" in t]


def test_the_api_checks_ran_only_on_their_makers_devices(
    scanned: tuple[ScanResult, list[LabRequest]],
) -> None:
    result, _ = scanned
    data_apis = load_device_api().data_apis()
    for device in result.devices:
        probes = {a.probe.removesuffix("-tls") for a in device.attempts}
        family = _family(device.ip)
        assert ("credentialed-hikvision" in probes) == (family == "Hikvision"), device.ip
        assert ("credentialed-dahua" in probes) == (family == "Dahua"), device.ip
        for api, api_requests in data_apis.items():
            first = api_requests[0]
            reachable = first.auth != "query_over_tls" or set(device.open_ports) & set(TLS_PORTS)
            ran = f"credentialed-{api}" in probes
            assert ran == (family in first.vendors and bool(reachable)), (device.ip, api)


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


@pytest.mark.parametrize(
    ("device_id", "field", "statuses"),
    [
        ("axis-posture", "axis.firmware", {"CVE-2023-21413": "likely"}),
        ("hanwha-posture", "hanwha.firmware", {"CVE-2023-5747": "vulnerable"}),
        ("uniview-posture", "uniview.firmware", {}),
        (
            "reolink-posture",
            "reolink.firmware",
            {"CVE-2021-40407": "likely", "CVE-2019-11001": "undetermined"},
        ),
        ("bosch-posture", "onvif.firmware", {"CVE-2021-23847": "vulnerable"}),
    ],
)
def test_every_makers_firmware_is_read_and_decides_its_cves(
    device_id: str,
    field: str,
    statuses: dict[str, str],
    scanned: tuple[ScanResult, list[LabRequest]],
) -> None:
    result, _ = scanned
    spec = MIX[device_id]
    device = _device(result, device_id)
    # Given the identity the lab device answers with, when its own API was read with the
    # credential, then posture compared that firmware (and says where it came from).
    assert device.firmware == spec.identity.firmware
    assert any(
        note.startswith(f"firmware {spec.identity.firmware} learned from {field} (")
        for note in device.notes
    ), device.notes
    assert device.serial == spec.identity.serial
    found = {v.cve: v.status for v in device.vulnerabilities}
    assert {cve: found.get(cve) for cve in statuses} == statuses
    if device_id != "bosch-posture":  # the makers' APIs give the model too
        assert device.model == spec.identity.model


def test_an_api_that_rejects_the_credential_says_so_and_stops(
    scanned: tuple[ScanResult, list[LabRequest]],
) -> None:
    # axis-p3225 (others.yaml) answers every /axis-cgi/ request with a 401 challenge: the
    # credential is refused once, recorded, and the follow-up request is not sent.
    result, requests = scanned
    device = _device(result, "axis-p3225")
    auth = [
        o.value
        for a in device.attempts
        if a.probe.startswith("credentialed-axis-vapix")
        for o in a.observations
        if o.field == "credentialed.auth"
    ]
    assert auth and set(auth) == {"rejected"}
    asked = [_path(r) for r in requests if r.device_id == "axis-p3225" and _credentialed(r)]
    assert asked and all("group=root.Properties" in path for path in asked)


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
    for maker in (None, "Bosch", "Milesight"):
        assert check.plan(Device(ip="10.0.0.1", open_ports=(80,), manufacturer=maker)) == []
    dahua = Device(ip="10.0.0.1", open_ports=(80, 8080), manufacturer="Dahua", brand="Amcrest")
    assert [(probe.name, port) for probe, port in check.plan(dahua)] == [
        ("credentialed-dahua", 80),
        ("credentialed-dahua", 8080),
    ]
    assert request_allowed(HIKVISION_API, {"Hikvision"}) and not request_allowed(
        DAHUA_API, {"Hikvision"}
    )


@pytest.mark.parametrize(
    ("maker", "open_ports", "planned"),
    [
        (
            "Axis",
            (80, 443),
            [("credentialed-axis-vapix", 80), ("credentialed-axis-vapix-tls", 443)],
        ),
        ("Hanwha Vision", (80,), [("credentialed-hanwha-sunapi", 80)]),
        (
            "Uniview",
            (80, 8443),
            [("credentialed-uniview-lapi", 80), ("credentialed-uniview-lapi-tls", 8443)],
        ),
        # Reolink's API carries the credential in the query string: never on a plain port.
        ("Reolink", (80, 443), [("credentialed-reolink-api-tls", 443)]),
        ("Reolink", (80,), []),
    ],
)
def test_data_apis_are_planned_by_maker_and_transport(
    maker: str, open_ports: tuple[int, ...], planned: list[tuple[str, int]]
) -> None:
    check = CredentialedApiCheck(parse_credentials(CREDENTIALS))
    device = Device(ip="10.0.0.9", open_ports=open_ports, manufacturer=maker)
    assert [(probe.name, port) for probe, port in check.plan(device)] == planned

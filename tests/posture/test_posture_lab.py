"""Security posture against the lab's vulnerable and patched firmware variants.

Each verdict is checked with and without credentials, and every request the lab received
is checked for intrusiveness: no writes, no exploit paths, credentials only where and when
they were asked for.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import TEST_LIMITS
from posture_devices import POSTURE_DEVICES

from provscan.credentials import parse_credentials
from provscan.lab.responders.http import reset_lockouts
from provscan.lab.server import Lab, LabRequest
from provscan.model import Device, ScanResult
from provscan.pipeline import run_scan
from provscan.probes.credentialed import REQUESTS
from provscan.probes.credentialed_defaults import CHECK_PATHS
from provscan.report.formats import render_csv, render_json, render_table
from provscan.targets import build_targets

VARIANTS = {d.id: d for d in POSTURE_DEVICES}
ADDRESS = {device_id: spec.address for device_id, spec in VARIANTS.items()}
PORTS = sorted({s.port for d in VARIANTS.values() for s in d.services})
LAB_PASSWORD = "lab-Passw0rd"
CREDENTIALS = {
    "default": {"username": "admin", "password": LAB_PASSWORD},
    "devices": {ADDRESS["amcrest-fw-5735-vulnerable"]: {"username": "admin", "password": "admin"}},
}
#: Paths a posture scan may POST to: the ONVIF device service and Dahua's login challenge.
READ_ONLY_POSTS = ("/onvif/device_service", "/RPC2_Login")
EXPLOIT_FRAGMENTS = (b"auth=", b"/sdk/weblanguage", b"setconfig", b"../", b"%2e%2e")


@pytest.fixture(scope="module")
def scans(posture_lab: Lab) -> Iterator[dict[str, tuple[ScanResult, list[LabRequest]]]]:
    """Three scans of the variants: plain, with credentials, with the default-account check."""
    results: dict[str, tuple[ScanResult, list[LabRequest]]] = {}
    for name, options in (
        ("plain", {}),
        ("credentials", {"credentials": parse_credentials(CREDENTIALS)}),
        ("defaults", {"check_default_credentials": True}),
    ):
        reset_lockouts()
        started = time.time()
        addresses = sorted(ADDRESS.values())
        result = asyncio.run(
            run_scan(build_targets(addresses), addresses, PORTS, limits=TEST_LIMITS, **options)  # type: ignore[arg-type]
        )
        time.sleep(0.05)  # let the lab thread record the last connections
        requests = [
            r
            for r in posture_lab.record
            if r.received_at >= started and r.address in ADDRESS.values()
        ]
        results[name] = (result, requests)
    reset_lockouts()
    yield results


def _device(result: ScanResult, device_id: str) -> Device:
    return next(d for d in result.devices if d.ip == ADDRESS[device_id])


def _statuses(device: Device) -> dict[str, str]:
    return {v.cve: v.status for v in device.vulnerabilities}


def _kinds(device: Device) -> set[str]:
    return {e.kind for e in device.exposure}


# --- verdicts --------------------------------------------------------------------------

WITH_CREDENTIALS = {
    # device id: (firmware as read, {CVE: status}, exposure kinds)
    "hik-fw-7921-vulnerable": (
        "V5.4.0 build 160530",
        {"CVE-2017-7921": "vulnerable", "CVE-2017-7923": "vulnerable", "CVE-2021-36260": "likely"},
        {"telnet", "plain_http_login"},
    ),
    "hik-fw-7921-fixed": (
        "V5.4.5 build 170123",
        {"CVE-2021-36260": "likely"},
        {"plain_http_login"},
    ),
    "hik-fw-patched": ("V5.5.800 build 210628", {}, {"plain_http_login", "cloud_p2p"}),
    "dahua-fw-33044-vulnerable": (
        "2.800.0000000.28.R,build:2021-06-29",
        {"CVE-2021-33044": "vulnerable"},
        {"plain_http_login", "cloud_p2p", "rtsp_unauthenticated"},
    ),
    "dahua-fw-33044-fixed": ("2.800.0000000.29.R,build:2021-06-30", {}, {"plain_http_login"}),
    "amcrest-fw-5735-vulnerable": (
        "2.800.00AC000.0.R.200210",
        {"CVE-2020-5735": "vulnerable"},
        {"plain_http_login"},
    ),
    "amcrest-fw-5735-fixed": ("2.800.00AC000.0.R,build:2020-03-30", {}, {"plain_http_login"}),
}


@pytest.mark.parametrize("device_id", sorted(WITH_CREDENTIALS))
def test_verdicts_with_credentials(
    device_id: str, scans: dict[str, tuple[ScanResult, list[LabRequest]]]
) -> None:
    result, _ = scans["credentials"]
    device = _device(result, device_id)
    firmware, statuses, kinds = WITH_CREDENTIALS[device_id]
    context = f"{device_id}: {device.firmware} {_statuses(device)} {_kinds(device)} {device.notes}"
    assert device.firmware == firmware, context
    assert _statuses(device) == statuses, context
    assert _kinds(device) == kinds, context
    assert any(note.startswith(f"firmware {firmware} learned from") for note in device.notes)
    assert device.restricted and device.remediation[0].priority <= 2
    for vulnerability in device.vulnerabilities:
        if vulnerability.status == "vulnerable" and vulnerability.kev:
            patch = next(
                r
                for r in device.remediation
                if r.action == "patch" and vulnerability.cve in r.reason
            )
            assert (
                patch.priority == 1
                and vulnerability.fixed_in
                and vulnerability.fixed_in in patch.detail
            )


def test_remediation_is_graded_and_spelled_out(
    scans: dict[str, tuple[ScanResult, list[LabRequest]]],
) -> None:
    result, _ = scans["credentials"]
    device = _device(result, "hik-fw-7921-vulnerable")
    actions = {r.action for r in device.remediation}
    assert {"replace", "isolate", "patch", "reconfigure"} <= actions
    isolate = next(r for r in device.remediation if r.action == "isolate")
    assert "VLAN" in isolate.detail and device.ip in isolate.detail and "deny" in isolate.detail
    assert isolate.priority == 1  # a known-exploited CVE makes isolation urgent
    priorities = [r.priority for r in device.remediation]
    assert priorities == sorted(priorities)
    telnet = next(r for r in device.remediation if "telnet" in r.reason)
    assert telnet.action == "reconfigure"


def test_without_credentials_firmware_is_unknown_or_says_how_it_was_learned(
    scans: dict[str, tuple[ScanResult, list[LabRequest]]],
) -> None:
    result, _ = scans["plain"]
    for device_id in ("hik-fw-7921-vulnerable", "hik-fw-patched", "dahua-fw-33044-vulnerable"):
        device = _device(result, device_id)
        assert device.firmware is None
        assert any(note.startswith("firmware unknown") for note in device.notes), device.notes
        # never guessed: nothing is "vulnerable" without a firmware version
        assert all(v.status == "undetermined" for v in device.vulnerabilities)
    onvif = _device(result, "hik-fw-7921-fixed")
    assert onvif.firmware == "V5.4.5 build 170123"
    assert any("onvif.firmware" in note for note in onvif.notes)
    assert _statuses(onvif) == {"CVE-2021-36260": "likely"}
    assert "rtsp_unauthenticated" in _kinds(_device(result, "dahua-fw-33044-vulnerable"))
    assert "telnet" in _kinds(_device(result, "hik-fw-7921-vulnerable"))


def test_default_accounts_only_with_the_flag(
    scans: dict[str, tuple[ScanResult, list[LabRequest]]],
) -> None:
    plain, _ = scans["plain"]
    assert not any(e.kind == "default_credentials" for d in plain.devices for e in d.exposure)
    result, _ = scans["defaults"]
    amcrest = _device(result, "amcrest-fw-5735-vulnerable")
    assert "default_credentials" in _kinds(amcrest)
    assert amcrest.remediation[0].action == "reconfigure" and amcrest.remediation[0].priority == 1
    locked = _device(result, "dahua-fw-lockout")
    assert any("stopped at a lockout sign" in note for note in locked.notes)


# --- safety ----------------------------------------------------------------------------


def _method_and_path(request: LabRequest) -> tuple[str, str]:
    parts = request.first_line.split(" ")
    return (parts[0], parts[1]) if len(parts) >= 2 else ("", "")


@pytest.mark.parametrize("name", ["plain", "credentials", "defaults"])
def test_no_check_is_intrusive(
    name: str, scans: dict[str, tuple[ScanResult, list[LabRequest]]]
) -> None:
    _, requests = scans[name]
    assert requests
    for request in requests:
        data = request.first_bytes.lower()
        for fragment in EXPLOIT_FRAGMENTS:
            assert fragment not in data, request.first_line
        if request.protocol != "http" or not request.first_line[:1].isalpha():
            continue
        method, path = _method_and_path(request)
        assert method in ("GET", "POST"), request.first_line  # never PUT/DELETE/PATCH
        if method == "POST":
            assert path in READ_ONLY_POSTS, request.first_line


def test_credentials_are_sent_only_when_asked_and_only_to_read_only_paths(
    scans: dict[str, tuple[ScanResult, list[LabRequest]]],
) -> None:
    _, plain = scans["plain"]
    assert not [r.first_line for r in plain if b"authorization:" in r.first_bytes.lower()]
    assert not [r.first_line for r in plain if b"usernametoken" in r.first_bytes.lower()]
    _, credentialed = scans["credentials"]
    allowed = {path for _, path in REQUESTS}
    sent = [r for r in credentialed if b"authorization:" in r.first_bytes.lower()]
    assert sent
    for request in sent:
        assert _method_and_path(request)[1] in allowed, request.first_line
        assert b"authorization: basic" not in request.first_bytes.lower()  # never in clear text
    _, defaults = scans["defaults"]
    attempts = [r for r in defaults if b"authorization:" in r.first_bytes.lower()]
    assert attempts
    for request in attempts:
        assert _method_and_path(request)[1] in CHECK_PATHS.values(), request.first_line
    # one attempt per account, and none after the lockout sign
    lockout = [r for r in attempts if r.address == ADDRESS["dahua-fw-lockout"]]
    assert len(lockout) == 1
    per_device: dict[str, list[bytes]] = {}
    for request in attempts:
        per_device.setdefault(request.address, []).append(request.first_bytes)
    for address, sent_bytes in per_device.items():
        usernames = [
            b.lower().split(b'username="', 1)[1].split(b'"', 1)[0]
            for b in sent_bytes
            if b'username="' in b.lower()
        ]
        assert len(usernames) == len(set(usernames)), address


def test_credentials_never_reach_reports_or_the_database(
    scans: dict[str, tuple[ScanResult, list[LabRequest]]], tmp_path: Path
) -> None:
    from rich.console import Console

    from provscan.store.db import open_store

    result, _ = scans["credentials"]
    console = Console(file=(buffer := __import__("io").StringIO()), width=200, no_color=True)
    render_table(result, console)
    outputs = [render_json(result), render_csv(result), buffer.getvalue(), repr(result)]
    database = tmp_path / "scans.db"
    store = open_store(f"sqlite:///{database}")
    store.save(result)
    store.close()
    outputs.append(database.read_bytes().decode("latin-1"))
    for text in outputs:
        assert LAB_PASSWORD not in text
        assert 'username="' not in text and "cnonce=" not in text  # no Authorization header
    document = json.loads(outputs[0])
    vulnerable = next(
        d for d in document["devices"] if d["ip"] == ADDRESS["hik-fw-7921-vulnerable"]
    )
    assert {"cve", "cvss", "kev", "fixed_in", "source"} <= set(vulnerable["vulnerabilities"][0])
    assert {"action", "reason"} <= set(vulnerable["remediation"][0])
    assert vulnerable["exposure"]


def test_table_shows_posture_and_a_priority_list(
    scans: dict[str, tuple[ScanResult, list[LabRequest]]],
) -> None:
    import io

    from rich.console import Console

    result, _ = scans["credentials"]
    buffer = io.StringIO()
    render_table(result, Console(file=buffer, width=200, no_color=True))
    text = buffer.getvalue()
    assert "Security posture" in text and "Priority list" in text
    assert "CVE-2021-33044" in text and "How to isolate" in text

"""A scan of the lab's firmware variants says which devices were not checked, and its CSV's
``kev`` agrees with the CVEs it lists (a municipal analyst's findings).

Without credentials the lab's Dahua camera shows no model: the Dahua advisories, all listed
by model (CVE-2021-33044 among them, on CISA KEV), could not be checked. It was reported as
"Dahua: 0 vulnerable" and counted nowhere; the Hikvision camera listed
``CVE-2017-7921(undetermined)`` (on KEV) with ``kev`` false. With the lab account the model is
read and the CVE is found.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterator

import pytest
from helpers import TEST_LIMITS
from posture_devices import POSTURE_DEVICES
from rich.console import Console

from provscan.credentials import parse_credentials
from provscan.lab.responders.http import reset_lockouts
from provscan.lab.server import Lab
from provscan.model import Device, ScanResult
from provscan.pipeline import run_scan
from provscan.posture.assess import MODEL_UNKNOWN_NOTE
from provscan.report.formats import render_csv, render_table
from provscan.targets import build_targets

IDS = ("hik-fw-7921-vulnerable", "dahua-fw-33044-vulnerable")
ADDRESS = {d.id: d.address for d in POSTURE_DEVICES if d.id in IDS}
PORTS = sorted({s.port for d in POSTURE_DEVICES if d.id in IDS for s in d.services})
CREDENTIALS = {"default": {"username": "admin", "password": "lab-Passw0rd"}}


@pytest.fixture(scope="module")
def scans(posture_lab: Lab) -> Iterator[dict[str, ScanResult]]:
    assert set(ADDRESS) == set(IDS)
    addresses = sorted(ADDRESS.values())
    results: dict[str, ScanResult] = {}
    for name, credentials in (("plain", None), ("credentials", CREDENTIALS)):
        reset_lockouts()
        options = {"credentials": parse_credentials(credentials)} if credentials else {}
        results[name] = asyncio.run(
            run_scan(build_targets(addresses), addresses, PORTS, limits=TEST_LIMITS, **options)  # type: ignore[arg-type]
        )
    reset_lockouts()
    yield results


def _device(result: ScanResult, device_id: str) -> Device:
    return next(d for d in result.devices if d.ip == ADDRESS[device_id])


def _text(result: ScanResult) -> str:
    console = Console(width=200, record=True, file=io.StringIO())
    render_table(result, console, verbose=True)
    return " ".join(console.export_text().split())


def test_the_dahua_of_unknown_model_is_not_checked_not_0_vulnerable(
    scans: dict[str, ScanResult],
) -> None:
    # Given a plain scan (no credentials): the Dahua camera's model is not shown
    result = scans["plain"]
    dahua = _device(result, "dahua-fw-33044-vulnerable")
    assert dahua.manufacturer == "Dahua" and dahua.model is None
    # Then its note names the advisories not checked, the KEV one among them
    (note,) = [n for n in dahua.notes if n.startswith(MODEL_UNKNOWN_NOTE)]
    assert "CVE-2021-33044 (CISA KEV)" in note
    # and it is told to read the model and firmware
    assert any(
        r.action == "patch" and r.reason.startswith("model unknown") for r in dahua.remediation
    )
    # And the report says it was not checked, and counts it
    text = _text(result)
    ip = ADDRESS["dahua-fw-33044-vulnerable"]
    assert f"{ip} Dahua: vulnerabilities not checked: model unknown;" in text
    assert f"{ip} Dahua: 0 vulnerable" not in text
    assert "; 1 not checked (model unknown)" in text


def test_the_csv_kev_agrees_with_the_cves_listed(scans: dict[str, ScanResult]) -> None:
    rows = {row["ip"]: row for row in csv.DictReader(io.StringIO(render_csv(scans["plain"])))}
    hik = rows[ADDRESS["hik-fw-7921-vulnerable"]]
    assert "CVE-2017-7921(undetermined)" in hik["vulnerabilities"].split(";")
    assert hik["kev"] == "true"
    # the device not checked lists nothing, and says nothing is known exploited
    dahua = rows[ADDRESS["dahua-fw-33044-vulnerable"]]
    assert dahua["vulnerabilities"] == "" and dahua["kev"] == "false"


def test_with_the_model_read_the_cve_is_found(scans: dict[str, ScanResult]) -> None:
    result = scans["credentials"]
    dahua = _device(result, "dahua-fw-33044-vulnerable")
    assert dahua.model is not None
    assert not any(n.startswith(MODEL_UNKNOWN_NOTE) for n in dahua.notes)
    assert {v.cve: v.status for v in dahua.vulnerabilities}.get("CVE-2021-33044") == "vulnerable"
    rows = {row["ip"]: row for row in csv.DictReader(io.StringIO(render_csv(result)))}
    assert rows[dahua.ip]["kev"] == "true"
    assert "not checked (model unknown)" not in _text(result)

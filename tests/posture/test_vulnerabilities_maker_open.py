"""A device whose maker the evidence leaves open gets its advisories only as a condition.

Before: a camera read as "Hikvision or Dahua" (or a Hikvision reading below the verdict's
confidence) listed Hikvision's CVEs as plainly as an established Hikvision camera, while its
remediation already said "if made by Hikvision". Now each such vulnerability's note starts
with the condition and why the maker is open (the contract's existing ``note``; its status
still says where the firmware falls in the published range).

Real path: the knowledge's attribution-free device readings are judged by the bundled
policies, assessed by posture with the bundled knowledge, stored in a real SQLite store
(scan, inventory, cases) and read back as the JSON contract document. The 127.0.142.x
addresses are data: nothing is sent.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

from helpers import run_provscan

from provscan import __version__
from provscan.knowledge import load_knowledge
from provscan.knowledge.loader import load_posture_knowledge
from provscan.model import Device, MakerCandidate, ScanInfo, ScanResult
from provscan.policy.evaluate import judge
from provscan.posture.assess import assess_scan
from provscan.store.db import normalise_db_arg, open_store
from provscan.store.inventory import coverage_ranges

#: A DS-2CD2xx2F-I camera on firmware inside CVE-2017-7921's published range (KEV, CVSS 10).
MODEL, FIRMWARE, CVE = "DS-2CD2032F-I", "V5.3.0 build 150513", "CVE-2017-7921"
RANGE = "127.0.142.0/24"


def _camera(last: int, **fields: object) -> Device:
    base = Device(
        ip=f"127.0.142.{last}",
        open_ports=(80,),
        manufacturer="Hikvision",
        family="hikvision",
        model=MODEL,
        firmware=FIRMWARE,
        confidence=0.9,
    )
    return dataclasses.replace(base, **fields)  # type: ignore[arg-type]


def _stored(tmp_path: Path) -> tuple[str, dict[str, dict[str, object]]]:
    """The three readings judged, assessed and stored; the store's URL and the stored
    contract document's devices by address."""
    knowledge = load_knowledge()
    policies = knowledge.select_policies(None)
    readings = (
        _camera(1),  # the maker established
        _camera(2, alternatives=(MakerCandidate("Dahua", "dahua"),)),  # Hikvision or Dahua
        _camera(3, confidence=0.4),  # Hikvision, below the verdict's confidence
    )
    started = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    info = ScanInfo(
        "maker-open-1", "active", started, started, (RANGE,), (80,), ("us",), __version__
    )
    result = ScanResult(info, tuple(judge(device, policies) for device in readings))
    assessed = assess_scan(result, load_posture_knowledge())
    url = normalise_db_arg(str(tmp_path / "maker-open.db"))
    with open_store(url) as store:
        scan_id = store.save(assessed, coverage=coverage_ranges([RANGE]))
        document = store.load(scan_id).model_dump(mode="json")
    return url, {device["ip"]: device for device in document["devices"]}


def _about(device: dict[str, object]) -> dict[str, object]:
    (found,) = [v for v in device["vulnerabilities"] if v["cve"] == CVE]  # type: ignore[attr-defined]
    return found  # type: ignore[no-any-return]


def test_a_maker_left_open_makes_the_vulnerability_conditional(tmp_path: Path) -> None:
    _, devices = _stored(tmp_path)
    sure, either, doubtful = (devices[f"127.0.142.{last}"] for last in (1, 2, 3))
    assert (sure["verdict"], either["verdict"], doubtful["verdict"]) == (
        "restricted",
        "restricted",
        "review",
    )
    # The established camera: the advisory as a fact
    plain = _about(sure)
    assert plain["status"] == "vulnerable" and plain["kev"] is True
    assert not str(plain["note"]).startswith("only if")
    # The open makers: the same CVE, the same place in the range, but only if Hikvision
    # made it, and why that is not established
    for device, why in (
        (either, "the evidence allows Hikvision or Dahua and does not say which"),
        (doubtful, "confidence 0.40 is below 0.5"),
    ):
        conditional = _about(device)
        assert conditional["status"] == plain["status"]
        assert conditional["note"] == (
            f"only if made by Hikvision, which is not established ({why}); {plain['note']}"
        )
        # ... as the remediation for it says
        remediation: list[dict[str, str]] = device["remediation"]  # type: ignore[assignment]
        fixes = [r for r in remediation if CVE in r["reason"] and r["action"] == "patch"]
        assert fixes and all(r["reason"].startswith("if made by Hikvision: ") for r in fixes)
        (isolate,) = [r for r in remediation if r["action"] == "isolate"]
        assert f"{CVE} (if made by Hikvision)" in isolate["reason"]


def test_the_case_and_the_inventory_carry_the_condition(tmp_path: Path) -> None:
    url, devices = _stored(tmp_path)
    with open_store(url) as store:
        cases = {
            (next(d.ip for d in store.inventory() if d.device_id == c.device_id), c.subject): c
            for c in store.cases()
        }
    subject = f"vulnerability:{CVE}"
    # A priority-1 vulnerability (KEV) opens a case for the established reading only; for an
    # open maker the remediation is conditional ("condition": "made by Hikvision") and opens
    # none: the restricted case (127.0.142.2) or the review (127.0.142.3) tracks the device
    assert not cases["127.0.142.1", subject].reason.split(": ", 1)[1].startswith("if made by")
    for last in (2, 3):
        assert (f"127.0.142.{last}", subject) not in cases
        fixes = [
            r
            for r in devices[f"127.0.142.{last}"]["remediation"]  # type: ignore[attr-defined]
            if CVE in r["reason"] and r["action"] == "patch"
        ]
        assert fixes and all(r["condition"] == "made by Hikvision" for r in fixes)
    assert ("127.0.142.2", "restricted") in cases
    # `provscan inventory -f json` shows the stored notes as posture wrote them
    listed = run_provscan("inventory", "--db", url, "-f", "json")
    assert listed.returncode == 0, listed.stderr
    assert devices["127.0.142.2"]["vulnerabilities"]
    shown = json.loads(listed.stdout)["devices"]
    assert {d["ip"] for d in shown} == set(devices)

"""Advice that applies only if a maker the evidence leaves open made the device is a fact of
the contract (a remediation item's ``condition``), opens no case, and is not counted as the
device's vulnerability.

Before: a camera read as "Hikvision or Dahua", or a Hikvision reading below the verdict's
confidence, got "if made by Hikvision: affected by CVE-2017-7921 ..." as a priority-1 patch,
and the store opened a priority-1 ``vulnerability:CVE-2017-7921`` case for it as for an
established Hikvision camera; the scan table and CSV counted it vulnerable (KEV).

Real path: device readings judged by the bundled policies, assessed by posture with the
bundled knowledge, saved in a real SQLite store (scan, inventory, cases), read back as the
contract, rendered as the scan CSV and table and as the compliance report (HTML, Markdown,
XLSX). The 127.0.143.x addresses are data: nothing is sent.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openpyxl
from rich.console import Console

from provscan import __version__
from provscan.compliance.facts import gather
from provscan.compliance.report import render_facts
from provscan.knowledge import load_knowledge
from provscan.knowledge.loader import load_posture_knowledge
from provscan.model import Device, MakerCandidate, ScanInfo, ScanResult
from provscan.policy.evaluate import judge
from provscan.posture.assess import assess_scan
from provscan.report.contract import from_contract, to_contract, to_domain
from provscan.report.formats import render_csv, render_table
from provscan.store.cases import subjects
from provscan.store.db import normalise_db_arg, open_store
from provscan.store.inventory import coverage_ranges

#: A DS-2CD2xx2F-I camera on firmware inside CVE-2017-7921's published range (KEV, CVSS 10).
MODEL, FIRMWARE, CVE = "DS-2CD2032F-I", "V5.3.0 build 150513", "CVE-2017-7921"
RANGE = "127.0.143.0/24"
SURE, EITHER, DOUBTFUL = "127.0.143.1", "127.0.143.2", "127.0.143.3"
SUBJECT = f"vulnerability:{CVE}"


def _camera(ip: str, **fields: object) -> Device:
    base = Device(
        ip=ip,
        open_ports=(80,),
        manufacturer="Hikvision",
        family="hikvision",
        model=MODEL,
        firmware=FIRMWARE,
        serial=f"SER-{ip}",
        confidence=0.9,
    )
    return dataclasses.replace(base, **fields)  # type: ignore[arg-type]


def _assessed(scan_id: str, year: int) -> ScanResult:
    policies = load_knowledge().select_policies(None)
    readings = (
        _camera(SURE),  # the maker established
        _camera(EITHER, alternatives=(MakerCandidate("Dahua", "dahua"),)),  # Hikvision or Dahua
        _camera(DOUBTFUL, confidence=0.4),  # Hikvision, below the verdict's confidence
    )
    started = datetime(year, 6, 1, 9, 0, tzinfo=UTC)
    info = ScanInfo(scan_id, "active", started, started, (RANGE,), (80,), ("us",), __version__)
    result = ScanResult(info, tuple(judge(device, policies) for device in readings))
    return assess_scan(result, load_posture_knowledge())


def _by_ip(document: Any) -> dict[str, dict[str, Any]]:
    return {device["ip"]: device for device in document.model_dump(mode="json")["devices"]}


def _cases(store: Any) -> dict[tuple[str, str], Any]:
    ip = {d.device_id: d.ip for d in store.inventory()}
    return {(ip[c.device_id], c.subject): c for c in store.cases()}


def test_conditional_advice_is_carried_and_opens_no_case(tmp_path: Path) -> None:
    url = normalise_db_arg(str(tmp_path / "conditional.db"))
    with open_store(url) as store:
        scan_id = store.save(_assessed("cond-1", 2026), coverage=coverage_ranges([RANGE]))
        devices = _by_ip(store.load(scan_id))
        cases = _cases(store)
    verdicts = {ip: devices[ip]["verdict"] for ip in (SURE, EITHER, DOUBTFUL)}
    assert verdicts == {SURE: "restricted", EITHER: "restricted", DOUBTFUL: "review"}
    # The stored contract carries the condition as a fact, null for the device's own advice
    for ip, condition in (
        (SURE, None),
        (EITHER, "made by Hikvision"),
        (DOUBTFUL, "made by Hikvision"),
    ):
        fixes = [
            r for r in devices[ip]["remediation"] if CVE in r["reason"] and r["action"] == "patch"
        ]
        assert fixes, ip
        assert {r["condition"] for r in fixes} == {condition}, ip
        assert all(r["reason"].startswith("if made by ") == (condition is not None) for r in fixes)
        assert fixes[0]["priority"] == 1  # KEV: the advice is as urgent either way
    # Isolation is conditional only when every reason for it is: the doubtful camera's (its
    # CVEs only); the "Hikvision or Dahua" camera is restricted whichever made it
    isolate = {
        ip: [r for r in devices[ip]["remediation"] if r["action"] == "isolate"] for ip in devices
    }
    assert [r["condition"] for r in isolate[DOUBTFUL]] == ["made by Hikvision"]
    assert [r["condition"] for r in isolate[EITHER]] == [None]
    assert [r["condition"] for r in isolate[SURE]] == [None]
    # A case only for the camera whose maker is established; the restricted case tracks the
    # "Hikvision or Dahua" camera, the review the doubtful one (no case)
    assert cases[SURE, SUBJECT].status == "open"
    assert (EITHER, SUBJECT) not in cases and (DOUBTFUL, SUBJECT) not in cases
    assert (EITHER, "restricted") in cases
    assert not any(ip == DOUBTFUL for ip, _ in cases)


def test_a_case_opened_before_is_not_verified_while_the_cve_is_still_listed(
    tmp_path: Path,
) -> None:
    # Given a case opened for the doubtful camera's CVE by an older scan (its advice then
    # stored without a condition, as before this change)
    older = to_contract(_assessed("cond-old", 2025))
    devices = []
    for device in older.devices:
        if device.ip == DOUBTFUL:
            plain = [
                item.model_copy(
                    update={
                        "reason": item.reason.removeprefix("if made by Hikvision: "),
                        "condition": None,
                    }
                )
                for item in device.remediation
            ]
            device = device.model_copy(update={"remediation": plain})
        devices.append(device)
    url = normalise_db_arg(str(tmp_path / "before.db"))
    with open_store(url) as store:
        store.save_document(older.model_copy(update={"devices": devices}))
        case = _cases(store)[DOUBTFUL, SUBJECT]
        assert case.status == "open"
        # When a new scan reads the same firmware, the CVE now conditional on the maker
        store.save(_assessed("cond-new", 2026), coverage=coverage_ranges([RANGE]))
        # Then nothing was patched: the case is not verified (it stays for a person to close)
        assert store.case(case.id).status == "open"


def test_a_document_stored_before_1_7_is_read_from_its_words() -> None:
    # A 1.6 document: no condition; posture's words say it ("if made by ...")
    document = to_contract(_assessed("cond-16", 2026)).model_dump(mode="json")
    document["schema_version"] = "1.6"
    for device in document["devices"]:
        device.pop("alternatives")
        for item in device["remediation"]:
            item.pop("condition")
        for exposure in device["exposure"]:
            exposure.pop("port")
            exposure.pop("source")
    upgraded = from_contract(json.dumps(document)).model_dump(mode="json")
    by_ip = {device["ip"]: device for device in upgraded["devices"]}
    assert {item["condition"] for item in by_ip[DOUBTFUL]["remediation"]} == {None}
    assert SUBJECT in subjects(by_ip[SURE])
    assert SUBJECT not in subjects(by_ip[DOUBTFUL])
    assert SUBJECT not in subjects(by_ip[EITHER])


def test_the_scan_reports_count_only_the_device_s_own_vulnerabilities() -> None:
    result = _assessed("cond-report", 2026)
    # Re-read from the contract, as a stored scan is rendered
    result = to_domain(from_contract(to_contract(result).model_dump_json()))
    rows = {row["ip"]: row for row in csv.DictReader(io.StringIO(render_csv(result)))}
    listed = {ip: row["vulnerabilities"].split(";") for ip, row in rows.items()}
    assert CVE in listed[SURE] and rows[SURE]["kev"] == "true"
    assert not any("if made by" in entry for entry in listed[SURE])
    for ip in (EITHER, DOUBTFUL):
        # the same CVEs, each marked with the condition; none known exploited on this device
        assert len(listed[ip]) == len(listed[SURE])
        assert f"{CVE}(if made by Hikvision)" in listed[ip]
        assert all(entry.endswith("if made by Hikvision)") for entry in listed[ip])
        assert rows[ip]["kev"] == "false"
    console = Console(width=160, record=True, file=io.StringIO())
    render_table(result, console, verbose=True)
    text = " ".join(console.export_text().split())
    # One device vulnerable (the established camera); the two others only if Hikvision made
    # them, counted apart and marked where their CVEs are listed
    assert f"Security posture: 1 device vulnerable ({CVE} KEV" in text
    assert "; 2 vulnerable only if made by Hikvision (maker not established)" in text
    by_ip = {device.ip: device for device in result.devices}
    own = [v for v in by_ip[SURE].vulnerabilities if v.status == "vulnerable"]
    kev = sum(v.kev for v in own)
    assert f"{SURE} Hikvision {MODEL}: {len(own)} vulnerable ({kev} known exploited)" in text
    for ip in (EITHER, DOUBTFUL):
        placed = sum(v.status != "undetermined" for v in by_ip[ip].vulnerabilities)
        assert f"{ip} Hikvision {MODEL}: 0 vulnerable; {placed} only if made by Hikvision" in text
        assert f"{placed} if Hikvision" in text
    assert f"{CVE} vulnerable only if made by Hikvision (CVSS" in text
    assert "n if X: only if made by X, which the evidence does not establish" in text


def test_the_compliance_report_shows_the_advice_under_to_review(tmp_path: Path) -> None:
    url = normalise_db_arg(str(tmp_path / "report.db"))
    now = datetime(2026, 6, 2, tzinfo=UTC)
    with open_store(url) as store:
        store.save(_assessed("cond-compliance", 2026), coverage=coverage_ranges([RANGE]))
        facts = gather(store, now=now)
        html = render_facts(facts, "html").decode("utf-8")
        markdown = render_facts(facts, "md").decode("utf-8")
        workbook = openpyxl.load_workbook(io.BytesIO(render_facts(facts, "xlsx")))
    # Priority 1: only the established camera's case; the doubtful one is to review, with
    # the advice that applies if Hikvision made it
    assert {row.ip for row in facts.priority if row.priority == 1} == {SURE}
    (review,) = facts.review
    assert review.ip == DOUBTFUL
    assert review.if_made_by and review.if_made_by[0].startswith(
        f"priority 1: if made by Hikvision: affected by {CVE}"
    )
    assert 'class="if-made-by"' in html and f"if made by Hikvision: affected by {CVE}" in html
    assert (
        f"- Advice if that maker is confirmed (no case opened): {review.if_made_by[0]}" in markdown
    )
    sheet = workbook["To review"]
    header = [cell.value for cell in sheet[1]]
    row = [cell.value for cell in sheet[2]]
    assert row[header.index("advice_if_maker_confirmed")].startswith(
        "priority 1: if made by Hikvision"
    )

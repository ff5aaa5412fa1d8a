"""The CSV's ``kev`` agrees with the CVEs it lists, and a device whose advisories listed by model
were not checked (model unknown) is never reported as "0 vulnerable".

A municipal analyst's scan of the lab showed ``127.77.12.10`` with
``CVE-2017-7921(undetermined)`` (on CISA KEV) and ``kev`` false, and a Dahua camera of unknown
model (vulnerable to CVE-2021-33044 in fact) as "0 vulnerable", counted nowhere.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import UTC, datetime

from provscan.knowledge.loader import load_posture_knowledge
from provscan.model import Device, ScanInfo, ScanResult, Vulnerability
from provscan.posture.assess import MODEL_UNKNOWN_NOTE, assess_device, model_unchecked
from provscan.report.formats import (
    _posture_overview,
    _posture_summary,
    _vulnerability_cell,
    _vulns_legend,
    render_csv,
)


def _vulnerability(cve: str, status: str, kev: bool) -> Vulnerability:
    return Vulnerability(
        cve=cve,
        cvss=9.8,
        severity="critical",
        kev=kev,
        fixed_in="2.0",
        source="https://example.invalid/advisory",
        status=status,
    )


BASE = Device(ip="127.0.0.10", open_ports=(80,), manufacturer="Reolink", confidence=0.9)
UNPLACED_KEV = dataclasses.replace(
    BASE,
    ip="127.0.0.12",
    vulnerabilities=(
        _vulnerability("CVE-2021-0001", "undetermined", kev=True),
        _vulnerability("CVE-2021-0002", "undetermined", kev=False),
    ),
)
UNCHECKED = dataclasses.replace(
    BASE, ip="127.0.0.11", notes=(f"{MODEL_UNKNOWN_NOTE}: CVE-2021-0003 (CISA KEV)",)
)


def _csv_rows(*devices: Device) -> dict[str, dict[str, str]]:
    now = datetime(2026, 12, 5, tzinfo=UTC)
    info = ScanInfo(
        scan_id="s",
        kind="active",
        started_at=now,
        finished_at=now,
        targets=("127.0.0.0/24",),
        ports=(80,),
        policies=(),
        tool_version="test",
    )
    result = ScanResult(info=info, devices=devices)
    return {row["ip"]: row for row in csv.DictReader(io.StringIO(render_csv(result)))}


def test_kev_is_true_when_a_listed_cve_is_on_kev_whatever_its_status() -> None:
    rows = _csv_rows(UNPLACED_KEV, BASE)
    assert rows[UNPLACED_KEV.ip]["vulnerabilities"] == (
        "CVE-2021-0001(undetermined);CVE-2021-0002(undetermined)"
    )
    assert rows[UNPLACED_KEV.ip]["kev"] == "true"
    assert rows[BASE.ip]["kev"] == "false"
    not_on_kev = dataclasses.replace(
        BASE, vulnerabilities=(_vulnerability("CVE-2021-0002", "vulnerable", kev=False),)
    )
    assert _csv_rows(not_on_kev)[BASE.ip]["kev"] == "false"


def test_the_table_and_the_posture_line_show_the_kev_of_undetermined_cves() -> None:
    # The same CVEs the CSV's kev is true for are marked KEV in the table
    assert _vulnerability_cell(UNPLACED_KEV).plain == "?2 (1 KEV)"
    summary = _posture_summary(UNPLACED_KEV)
    assert summary.startswith("0 vulnerable; 2 undetermined (1 known exploited);")


def test_a_device_not_checked_is_never_0_vulnerable() -> None:
    assert model_unchecked(UNCHECKED) and not model_unchecked(BASE)
    summary = _posture_summary(UNCHECKED)
    assert summary.startswith("vulnerabilities not checked: model unknown;")
    assert "0 vulnerable" not in summary
    assert _vulnerability_cell(UNCHECKED).plain == "?"
    assert _vulnerability_cell(BASE).plain == "-"
    legend = _vulns_legend([UNCHECKED])
    assert legend is not None and "? alone: not checked (model unknown)" in legend
    # with CVEs of its own listed, it says the others were not checked
    both = dataclasses.replace(UNPLACED_KEV, notes=UNCHECKED.notes)
    assert "those listed by model not checked: model unknown" in _posture_summary(both)


def test_the_overview_counts_the_devices_not_checked() -> None:
    line = _posture_overview(
        [UNPLACED_KEV, UNCHECKED, dataclasses.replace(UNCHECKED, ip="127.0.0.13")]
    )
    assert line.startswith("0 devices vulnerable; 1 with CVEs to check (firmware not placed); ")
    assert "; 2 not checked (model unknown)" in line
    assert "not checked" not in _posture_overview([UNPLACED_KEV, BASE])


# --- posture: which devices are not checked, and what to do about them -----------------------

KNOWLEDGE = load_posture_knowledge()
DAHUA = Device(ip="127.0.0.20", open_ports=(80, 37777), manufacturer="Dahua", confidence=0.99)


def test_a_dahua_without_model_is_not_checked_and_told_to_read_its_model() -> None:
    device = assess_device(DAHUA, KNOWLEDGE)
    assert device.vulnerabilities == ()
    (note,) = [n for n in device.notes if n.startswith(MODEL_UNKNOWN_NOTE)]
    # the note names the advisories listed by model, those on KEV marked
    assert "CVE-2021-33044 (CISA KEV)" in note
    assert model_unchecked(device)
    (item,) = [r for r in device.remediation if r.reason.startswith("model unknown")]
    # two of those advisories are on CISA KEV: reading the model comes before hygiene (was 4)
    assert item.action == "patch" and item.priority == 2 and item.condition is None
    assert "listing Dahua models could not be checked" in item.reason
    assert "on CISA KEV" in item.reason
    assert item.detail == KNOWLEDGE.remediation.verify_firmware
    assert _posture_summary(device).startswith("vulnerabilities not checked: model unknown")


def test_a_known_model_or_a_maker_without_advisories_is_checked() -> None:
    # With its model the advisories are matched: no "not checked"
    modelled = assess_device(dataclasses.replace(DAHUA, model="IPC-HDW3449H-AS-PV"), KNOWLEDGE)
    assert not model_unchecked(modelled)
    assert "CVE-2021-33044" in {v.cve for v in modelled.vulnerabilities}
    assert not any(r.reason.startswith("model unknown") for r in modelled.remediation)
    # A maker none of whose advisories lists models has nothing left unchecked
    other = assess_device(dataclasses.replace(DAHUA, manufacturer="Huawei"), KNOWLEDGE)
    assert not model_unchecked(other)
    assert not any(r.reason.startswith("model unknown") for r in other.remediation)


def test_advice_for_a_maker_not_established_is_conditional() -> None:
    doubtful = assess_device(dataclasses.replace(DAHUA, confidence=0.4), KNOWLEDGE)
    (item,) = [r for r in doubtful.remediation if "model unknown" in r.reason]
    assert item.condition == "made by Dahua"
    assert item.reason.startswith("if made by Dahua: model unknown")

"""Ubiquiti's KEV entries and Uniview's CVEs (issue 12.4), judged by the posture stage from
the bundled data for devices as a scan would report them (maker, model, firmware)."""

from __future__ import annotations

import json

import pytest

from provscan.knowledge.base import BUNDLED_DATA_DIR
from provscan.knowledge.kev import KevCatalog, apply_catalog
from provscan.knowledge.loader import load_posture_knowledge
from provscan.model import Device
from provscan.posture.assess import PostureOptions, end_of_life, match_vulnerabilities

KNOWLEDGE = load_posture_knowledge()
ENTRIES = {entry.cve: entry for entry in KNOWLEDGE.vulnerabilities}
UBIQUITI_KEV = {"CVE-2010-5330", "CVE-2026-34908", "CVE-2026-34909", "CVE-2026-34910"}
UNIVIEW = {"CVE-2023-0773", "CVE-2021-45039", "CVE-2024-0778"}


def _statuses(maker: str, model: str | None, firmware: str | None) -> dict[str, str]:
    device = Device(ip="192.0.2.50", manufacturer=maker, brand=maker, model=model)
    found = match_vulnerabilities(device, KNOWLEDGE.vulnerabilities, firmware)
    return {v.cve: v.status for v in found}


def test_every_ubiquiti_kev_entry_is_bundled_with_its_kev_dates() -> None:
    assert {cve for cve, e in ENTRIES.items() if "Ubiquiti" in e.vendors} == UBIQUITI_KEV
    assert all(ENTRIES[cve].kev.listed for cve in UBIQUITI_KEV)
    assert ENTRIES["CVE-2010-5330"].kev.date_added == "2022-04-15"
    assert ENTRIES["CVE-2010-5330"].kev.due_date == "2022-05-06"
    for cve in ("CVE-2026-34908", "CVE-2026-34909", "CVE-2026-34910"):
        assert (ENTRIES[cve].kev.date_added, ENTRIES[cve].kev.due_date) == (
            "2026-06-23",
            "2026-06-26",
        )
        assert ENTRIES[cve].cvss.score == 10.0


def test_uniview_cves_are_bundled_and_none_is_kev_listed() -> None:
    assert {cve for cve, e in ENTRIES.items() if "Uniview" in e.vendors} == UNIVIEW
    assert not any(ENTRIES[cve].kev.listed for cve in UNIVIEW)


@pytest.mark.parametrize(
    ("model", "firmware", "expected"),
    [
        # Security Advisory Bulletin 064: most consoles fixed in UniFi OS 5.1.12
        ("UDM-Pro", "5.1.11", "vulnerable"),
        ("UCG-Max", "4.3.6", "vulnerable"),
        ("UDM-Pro", "5.1.12", None),
        # UDM-Beast was fixed one release earlier, the UNAS line two
        ("UDM-Beast", "5.1.11", None),
        ("UNAS-Pro", "5.1.9", "vulnerable"),
        ("UNAS-Pro", "5.1.10", None),
        ("UniFi OS Server", "5.0.7", "vulnerable"),
        ("UniFi OS Server", "5.0.8", None),
        # A model the bulletin does not name, and a console without firmware
        ("U6-Pro", "6.6.77", None),
        ("UDM-Pro", None, "undetermined"),
    ],
)
def test_unifi_os_verdicts_follow_the_bulletin(
    model: str, firmware: str | None, expected: str | None
) -> None:
    statuses = _statuses("Ubiquiti", model, firmware)
    for cve in ("CVE-2026-34908", "CVE-2026-34909", "CVE-2026-34910"):
        assert statuses.get(cve) == expected, (cve, statuses)


@pytest.mark.parametrize(
    ("firmware", "expected"),
    [
        ("v4.0.0", "likely"),  # before the 802.11 ISP fix
        ("XM.v5.3.4", "likely"),  # airMAX ISP line before 5.3.5
        ("XM.v5.3.5", None),  # the airMAX fix
        ("v5.4.4", "likely"),  # AirSync line before 5.4.5
        ("XW.v6.3.2", None),  # later firmware
        ("XM.v5.5.10.24241.141001.1649", None),  # a build string not compared
    ],
)
def test_airos_ranges_are_the_nvd_ranges(firmware: str, expected: str | None) -> None:
    assert _statuses("Ubiquiti", "NanoStation M5", firmware).get("CVE-2010-5330") == expected


@pytest.mark.parametrize(
    ("model", "firmware", "expected"),
    [
        ("IPC322LB-SF28-A", "DIPC-B1216.5.7.230109", "vulnerable"),  # the last affected build
        ("IPC322LB-SF28-A", "DIPC-B1216.5.8.230301", None),  # a later build of that baseline
        ("IPC322LB-SF28-A", "CIPC-B2303.2.8.230105", "vulnerable"),
        ("IPC322LB-SF28-A", "DIPC-B1229.1.68.230301", None),
        ("IPC322LB-SF28-A", None, "undetermined"),
        ("IPC2124SR3-APF40", "DIPC-B1216.5.7.230109", None),  # a model the record does not name
    ],
)
def test_uniview_cve_2023_0773_per_firmware_baseline(
    model: str, firmware: str | None, expected: str | None
) -> None:
    assert _statuses("Uniview", model, firmware).get("CVE-2023-0773") == expected


def test_uniview_models_of_cve_2021_45039_are_undetermined_without_published_versions() -> None:
    statuses = _statuses("Uniview", "IPC322LB-SF28-A", "DIPC-B1216.5.8.230301")
    assert statuses["CVE-2021-45039"] == "undetermined"
    assert "CVE-2021-45039" not in _statuses("Uniview", "NVR301-04-P4", "B3612.1.21.220408")


def test_the_end_of_life_uniview_recorder_is_affected_and_end_of_life() -> None:
    device = Device(ip="192.0.2.51", manufacturer="Uniview", brand="Uniview", model="ISC2500-S")
    assert _statuses("Uniview", "ISC2500-S", "20210930") == {"CVE-2024-0778": "vulnerable"}
    found = end_of_life(device, KNOWLEDGE.end_of_life, PostureOptions())
    assert [entry.id for entry in found] == ["uniview-isc-2500-s-eol"]


def test_kev_import_keeps_the_ubiquiti_flags_it_finds_and_touches_nothing_else() -> None:
    # A catalog that lists the four Ubiquiti CVEs as the bundled data has them changes nothing
    # but the checked dates (the one place kev import may write).
    text = (BUNDLED_DATA_DIR / "vulnerabilities.yaml").read_text(encoding="utf-8")
    feed = {
        "catalogVersion": "2026.08.07",
        "dateReleased": "2026-08-07T00:00:00.000Z",
        "count": 4,
        "vulnerabilities": [
            {
                "cveID": cve,
                "dateAdded": ENTRIES[cve].kev.date_added,
                "dueDate": ENTRIES[cve].kev.due_date,
                "vendorProject": "Ubiquiti",
                "product": "UniFi OS" if cve.startswith("CVE-2026") else "AirOS",
                "vulnerabilityName": f"Ubiquiti {cve}",
                "shortDescription": "-",
                "requiredAction": "Apply mitigations per vendor instructions.",
            }
            for cve in sorted(UBIQUITI_KEV)
        ],
    }
    catalog = KevCatalog.model_validate(json.loads(json.dumps(feed)))
    new_text, changes, listed, _kept = apply_catalog(text, catalog)
    assert set(listed) == UBIQUITI_KEV
    for change in changes:
        differing = {k for k in change.after if change.after[k] != change.before.get(k)}
        assert differing <= {"checked"}, change
    # every edit stays inside its own entry's kev mapping: the file keeps its lines
    assert len(new_text.splitlines()) == len(text.splitlines())

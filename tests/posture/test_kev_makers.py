"""CVE and end-of-life data of the KEV-listed camera, recorder and router makers (issue 12.4).

Each verdict is computed by the posture stage from the bundled data for a device as a scan
would report it (maker, model, firmware): inside a published range, at the first fixed
version, on an approximate or unpublished range, and on a model the entry does not list.
"""

from __future__ import annotations

import pytest

from provscan.knowledge.loader import load_knowledge, load_posture_knowledge
from provscan.model import Device
from provscan.posture.assess import assess_device, match_vulnerabilities

KNOWLEDGE = load_posture_knowledge()
ISSUE_CVES = {
    "CVE-2025-31701",
    "CVE-2019-11001",
    "CVE-2021-40407",
    "CVE-2024-6047",
    "CVE-2024-11120",
    "CVE-2023-52163",
    "CVE-2025-1316",
    "CVE-2022-23227",
    "CVE-2018-14933",
    "CVE-2024-8956",
    "CVE-2024-8957",
    "CVE-2020-25078",
    "CVE-2020-25079",
    "CVE-2022-40799",
    "CVE-2023-33538",
    "CVE-2020-24363",
    "CVE-2025-9377",
    "CVE-2023-50224",
    "CVE-2021-23847",
    "CVE-2023-21413",
    "CVE-2023-5747",
}


def _statuses(maker: str, model: str | None, firmware: str | None) -> dict[str, str]:
    device = Device(ip="10.0.0.5", confidence=0.9, manufacturer=maker, model=model)
    return {
        v.cve: v.status for v in match_vulnerabilities(device, KNOWLEDGE.vulnerabilities, firmware)
    }


def test_the_issue_cves_are_bundled_with_kev_dates() -> None:
    entries = {entry.cve: entry for entry in KNOWLEDGE.vulnerabilities}
    assert set(entries) >= ISSUE_CVES
    listed = {cve for cve in ISSUE_CVES if entries[cve].kev.listed}
    # The KEV entries the issue names are listed; Dahua's companion CVE and the Bosch, Axis
    # and Hanwha ones are not in KEV.
    assert listed == ISSUE_CVES - {
        "CVE-2025-31701",
        "CVE-2021-23847",
        "CVE-2023-21413",
        "CVE-2023-5747",
    }
    assert entries["CVE-2024-8956"].kev.date_added == "2024-11-04"
    assert entries["CVE-2025-1316"].kev.date_added == "2025-03-19"


def test_every_maker_named_is_in_the_vocabulary() -> None:
    vendors = load_knowledge().vendors
    for entry in KNOWLEDGE.vulnerabilities:
        assert set(entry.vendors) <= set(vendors), entry.cve
    for entry in KNOWLEDGE.end_of_life:
        assert set(entry.vendors) <= set(vendors), entry.id


@pytest.mark.parametrize(
    ("maker", "model", "firmware", "expected"),
    [
        # PTZOptics: "before 6.3.40" - a real range with a fixed version.
        ("PTZOptics", "PT30X-NDI", "6.3.34", {"CVE-2024-8956": "vulnerable"}),
        ("PTZOptics", "PT30X-SDI", "6.3.40", {"CVE-2024-8956": None, "CVE-2024-8957": None}),
        ("PTZOptics", "PT30X-NDI", None, {"CVE-2024-8956": "undetermined"}),
        # Bosch: by firmware line (7.70 / 7.72 / 7.80 before B128).
        ("Bosch", "NDE-5503-AL", "7.72.0108", {"CVE-2021-23847": "vulnerable"}),
        ("Bosch", "NDE-5503-AL", "7.80.0128", {"CVE-2021-23847": None}),
        ("Bosch", "NDE-5503-AL", "7.61.0021", {"CVE-2021-23847": None}),
        # End-of-life products: every firmware.
        ("GeoVision", "GV-VS12", "1.10", {"CVE-2024-11120": "vulnerable"}),
        ("Edimax", "IC-7100", "2.02", {"CVE-2025-1316": "vulnerable"}),
        ("Edimax", "IC-3140W", "3.11", {"CVE-2025-1316": None}),
        # Only the tested version is named: "likely" at and below it, nothing above.
        ("Reolink", "RLC-410W", "v3.0.0.136_20121102", {"CVE-2021-40407": "likely"}),
        ("Reolink", "RLC-410W", "v3.0.0.2356_23062000", {"CVE-2021-40407": None}),
        ("Digiever", "DS-2105 Pro", "3.1.0.71-11", {"CVE-2023-52163": "likely"}),
        # No firmware range published: never more than "undetermined".
        ("TP-Link", "TL-WR841N", "3.16.9 Build 150310", {"CVE-2023-33538": "undetermined"}),
        ("NUUO", "NVRmini", "2.0.0", {"CVE-2018-14933": "undetermined"}),
        # Ranges that cannot tell the hardware version or the hotfix apart: "likely".
        (
            "TP-Link",
            "TL-WR841N",
            "3.16.9 Build 150310",
            {"CVE-2025-9377": "likely", "CVE-2023-50224": "likely"},
        ),
        ("TP-Link", "TL-WR841N", "3.16.9 Build 241108", {"CVE-2025-9377": None}),
        ("D-Link", "DCS-2530L", "1.06.01", {"CVE-2020-25079": "likely"}),
        ("D-Link", "DCS-2670L", "v2.02", {"CVE-2020-25078": "vulnerable"}),
        ("D-Link", "DNR-322L", "2.60B15", {"CVE-2022-40799": "likely"}),
        ("NUUO", "NVRmini 2", "03.11.0000.0016", {"CVE-2022-23227": "likely"}),
        ("NUUO", "NVRmini 2", "03.11.0000.0016", {"CVE-2018-14933": None}),
        # The makers now read with credentials: Axis by AXIS OS track, Hanwha by model.
        ("Axis", "P3225-LV Mk II", "10.12.165", {"CVE-2023-21413": "likely"}),
        ("Axis", "P3225-LV Mk II", "9.80.1", {"CVE-2023-21413": None}),
        ("Hanwha Vision", "PNV-A6081R", "2.21.02_20230512", {"CVE-2023-5747": "vulnerable"}),
        ("Hanwha Vision", "PNV-A6081R", "2.21.03_20231110", {"CVE-2023-5747": None}),
        ("Hanwha Vision", "XNV-8080R", "2.21.02_20230512", {"CVE-2023-5747": None}),
        # Dahua's companion CVE: same lines as CVE-2025-31700, the split not read: "likely".
        (
            "Dahua",
            "IPC-HFW2431S",
            "2.800.0000000.28.R.250101",
            {"CVE-2025-31700": "vulnerable", "CVE-2025-31701": "likely"},
        ),
    ],
)
def test_verdicts_follow_the_published_ranges(
    maker: str, model: str, firmware: str | None, expected: dict[str, str | None]
) -> None:
    found = _statuses(maker, model, firmware)
    assert {cve: found.get(cve) for cve in expected} == expected


def test_an_end_of_life_product_gets_a_replace_item_that_says_when_it_was_stated() -> None:
    device = Device(
        ip="10.0.0.6", confidence=0.9, manufacturer="Edimax", model="IC-7100", firmware="2.02"
    )
    assessed = assess_device(device, KNOWLEDGE)
    replace = [r for r in assessed.remediation if r.action == "replace"]
    assert any(r.reason == "end of life (stated 2025-03-04)" for r in replace), replace
    patch_or_replace = [
        r for r in assessed.remediation if r.reason.startswith("affected by CVE-2025-1316")
    ]
    # no fixed firmware exists: the plan says so instead of suggesting a patch
    assert patch_or_replace and all(r.action == "replace" for r in patch_or_replace)
    assert all(r.priority == 1 for r in patch_or_replace)  # KEV-listed: most urgent
    assert any(r.action == "isolate" and "CVE-2025-1316" in r.reason for r in assessed.remediation)


def test_end_of_life_needs_a_named_model_and_skips_models_with_live_hardware_versions() -> None:
    # The TP-Link statement names discontinued models; a device without a model gets none,
    # and TL-WR841N (only some hardware versions are end of service) is left out on purpose.
    anonymous = assess_device(
        Device(ip="10.0.0.7", confidence=0.9, manufacturer="TP-Link"), KNOWLEDGE
    )
    assert not [r for r in anonymous.remediation if r.reason.startswith("end of life")]
    named = assess_device(
        Device(ip="10.0.0.7", confidence=0.9, manufacturer="TP-Link", model="TL-WR940N"), KNOWLEDGE
    )
    assert [r for r in named.remediation if r.reason == "end of life (stated 2025-06-17)"]
    live = assess_device(
        Device(ip="10.0.0.7", confidence=0.9, manufacturer="TP-Link", model="TL-WR841N"), KNOWLEDGE
    )
    assert not [r for r in live.remediation if r.reason.startswith("end of life")]


@pytest.mark.parametrize(
    ("maker", "model", "reason"),
    [
        ("GeoVision", "GV-BX1500", "end of life (stated 2024-06-17)"),
        ("GeoVision", "GV-VS12", "end of life (stated 2024-11-15)"),
        ("Reolink", "RLC-410W", "end of life (stated 2024-12-18)"),
        ("D-Link", "DNR-322L", "end of life (stated 2025-08-05)"),
        ("NUUO", "NVRmini 2", "end of life (stated 2024-12-18)"),
        ("PTZOptics", "PT20X-NDI-G2", "end of life (stated 2024-11-04)"),
        ("Digiever", "DS-2105 Pro", "end of life (stated 2025-12-22)"),
    ],
)
def test_documented_ends_of_life_become_replace_items(maker: str, model: str, reason: str) -> None:
    assessed = assess_device(
        Device(ip="10.0.0.8", confidence=0.9, manufacturer=maker, model=model), KNOWLEDGE
    )
    assert [r for r in assessed.remediation if r.action == "replace" and r.reason == reason]
    # a newer model of the same maker is not touched by the statement
    other = assess_device(
        Device(ip="10.0.0.8", confidence=0.9, manufacturer=maker, model="X-9999"), KNOWLEDGE
    )
    assert not [r for r in other.remediation if r.reason.startswith("end of life")]

"""Screening verdicts never claim more than their evidence (issue 9, point 4).

- a product made by "Hikvision or Dahua (which one is not documented)" is restricted only
  when every candidate maker is restricted by the selected measures, and says which;
- building-system products (thermostats, HVAC, lighting, access control) are never
  attributed to a restricted maker by an accidental brand, relation or grammar match.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from provscan.screening.run import bundled_identifier
from provscan.screening.verdict import ScreenRow, judge_product

IDENTIFIER = bundled_identifier()
KNOWLEDGE = IDENTIFIER.knowledge
RESTRICTED_FAMILIES = {"hikvision", "dahua", "hytera", "huawei", "zte"}


def verdict(text: str, policies: list[str] | None = None, **cells: str) -> ScreenRow:
    return judge_product(IDENTIFIER.identify(text, **cells), KNOWLEDGE.select_policies(policies))


# --- "Hikvision or Dahua" ---------------------------------------------------------------------


def test_either_maker_under_a_policy_naming_only_one_is_review() -> None:
    # eu-ep names Hikvision only; the Performance series may be Dahua-made.
    row = verdict("Honeywell H4W4PER3", ["eu-ep"])
    assert row.makers == ["Hikvision", "Dahua"]
    assert row.status == "review" and row.restricted is None
    assert "Dahua" in row.reason and "eu-ep" in row.reason


def test_either_maker_restricted_when_every_candidate_is() -> None:
    # ca-qc names both Hikvision and Dahua, and the line is the one the relation names.
    row = verdict("Honeywell H4W4PER3", ["ca-qc"])
    assert row.status == "restricted" and row.restricted is True
    assert "Hikvision or Dahua" in row.reason
    assert {f.family for f in row.findings} == {"hikvision", "dahua"}


def test_either_maker_under_a_policy_naming_only_the_second_is_review() -> None:
    # Canada's federal ban names Hikvision, its telecom exclusion Huawei/ZTE: Dahua is clear.
    row = verdict("Honeywell H4W4PER3", ["ca"])
    assert row.status == "review" and row.restricted is None


def test_possible_relabel_is_never_restricted_even_when_every_candidate_is() -> None:
    # A 30-series dome: Honeywell's video numbering, but not the line the relation names.
    row = verdict("Honeywell HC30W45R3 30 series dome")
    assert row.relation == "possible_relabel"
    assert row.status == "review" and row.restricted is None


def test_a_single_established_maker_is_still_restricted() -> None:
    row = verdict("LTS CMIP7442W-28M")
    assert (row.maker, row.makers, row.status) == ("Hikvision", ["Hikvision"], "restricted")


# --- building-system products -------------------------------------------------------------------

BUILDING_PRODUCTS = [
    "Honeywell T6 Pro thermostat TH6220WF2006",
    "Honeywell Home T6 Pro Smart Thermostat, 24VAC, C-wire, Wi-Fi, TH6220WF2006",
    "Thermostat T6 Pro 3H/2C heat pump RedLINK 3.0",
    "Honeywell ML6161B2024 damper actuator",
    "Honeywell V5011N1040 valve",
    "Honeywell C7232A1008 CO2 sensor",
    "Honeywell Pro-Watch access controller PW6K1IC",
    "Honeywell Vista-21iP alarm panel",
    "Honeywell VAV controller BACnet",
    "Lighting controller DALI-2 64 ballast BACnet/IP",
    "Lutron Caseta PD-6WCL-WH dimmer",
    "LED troffer 2x4 40W 4000K 0-10V dimming",
    "LenelS2 LNL-X2220 intelligent access controller",
    "BACnet controller NVR-100",
    "Beverly Hills thermostat",
    "Swann thermostat",
    "Interlogix NetworX NX-8 alarm panel",
    "Intelbras router WRN 300",
    "Mills thermostat 24V",
]


@pytest.mark.parametrize("text", BUILDING_PRODUCTS)
def test_building_system_products_are_unknown_or_unrelated(text: str) -> None:
    row = verdict(text)
    assert row.status in ("unknown", "clear"), row.reason
    assert row.restricted is not True
    assert row.family not in RESTRICTED_FAMILIES, row.reason
    assert not set(row.makers) & {"Hikvision", "Dahua", "Hytera", "Huawei", "ZTE"}, row.reason
    assert not row.findings


def test_thermostat_by_brand_and_model_cells_is_not_hikvision() -> None:
    row = verdict("programmable thermostat", brand="Honeywell", model="TH6220WF2006")
    assert row.maker in (None, "Honeywell") and row.status in ("unknown", "clear"), row.reason
    assert "thermostat" in row.reason


def test_a_video_product_of_the_same_brand_is_still_reviewed() -> None:
    # The relation's scope is video: a Honeywell camera of an unidentified line stays review.
    for text in ("Honeywell equIP camera H3W2GR1", "Honeywell MAXPRO NVR"):
        row = verdict(text)
        assert row.status == "review" and row.restricted is None, (text, row.reason)


def test_a_brand_of_unknown_kind_keeps_its_possible_makers() -> None:
    row = verdict("Q-See 4-camera kit")
    assert row.status == "review" and row.maker == "Dahua"


def test_short_fuzzy_brand_needs_a_model_number_of_that_brand() -> None:
    # "RedLINK" (Honeywell's thermostat radio) is one edit from Reolink.
    assert verdict("RedLINK gateway THM6000R7001").maker is None
    # A typo next to the brand's own model number is still read.
    row = verdict("Dahau XVR5108HS-I3")
    assert (row.maker, row.status) == ("Dahua", "restricted")


@pytest.mark.parametrize("model", ["NVR-100", "DVR-204", "LNL-X2220", "LNL-4420"])
def test_generic_or_other_makers_numbers_match_no_camera_grammar(model: str) -> None:
    assert not IDENTIFIER.grammars.find([model])


def test_screening_a_building_list_flags_nothing(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    listing = tmp_path / "bms.csv"
    with listing.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Line item"])
        for text in BUILDING_PRODUCTS:
            writer.writerow([text])
    output = tmp_path / "out.json"
    result = cli("screen", str(listing), "--fail-on-restricted", "-o", str(output))
    assert result.exit_code == 0, result.output
    summary = json.loads(output.read_text(encoding="utf-8"))["summary"]
    assert summary["restricted"] == 0 and summary["review"] == 0

"""Hytera equipment with an IP interface, and the companies Hytera bought and sold (issue 11).

Rows are written for this test in the shapes product lists use; every number is one that a
grammar's public source names, and every look-alike is another maker's real numbering. The
corporate dates come from Hytera's own exchange notices (relations.yaml): Sepura was Hytera's
from 25 May 2017 to July 2022, Teltronic to July 2025; Norsat still is.
"""

from __future__ import annotations

import pytest

from provscan.attribution.attribute import Attributor
from provscan.attribution.mac import oui_owner, vendor_for_registry_name
from provscan.knowledge.grammars import load_grammar_knowledge
from provscan.model import AttemptStatus, Device, Observation, ProbeAttempt
from provscan.policy.evaluate import judge
from provscan.screening.run import bundled_identifier
from provscan.screening.verdict import ScreenRow, judge_product

IDENTIFIER = bundled_identifier()
KNOWLEDGE = IDENTIFIER.knowledge
POLICIES = KNOWLEDGE.select_policies(None)
GRAMMARS = load_grammar_knowledge()
ATTRIBUTOR = Attributor(KNOWLEDGE)


def screen(text: str = "", *, brand: str | None = None, model: str | None = None) -> ScreenRow:
    return judge_product(IDENTIFIER.identify(text, brand=brand, model=model), POLICIES)


@pytest.mark.parametrize(
    "text",
    ["TETRA portable PT580H Plus", "PT590 TETRA handheld", "PT560H", "Mobile radio MT680 Plus"],
)
def test_hytera_tetra_radios_without_a_maker_column(text: str) -> None:
    row = screen(text)
    assert row.maker == "Hytera" and row.restricted is True, row.reason
    assert IDENTIFIER.identify(text).grammar_id == "hytera.tetra"


@pytest.mark.parametrize("text", ["STP9000 TETRA portable", "SRG3900 mobile", "STP 8000"])
def test_sepura_numbers_are_a_review_for_the_years_hytera_owned_sepura(text: str) -> None:
    row = screen(text)
    assert row.brand == "Sepura" and row.maker == "Hytera", row.reason
    assert row.relation == "former_subsidiary"
    assert row.status == "review" and row.restricted is None, row.reason


LOOK_ALIKES = [
    "MTP3550",  # Motorola TETRA portable
    "MTM5400",  # Motorola TETRA mobile
    "TH1N",  # Airbus TETRA portable
    "TPH900",  # Airbus
    "PT-E550W label printer",  # Brother P-touch
    "SC20 LTE smart module",  # Quectel
    "MDT-400-46 thruster brake",  # an electro-hydraulic thruster
    "XPR 7550e",  # Motorola DMR
    "NX-3220",  # Kenwood
    "TP9400",  # Tait
    "IC-F52D",  # Icom
    "XL-200P",  # L3Harris
]


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_other_radio_makers_numbers_are_not_hytera(text: str) -> None:
    row = screen(text)
    assert row.maker != "Hytera" and row.restricted is not True, row.reason


def test_corporate_dates() -> None:
    assert KNOWLEDGE.family_of("Norsat") == "hytera"
    for brand, until in (
        ("Sepura", "2022-07"),
        ("Teltronic", "2025-07"),
        ("PowerTrunk", "2025-07"),
    ):
        assert KNOWLEDGE.family_of(brand) is None
        (relation,) = KNOWLEDGE.relations_for_brand(brand)
        assert (relation.maker, relation.relation) == ("Hytera", "former_subsidiary")
        assert (relation.since, relation.until) == ("2017-05-25", until)
        assert len(relation.sources) >= 2


@pytest.mark.parametrize(
    ("mac", "vendor"),
    [
        ("64:69:BC:00:00:01", "Hytera"),
        ("9C:06:6E:00:00:01", "Hytera"),
        ("00:1E:96:00:00:01", "Sepura"),
        ("00:04:18:00:00:01", "Teltronic"),
        ("00:01:D8:00:00:01", "Teltronics"),  # Teltronics, Inc. (US), not Teltronic
        ("54:02:37:00:00:01", None),  # Teltronic AG (CH): only the legal form differs
    ],
)
def test_registry_owners(mac: str, vendor: str | None) -> None:
    spellings = {name: [name, *v.aliases, *v.legal_names] for name, v in KNOWLEDGE.vendors.items()}
    registry = {o.registry_name: o.vendor for o in GRAMMARS.oui_owners}
    owner = oui_owner(mac)
    assert owner is not None
    assert vendor_for_registry_name(spellings, owner, registry) == vendor


def _device(*observations: Observation, mac: str | None = None) -> Device:
    attempt = ProbeAttempt("snmp", 161, AttemptStatus.OK, observations)
    return judge(ATTRIBUTOR.attribute("127.0.0.1", [161], [attempt], mac=mac).device, POLICIES)


def _oid(value: str) -> Observation:
    return Observation("snmp", 161, "snmp.sys_object_id", value)


@pytest.mark.parametrize(
    "oid", ["1.3.6.1.4.1.40297.1.2", "1.3.6.1.4.1.58597.1", "1.3.6.1.4.1.40560.1"]
)
def test_hytera_family_enterprise_numbers(oid: str) -> None:
    device = _device(_oid(oid))
    assert device.manufacturer in {"Hytera", "Norsat"} and device.restricted is True


def test_sepura_enterprise_number_names_the_brand_and_leaves_hytera_for_review() -> None:
    device = _device(_oid("1.3.6.1.4.1.46904.1"))
    assert device.brand == "Sepura" and device.manufacturer is None
    assert any("possibly made by Hytera" in note for note in device.notes)


def test_lwip_object_id_of_hytera_repeaters_names_no_maker() -> None:
    # Hytera's repeaters answer lwIP's stock number, as every lwIP agent does.
    assert _device(_oid("1.3.6.1.4.1.26381")).manufacturer is None


def test_a_look_alike_registrant_suggests_neither_teltronic_nor_hytera() -> None:
    # 'Teltronic AG' (Biberist, CH) differs from Hytera's former 'Teltronic S.A.U.' only by its
    # legal form: its MAC names no maker and leaves nothing to review.
    lookalike = _device(mac="54:02:37:12:34:56")
    assert lookalike.manufacturer is None and lookalike.brand is None
    assert not any("Hytera" in note or "Teltronic" in note for note in lookalike.notes)
    assert not lookalike.restricted
    teltronic = _device(mac="00:04:18:12:34:56")
    assert teltronic.brand == "Teltronic" or teltronic.manufacturer == "Teltronic"

"""Rows in the shapes of real purchase lists and BOMs (issue 11, point 7).

Every row here is written for this test (none is copied from a held-out list). Each states
the maker, the relation and whether the default policies restrict it, with and without a
manufacturer column.
"""

from __future__ import annotations

import pytest

from provscan.screening.run import bundled_identifier
from provscan.screening.verdict import ScreenRow, judge_product

IDENTIFIER = bundled_identifier()
POLICIES = IDENTIFIER.knowledge.select_policies(None)


def screen(text: str = "", *, brand: str | None = None, model: str | None = None) -> ScreenRow:
    return judge_product(IDENTIFIER.identify(text, brand=brand, model=model), POLICIES)


# (brand cell, model cell, description, maker, relation, restricted)
WITH_MANUFACTURER_COLUMN = [
    # the stated brand is never overridden by another maker's numbering
    ("Vivotek", "SD9367-EHL", "Outdoor PTZ speed dome 30x", "Vivotek", "unrelated", False),
    ("VIVOTEK", "SD9361-EHL", "", "Vivotek", "unrelated", False),
    ("Ubiquiti", "NBE-5AC-Gen2", "NanoBeam 5 GHz radio", "Ubiquiti", "unrelated", False),
    ("Kedacom", "IPC2250-HN", "2MP bullet camera", "Kedacom", "unrelated", False),
    ("Axis", "IPC-HFW2431S-S-S2", "", "Axis", "unrelated", False),
    ("Cisco", "S5720-28X-SI-AC", "", "Cisco", "unrelated", False),
    # ... unless a documented relation links them: then it is a relabel
    ("Honeywell", "IPC-HFW2431S-S-S2", "", "Dahua", "oem_relabel", True),
    ("Swann", "DS-2CD2143G0-I", "", "Hikvision", "oem_relabel", True),
    ("LTS", "CMIP7442W-28M", "turret", "Hikvision", "oem_relabel", True),
    # restricted makers' own lines
    ("Huawei", "S5720-28X-SI-AC", "24 port managed switch", "Huawei", "own_brand", True),
    ("HUAWEI", "MA5800-X7", "OLT chassis", "Huawei", "own_brand", True),
    ("ZTE", "F670L", "GPON ONT", "ZTE", "own_brand", True),
    ("Hytera", "RD985", "DMR repeater", "Hytera", "own_brand", True),
    ("Hikvision", "DS-2CD2143G0-I", "4MP dome 2.8mm", "Hikvision", "own_brand", True),
    ("Dahua", "NVR4104HS-P-4KS2", "", "Dahua", "own_brand", True),
    # sub-brands and common unrestricted makers
    # TP-Link (Tapo, VIGI) is on the Texas prohibited-technologies list since 2026 (issue 12),
    # which binds Texas state agencies, not a national government body (the default reading)
    ("Tapo", "C200", "pan/tilt home camera", "TP-Link", "own_brand", False),
    ("VIGI", "C340", "outdoor bullet", "TP-Link", "own_brand", False),
    ("Eufy", "T8210", "video doorbell", "Eufy", "unrelated", False),
    ("eufy", "EufyCam 2C", "", "Anker", "unrelated", False),
    ("Ring", "Stick Up Cam", "", "Ring", "unrelated", False),
    ("Google", "Nest Cam (battery)", "", "Google", "unrelated", False),
    ("D-Link", "DCS-8000LH", "", "D-Link", "unrelated", False),
    ("Grandstream", "GSC3610", "", "Grandstream", "unrelated", False),
    ("Juniper", "EX2300-24P", "", "Juniper", "unrelated", False),
    ("Aruba", "AP-515", "", "Aruba", "unrelated", False),
    ("Sunell", "SN-IPR57", "", "Sunell", "unrelated", False),
]


@pytest.mark.parametrize(
    ("brand", "model", "text", "maker", "relation", "restricted"), WITH_MANUFACTURER_COLUMN
)
def test_rows_with_a_manufacturer_column(
    brand: str, model: str, text: str, maker: str, relation: str, restricted: bool
) -> None:
    row = screen(text, brand=brand, model=model)
    assert (row.maker, row.relation) == (maker, relation), row.reason
    assert bool(row.restricted) is restricted, row.reason
    if not restricted:
        # a restricted maker's own numbering under a brand no relation links to it stays
        # the brand's, but is not cleared without a look (a wrong brand cell or number)
        wrong_cell = (brand, model) in STATED_BRAND_ON_A_RESTRICTED_MAKERS_NUMBER
        assert row.status == ("review" if wrong_cell else "clear"), row.reason


#: Rows above whose number follows a restricted maker's maker-specific numbering.
STATED_BRAND_ON_A_RESTRICTED_MAKERS_NUMBER = {
    ("Axis", "IPC-HFW2431S-S-S2"),
    ("Cisco", "S5720-28X-SI-AC"),
}


# (one free-text cell, maker, relation, restricted)
WITHOUT_MANUFACTURER_COLUMN = [
    # Huawei and ZTE network equipment from part numbers alone
    ("S5735-L24T4S-A1", "Huawei", "own_brand", True),
    ("S6720-30C-EI-24S 10GE switch", "Huawei", "own_brand", True),
    ("CE6881-48S6CQ data centre switch", "Huawei", "own_brand", True),
    ("AR6120-S enterprise router", "Huawei", "own_brand", True),
    ("NE40E-X8A", "Huawei", "own_brand", True),
    ("SmartAX MA5608T", "Huawei", "own_brand", True),
    ("EchoLife HG8245H", "Huawei", "own_brand", True),
    ("ONT EG8145V5", "Huawei", "own_brand", True),
    ("FusionServer 2288H V5 rack server", "Huawei", "own_brand", True),
    ("ZXHN F670L", "ZTE", "own_brand", True),
    ("ZXA10 C600 OLT", "ZTE", "own_brand", True),
    ("ZXR10 5250-28TC-H", "ZTE", "own_brand", True),
    ("HR1065 DMR repeater", "Hytera", "own_brand", True),
    # brackets and glued brands
    ("4MP dome camera (DS-2CD2143G0-I)", "Hikvision", "own_brand", True),
    ("Huawei-S5720-28X-SI-AC", "Huawei", "own_brand", True),
    ("Huawei_AR2220", "Huawei", "own_brand", True),
    ("DS-2CD2143G0-I-2.8mm", "Hikvision", "own_brand", True),
    ("IPC-HDW2431T-AS(2.8mm)", "Dahua", "own_brand", True),
    # a brand written before the number is stated; the other maker's numbering is a note
    ("Vivotek speed dome SD9387-EHL", "Vivotek", "unrelated", False),
    ("Kedacom IPC2250-HN bullet", "Kedacom", "unrelated", False),
    # look-alike numbers of other makers are not Huawei: the stated brand is the maker
    ("H3C S5130-28S-SI", "H3C", "unrelated", False),
    ("Dell S5248F-ON", "Dell", "unrelated", False),
    ("HP CE285A toner", "HP", "unrelated", False),
    # a mention after the number is not the product's brand
    ("DS-2CD2143G0-I with ring mount", "Hikvision", "own_brand", True),
    # vocabulary breadth
    ("Reolink RLC-810A", "Reolink", "unrelated", False),
    ("Tapo C310", "TP-Link", "own_brand", False),  # Texas 2026 list: binds state agencies
    ("Arlo Pro 4 VMC4050P", "Arlo", "unrelated", False),
    ("Wyze Cam v3", "Wyze", "unrelated", False),
    ("Blink Outdoor camera", "Blink", "unrelated", False),
    ("Uniview IPC322LB-SF28-A", "Uniview", "own_brand", False),  # Texas 2026 list: state agencies
    ("Hanwha XNV-8081Z", "Hanwha Vision", "unrelated", False),
    ("Bosch NDE-3502-AL", "Bosch", "unrelated", False),
    ("Milesight MS-C2964-PB", "Milesight", "unrelated", False),
    ("Foscam FI9900EP", "Foscam", "unrelated", False),
]


@pytest.mark.parametrize(("text", "maker", "relation", "restricted"), WITHOUT_MANUFACTURER_COLUMN)
def test_rows_without_a_manufacturer_column(
    text: str, maker: str | None, relation: str, restricted: bool
) -> None:
    row = screen(text)
    assert (row.maker, row.relation) == (maker, relation), row.reason
    assert bool(row.restricted) is restricted, row.reason


def test_the_overridden_numbering_is_said() -> None:
    row = screen("", brand="Vivotek", model="SD9367-EHL")
    assert row.status == "clear"
    # Ubiquiti's NanoBeam is no Bosch order code (three digits after the dash): nothing to
    # override (a stated brand over another maker's number: test_screen_identify.py)
    row = screen("", brand="Ubiquiti", model="NBE-5AC-Gen2")
    assert "bosch.camera" not in row.reason and row.maker == "Ubiquiti", row.reason
    assert row.model == "NBE-5AC-Gen2" and row.status == "clear"


def test_a_relabeller_with_another_restricted_makers_number_is_review() -> None:
    # Honeywell relabels Hikvision and Dahua cameras; a Huawei switch number under Honeywell
    # has no documented relation, so the stated brand names the maker and a person confirms.
    row = screen("", brand="Honeywell", model="S5720-28X-SI-AC")
    assert row.maker == "Honeywell"
    assert row.status == "review" and row.restricted is None, row.reason
    assert "huawei.campus_switch" in row.reason
    # a number of medium, inferred grammar is only a note
    row = screen("", brand="Honeywell", model="RD985")
    assert row.status == "clear" and "hytera.repeater" in row.reason


def test_a_typo_read_brand_does_not_clear_a_restricted_number() -> None:
    # "Vivotec" is read as Vivotek only approximately: too unsure to override Hikvision.
    row = screen("", brand="Vivotec", model="DS-2CD2143G0-I")
    assert row.maker == "Hikvision" and row.restricted


def test_a_label_brand_without_maker_does_not_hide_a_restricted_number() -> None:
    # LaView's maker is not recorded: the numbering still tells who made the product.
    row = screen("", brand="LaView", model="DS-2CD2143G0-I")
    assert row.maker == "Hikvision" and row.restricted
    assert row.relation == "probable_relabel"


def test_zte_short_numbers_need_the_brand() -> None:
    assert screen("F660").maker is None
    assert screen("ZTE F660").maker == "ZTE"

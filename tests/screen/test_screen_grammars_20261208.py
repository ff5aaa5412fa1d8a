"""Dahua and Hikvision lines read from part numbers alone (issue 11, 2026-12-08).

Positives are numbers the grammars' public sources name (Dahua's price list in
Epochex/Dahua_Pricing_Auto data/SysPrice.csv, a Dahua distributor's access-control notes
and catalogue; Hikvision's download centre as archived in JoeyGE0/hikvision-fw-archive
devices.json, shop and integration data cited in model_grammars.yaml). Negatives are other
makers' numbers of the same shape. None is copied from a held-out list.
"""

from __future__ import annotations

import pytest

from provscan.knowledge.grammars import load_grammar_knowledge
from provscan.screening.run import bundled_identifier
from provscan.screening.verdict import ScreenRow, judge_product

IDENTIFIER = bundled_identifier()
POLICIES = IDENTIFIER.knowledge.select_policies(None)
GRAMMARS = load_grammar_knowledge()

NEW_GRAMMARS = (
    "dahua.turnstile",
    "dahua.parking_barrier",
    "dahua.intercom_kit",
    "hikvision.ds_1_keyboard",
    "hikvision.ds_3_network",
)
WIDENED = ("dahua.access", "hikvision.ds_2d_ptz", "hikvision.ds_2xs_solar")


def screen(text: str) -> ScreenRow:
    return judge_product(IDENTIFIER.identify(text), POLICIES)


# (cell, maker, grammar)
RECOGNISED = [
    # distributor notes 'ASGG520T、ASGY510C-L、ASGB810X-L'; catalogue 'ASGQ520C Full Height'
    ("ASGB810X-L swing barrier", "Dahua", "dahua.turnstile"),
    ("ASGY510C-L", "Dahua", "dahua.turnstile"),
    ("ASGG520T", "Dahua", "dahua.turnstile"),
    ("ASGQ520C", "Dahua", "dahua.turnstile"),
    # price list and catalogue 'IPMECD-3012 Straight Arm Barrier'
    ("IPMECD-3012", "Dahua", "dahua.parking_barrier"),
    ("IPMECD-3011-LM1515-T09", "Dahua", "dahua.parking_barrier"),
    # 'Tested with Dahua KTP03'; price list KTP01(S)
    ("KTP03 intercom kit", "Dahua", "dahua.intercom_kit"),
    ("KTP01(S)", "Dahua", "dahua.intercom_kit"),
    # distributor notes 'ASR2101A-ME、ASR2102A'
    ("ASR2101A-ME", "Dahua", "dahua.access"),
    ("ASR2102A", "Dahua", "dahua.access"),
    # download centre and product tables: keyboards
    ("DS-1100KI(C)", "Hikvision", "hikvision.ds_1_keyboard"),
    ("DS-1005KI keyboard", "Hikvision", "hikvision.ds_1_keyboard"),
    # shop 'Hikvision DS-3WF02-5AC/D Wireless Bridge Kit'; routers, APs, switches
    ("DS-3WF02-5AC/D", "Hikvision", "hikvision.ds_3_network"),
    ("DS-3WR18X", "Hikvision", "hikvision.ds_3_network"),
    ("DS-3WAP622E-SI", "Hikvision", "hikvision.ds_3_network"),
    ("DS-3WG507G-SI", "Hikvision", "hikvision.ds_3_network"),
    ("DS-3T1512HP-SI-8P4F", "Hikvision", "hikvision.ds_3_network"),
    # shop 'DS-2DT6223-AELY 2 Megapixel Anti-Corrosion Network PTZ Dome Camera'
    ("DS-2DT6223-AELY", "Hikvision", "hikvision.ds_2d_ptz"),
    ("DS-2DT8C442MXG-ELWT", "Hikvision", "hikvision.ds_2d_ptz"),
    # model list 'DS-2XS3Q47G1-LDH/4G/C18S40'; download centre DS-2XS2T41G1-ID/4G
    ("DS-2XS3Q47G1-LDH/4G/C18S40", "Hikvision", "hikvision.ds_2xs_solar"),
    ("DS-2XS2T41G1-ID/4G", "Hikvision", "hikvision.ds_2xs_solar"),
]


@pytest.mark.parametrize(("text", "maker", "grammar"), RECOGNISED)
def test_line_is_read_from_its_part_number(text: str, maker: str, grammar: str) -> None:
    identification = IDENTIFIER.identify(text)
    assert identification.maker == maker, identification.reasons
    assert identification.grammar_id == grammar


@pytest.mark.parametrize(
    "text",
    [
        "ASGB511H-L",
        "IPMECD-3012-RM30-T14",
        "KTP04(F)",
        "ASR2201D-B",
        "DS-1200KI",
        "DS-3WAP521-SI",
        "DS-2DT5432MWG-T/4G",
        "DS-2XS6A46G1/P-IZS/4G",
    ],
)
def test_the_number_alone_is_a_restricted_verdict(text: str) -> None:
    # The Dahua numbers were unknown; the Hikvision ones a review (hikvision.ds_other, low).
    row = screen(text)
    assert row.restricted is True, row.reason


LOOK_ALIKES = [
    "ASG 220",  # Sophos (Astaro) security gateway
    "ASG220",
    "ASG425",
    "ASG2910Z",  # a Dahua number with the price list alone: not taken
    "KTP700 Basic",  # Siemens SIMATIC HMI panel
    "KTP400",
    "KTP1200",
    "ASR1001-X",  # Cisco routers
    "ASR1002-HX",
    "ASR5500",
    "ASR2100S",  # Adaptec RAID controllers (a review found them called Dahua readers)
    "ASR2200S",
    "Adaptec ASR2200S SCSI RAID controller",
    "ASR2100R",  # GW Instek power source shape
    "IPMECD",
    "IPMECD3012",
    "DS-3",  # the telecom line rate
    "DS-3 T1",
    "DS3617xs",  # Synology
    "DS-3018xs",
    "DS-1019+",
    "KB-1100",  # Uniview keyboard
    "UAP-AC-PRO",  # Ubiquiti access point
    "EAP650",  # TP-Link access point
    "TR-SE24",  # Uniview accessory
    "IPC2122LB-SF28-A",  # Uniview camera
    "SBP-300WM",  # Hanwha mount
    "T91B47",  # Axis pole mount
    "VIGI C540",  # TP-Link VIGI camera
]


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alikes_are_not_read_as_these_lines(text: str) -> None:
    identification = IDENTIFIER.identify(text)
    assert identification.grammar_id not in (*NEW_GRAMMARS, *WIDENED), text
    assert identification.maker not in ("Dahua", "Hikvision"), text
    assert screen(text).restricted is not True, text


@pytest.mark.parametrize("text", ["DS-3T1", "DS-2DB37EA9"])
def test_catch_all_shapes_are_not_the_new_lines(text: str) -> None:
    # a line rate (DS-3/T1) and a dataset id stay with the low catch-all hikvision.ds_other
    # (a review at most), not with the medium network or PTZ line
    identification = IDENTIFIER.identify(text)
    assert identification.grammar_id not in (*NEW_GRAMMARS, *WIDENED), text
    assert screen(text).restricted is not True, text


@pytest.mark.parametrize("grammar_id", NEW_GRAMMARS)
def test_new_grammars_state_their_specificity(grammar_id: str) -> None:
    grammar = GRAMMARS.grammar(grammar_id)
    assert grammar.note.startswith("Specificity:"), grammar_id
    assert len(grammar.negatives) >= 3 and len(grammar.sources) >= 2, grammar_id


@pytest.mark.parametrize("grammar_id", ["hikvision.ds_1_keyboard", "hikvision.ds_3_network"])
def test_hikvision_lines_are_read_before_the_catch_all(grammar_id: str) -> None:
    order = [grammar.id for grammar in GRAMMARS.grammars]
    assert order.index(grammar_id) < order.index("hikvision.ds_other")

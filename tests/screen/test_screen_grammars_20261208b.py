"""More Dahua lines read from part numbers alone (issue 11, 2026-12-08, second pass).

Positives are numbers the grammars' public sources name (Dahua's price list in
Epochex/Dahua_Pricing_Auto data/SysPrice.csv; a fleet project, a distributor page, dealer shop
data and a Dahua VTO integration README cited in model_grammars.yaml). Negatives are other
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
    "dahua.mobile_recorder",
    "dahua.intercom_bracket",
    "dahua.intercom_station",
    "dahua.smart_lock",
)


def screen(text: str) -> ScreenRow:
    return judge_product(IDENTIFIER.identify(text), POLICIES)


# (cell, grammar)
RECOGNISED = [
    # fleet project 'Dahua MXVR4104-GFW 4-CH Mobile DVR'; distributor 'MXVR4104-GFW DVR Movil'
    ("MXVR4104-GFW", "dahua.mobile_recorder"),
    ("Dahua MXVR4104-GFW 4-CH Mobile DVR", "dahua.mobile_recorder"),
    # solution page 'Dahua Mobile NVR MNVR4104'; transit project 'MNVR1104'
    ("MNVR4104", "dahua.mobile_recorder"),
    ("MNVR1104-GF", "dahua.mobile_recorder"),
    ("MXVR6212-GCW", "dahua.mobile_recorder"),
    ("MNVR8208-GFWI(1T)", "dahua.mobile_recorder"),
    # dealer data 'Dahua VTM114 (lắp âm)', 'Dahua VTM09R (dùng cho VTO2211)'; 'Dahua DH-VTM115'
    ("VTM114", "dahua.intercom_bracket"),
    ("VTM09R", "dahua.intercom_bracket"),
    ("VTM115", "dahua.intercom_bracket"),
    ("VTM01R2", "dahua.intercom_bracket"),
    # Dahua VTO integration README 'VTS5240'; price list VTS5240B-S, VTS8240B-CG
    ("VTS5240", "dahua.intercom_station"),
    ("VTS5240B-S", "dahua.intercom_station"),
    ("VTS8240B-CG", "dahua.intercom_station"),
    # dealer data 'khóa điện tử ... Dahua ASL9112R-B'; price list ASL2101S-L
    ("ASL9112R-B", "dahua.smart_lock"),
    ("ASL9112R-B(W)", "dahua.smart_lock"),
    ("ASL2101S-L", "dahua.smart_lock"),
]


@pytest.mark.parametrize(("text", "grammar"), RECOGNISED)
def test_line_is_read_from_its_part_number(text: str, grammar: str) -> None:
    identification = IDENTIFIER.identify(text)
    assert identification.maker == "Dahua", identification.reasons
    assert identification.grammar_id == grammar


@pytest.mark.parametrize(
    "text", ["MXVR4104-GFW", "MNVR4208-GCW", "VTS5340B", "ASL8112K-W", "ASL6101R-B"]
)
def test_the_number_alone_is_a_restricted_verdict(text: str) -> None:
    # these Dahua numbers were unknown before (no grammar read them)
    row = screen(text)
    assert row.restricted is True, row.reason


def test_a_bracket_names_its_maker_without_a_restriction() -> None:
    # a mounting box is typed as an accessory: Dahua's, but not video-surveillance equipment
    row = screen("VTM115-B")
    assert row.maker == "Dahua", row.reason
    assert row.device_type == "accessory"
    assert row.restricted is not True, row.reason


LOOK_ALIKES = [
    "MNVR816",  # Mercury (TP-Link's Chinese brand) recorder, CVE-2024-8655
    "MNVR408",
    "MDR-504",  # Brigade mobile recorder
    "VTM12345",  # NHS dm+d virtual therapeutic moiety code shape
    "VTM-100",
    "VTM75",  # a bare two-digit Dahua number: too short, not taken
    "VTP210S",  # TE polyswitch
    "VTS 100A",  # DynaGen Vigilant transfer switch
    "VTS1000",
    "VTS2000",
    "ASL3",  # AllStarLink
    "ASL",
    "ASL-9112",
    "ASL100",  # a Dahua number with the price list alone: not taken
]


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alikes_are_not_read_as_these_lines(text: str) -> None:
    identification = IDENTIFIER.identify(text)
    assert identification.grammar_id not in NEW_GRAMMARS, text
    assert identification.maker != "Dahua", text
    assert screen(text).restricted is not True, text


@pytest.mark.parametrize("text", ["DS-MP7608HN", "CP-VNR-2104-E1"])
def test_other_mobile_recorders_keep_their_own_lines(text: str) -> None:
    # Hikvision's and CP Plus's (a Dahua relabel) mobile recorders are not these lines
    identification = IDENTIFIER.identify(text)
    assert identification.grammar_id not in NEW_GRAMMARS, text


@pytest.mark.parametrize("grammar_id", NEW_GRAMMARS)
def test_new_grammars_state_their_specificity(grammar_id: str) -> None:
    grammar = GRAMMARS.grammar(grammar_id)
    assert grammar.note.startswith("Specificity:"), grammar_id
    assert len(grammar.negatives) >= 3 and len(grammar.sources) >= 2, grammar_id

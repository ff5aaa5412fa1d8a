"""Hikvision and Dahua lines read from part numbers alone (issue 11, 2026-12-07b).

Positives are numbers the grammars' public sources name (Hikvision's download centre as
archived in JoeyGE0/hikvision-fw-archive devices.json; the Hikvision dealer catalogue
muynuddinr/dubai-hikvision.com; Dahua's price list in Epochex/Dahua_Pricing_Auto
data/SysPrice.csv; shop and integration data cited in model_grammars.yaml). Negatives are
other makers' numbers of the same shape. None is copied from a held-out list.
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
    "hikvision.ds_2x_2cv_camera",
    "hikvision.ds_k6_turnstile",
    "hikvision.ae_dashcam",
)


def screen(text: str) -> ScreenRow:
    return judge_product(IDENTIFIER.identify(text), POLICIES)


# (cell, maker, grammar)
RECOGNISED = [
    # dealer catalogue 'Fixed Dome Explosion-Proof Network Camera'; download centre DS-2XE...
    ("DS-2XE6146F-HS(C) explosion-proof camera", "Hikvision", "hikvision.ds_2x_2cv_camera"),
    ("DS-2XE6046G0-LIS(316L)", "Hikvision", "hikvision.ds_2x_2cv_camera"),
    # shop data '4 MP Anti-Corrosion Network Dome Camera'
    ("DS-2XC6142FWD-IS", "Hikvision", "hikvision.ds_2x_2cv_camera"),
    # ISAPI integration checked on a DS-2XM6825G0
    ("DS-2XM6825G0/C-IVS", "Hikvision", "hikvision.ds_2x_2cv_camera"),
    # shop data 'Hikvision DS-2CV2Q21FD-IW 2MP Wi-Fi Cube Camera'
    ("DS-2CV2Q21FD-IW wifi camera", "Hikvision", "hikvision.ds_2x_2cv_camera"),
    # download centre DS-K6B411TX; shop list 'Hikvision DS-K6B961TDQLX'
    ("DS-K6B411TX turnstile", "Hikvision", "hikvision.ds_k6_turnstile"),
    ("DS-K6B961TDQLX", "Hikvision", "hikvision.ds_k6_turnstile"),
    # download centre AE-DC...; shop data 'AE-DC5013-F6', 'DASHCAM'
    ("AE-DC5013-F6 dash cam", "Hikvision", "hikvision.ae_dashcam"),
    ("AE-DC5013-F6(GPS)", "Hikvision", "hikvision.ae_dashcam"),
    ("AE-DC4328-K5", "Hikvision", "hikvision.ae_dashcam"),
    # Dahua price list: EZ-IP HDCVI cameras
    ("EZ-HAC-B2A21-F2", "Dahua", "dahua.hac"),
]


@pytest.mark.parametrize(("text", "maker", "grammar"), RECOGNISED)
def test_line_is_read_from_its_part_number(text: str, maker: str, grammar: str) -> None:
    identification = IDENTIFIER.identify(text)
    assert identification.maker == maker, identification.reasons
    assert identification.grammar_id == grammar


@pytest.mark.parametrize(
    "text",
    ["DS-2XC6142FWD-IS", "DS-2CV2041G2-IDW", "DS-K6B411TX", "AE-DC5013-F6", "EZ-HAC-D4A51-F2"],
)
def test_the_number_alone_is_a_restricted_verdict(text: str) -> None:
    # DS-2XC/2CV were a review (hikvision.ds_other, low); the others were unknown.
    row = screen(text)
    assert row.restricted is True, row.reason


LOOK_ALIKES = [
    "AE-1200WH watch",  # Casio
    "AE-DC",
    "AE-DC100",
    "AE-VC211T-IRS",  # a Hikvision Auto line with a single source: not taken
    "DS220+",  # Synology
    "DS-1821+",  # Synology
    "DS-K6",
    "EZ-HAC",
    "K6B411TX",
]


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alikes_are_not_read_as_these_lines(text: str) -> None:
    identification = IDENTIFIER.identify(text)
    assert identification.grammar_id not in (*NEW_GRAMMARS, "dahua.hac"), text
    assert identification.maker not in ("Dahua", "Hikvision"), text
    assert screen(text).restricted is not True, text


def test_a_bare_form_code_is_not_the_new_line() -> None:
    # "DS-2XE" alone stays with the low catch-all (a review at most), not the medium line
    assert IDENTIFIER.identify("DS-2XE").grammar_id != "hikvision.ds_2x_2cv_camera"


@pytest.mark.parametrize("grammar_id", NEW_GRAMMARS)
def test_new_grammars_state_their_specificity(grammar_id: str) -> None:
    grammar = GRAMMARS.grammar(grammar_id)
    assert grammar.note.startswith("Specificity:"), grammar_id
    assert len(grammar.negatives) >= 3 and len(grammar.sources) >= 2, grammar_id


def test_explosion_proof_line_is_read_before_the_catch_all() -> None:
    order = [grammar.id for grammar in GRAMMARS.grammars]
    assert order.index("hikvision.ds_2x_2cv_camera") < order.index("hikvision.ds_other")

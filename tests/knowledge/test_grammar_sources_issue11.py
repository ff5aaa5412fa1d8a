"""Thinly sourced grammars checked against public sources (issue 11, knowledge currency).

Eight grammars rated high cited only "<brand> catalog naming". Each now cites a source that
states the numbering (Hikvision's firmware download centre as indexed, a dealer catalogue,
Dahua's price list, a CISA advisory, an integration's model list) and is documented; the
look-alikes found on the way (a UV-curable coating grade "UVC-180", Nortel's NVR1750D, MSI's
MS-7xxx boards) are not taken.
"""

from __future__ import annotations

import pytest

from provscan.knowledge.grammars import load_grammar_knowledge
from provscan.screening.run import bundled_identifier
from provscan.screening.verdict import judge_product

GRAMMARS = {g.id: g for g in load_grammar_knowledge().grammars}
IDENTIFIER = bundled_identifier()
POLICIES = IDENTIFIER.knowledge.select_policies(None)
AUDITED = [
    "hikvision.ds_2ce",
    "hikvision.ds_k_doorbell",
    "hikvision.ds_k_intercom",
    "hikvision.ds_k_access",
    "hikvision.ds_2t_thermal",
    "imou.dahua_number",
    "ubiquiti.uvc",
    "milesight.ms",
]


@pytest.mark.parametrize("grammar_id", AUDITED)
def test_an_audited_grammar_is_documented_by_a_source_other_than_catalog_naming(
    grammar_id: str,
) -> None:
    grammar = GRAMMARS[grammar_id]
    assert grammar.documented and grammar.confidence == "high"
    assert len(grammar.sources) >= 2
    assert not any(source.endswith("catalog naming") for source in grammar.sources)
    assert grammar.negatives


@pytest.mark.parametrize(
    ("text", "maker", "brand"),
    [
        ("DS-2CE16D0T-EXIPF", "Hikvision", "Hikvision"),
        ("DS-KV6113-WPE1(C)", "Hikvision", "Hikvision"),
        ("DS-KH6220-LE1(B)", "Hikvision", "Hikvision"),
        ("DS-K1T342MFWX-E1", "Hikvision", "Hikvision"),
        ("DS-2TD2617-10-QA", "Hikvision", "Hikvision"),
        ("Imou NVR1104HS-W-S2", "Dahua", "Imou"),
        ("UVC-G4-Bullet", "Ubiquiti", "Ubiquiti"),
        ("MS-C5364-FPE", "Milesight", "Milesight"),
    ],
)
def test_the_documented_numbers_name_their_maker(text: str, maker: str, brand: str) -> None:
    row = judge_product(IDENTIFIER.identify(text), POLICIES)
    assert (row.maker, row.brand) == (maker, brand), row.reason


@pytest.mark.parametrize("text", ["UVC-180 UV curable coating", "MSI MS-7C02 mainboard"])
def test_look_alikes_are_not_taken(text: str) -> None:
    row = judge_product(IDENTIFIER.identify(text), POLICIES)
    assert row.brand not in {"Ubiquiti", "Milesight"}, row.reason

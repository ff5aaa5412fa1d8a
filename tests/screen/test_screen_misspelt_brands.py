"""Misspelt brands in procurement rows (issue 11): a typo of a restricted brand is caught, but
never establishes the maker alone, and other makers' names two edits away are not typos.

The look-alikes are real product names: Lenovo's ThinkVision monitors, Microsoft Exchange
Server, VMware (Omnissa) Workspace ONE AirWatch, Tektronix oscilloscopes (a review of the
model grammars against the NetBox device-type library, nmap and Recog found each read as a
restricted maker, 2026-12-05).
"""

from __future__ import annotations

import pytest

from provscan.knowledge import load_knowledge
from provscan.screening.run import bundled_identifier
from provscan.screening.verdict import ScreenRow, judge_product

POLICIES = load_knowledge().select_policies(None)


def screen(text: str = "", *, brand: str | None = None, model: str | None = None) -> ScreenRow:
    return judge_product(bundled_identifier().identify(text, brand=brand, model=model), POLICIES)


@pytest.mark.parametrize(
    "text",
    [
        "ThinkVision T24i-30 monitor",  # two edits from Hikvision, another first letter
        "Exchange Server 2019 Standard",  # two edits from Lechange (Dahua)
        "AirWatch device management licence",  # two edits from HiWatch (Hikvision)
    ],
)
def test_names_with_another_first_letter_are_not_misspelt_restricted_brands(text: str) -> None:
    row = screen(text)
    assert row.maker is None and row.restricted is None, row.reason
    assert "approximate" not in row.reason


@pytest.mark.parametrize(
    ("brand", "model", "maker"),
    [("Tektronix", "MDO3024", "Tektronix"), ("Teltronics", "IPC-100", "Teltronics")],
)
def test_makers_one_or_two_letters_from_teltronic_are_themselves(
    brand: str, model: str, maker: str
) -> None:
    for row in (screen(f"{brand} {model}"), screen(model, brand=brand)):
        assert row.maker == maker and row.restricted is False, row.reason


@pytest.mark.parametrize("text", ["Hikvison bullet camera", "Hickvision 4MP dome"])
def test_a_misspelt_restricted_brand_alone_is_for_review(text: str) -> None:
    row = screen(text)
    # caught, so nobody overlooks it, but not a verdict: a person confirms it
    assert row.maker == "Hikvision" and row.restricted is None
    assert "no Hikvision model number confirms it" in row.reason
    assert row.reason.count("review") == 1, row.reason
    assert "below 0.5" in row.reason


def test_a_misspelt_restricted_brand_with_its_model_number_is_restricted() -> None:
    for row in (
        screen("Hikvison DS-2CD2143G0-I"),
        screen("DS-2CD2143G0-I", brand="Hikvsion"),
    ):
        assert row.maker == "Hikvision" and row.restricted is True, row.reason
        assert "approximate match" in row.reason


def test_a_misspelt_restricted_brand_cell_alone_is_for_review() -> None:
    row = screen("4MP dome camera", brand="Hikvsion")
    assert row.maker == "Hikvision" and row.restricted is None, row.reason

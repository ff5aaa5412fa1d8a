"""A label brand whose maker is not recorded, in a list that says who made it (issue 11).

Lists often carry the maker in a description next to a relabel brand ("LaView LV-PTK66802
rebranded Hikvision"). Before, the brand cell won and, knowing no maker for the brand, the row
came back "unknown" while the same row without the brand column was found. The row's own
statement now names the maker; a mention ("for Hikvision NVRs") or two makers named leave
the row unknown, and a brand whose maker *is* recorded keeps its recorded relation."""

from __future__ import annotations

import pytest

from provscan.knowledge import load_knowledge
from provscan.screening.run import bundled_identifier
from provscan.screening.verdict import ScreenRow, judge_product

KNOWLEDGE = load_knowledge()
POLICIES = KNOWLEDGE.select_policies(None)
#: A label brand of the vocabulary with no relation to a maker.
LABEL = "LaView"


def screen(text: str, *, brand: str | None = None, model: str | None = None) -> ScreenRow:
    return judge_product(bundled_identifier().identify(text, brand=brand, model=model), POLICIES)


def test_the_label_has_no_recorded_maker() -> None:
    vendor = KNOWLEDGE.vendors[LABEL]
    assert vendor.kind == "brand"
    assert not KNOWLEDGE.relations_for_brand(LABEL)


@pytest.mark.parametrize(
    ("description", "maker"),
    [
        ("LaView LV-PTK66802 rebranded Hikvision", "Hikvision"),
        ("PTZ camera, OEM of Dahua", "Dahua"),
        ("bullet camera manufactured by Axis", "Axis"),
    ],
)
def test_the_row_names_the_maker_of_the_label(description: str, maker: str) -> None:
    row = screen(description, brand=LABEL, model="LV-PTK66802")
    assert row.maker == maker, row.reason
    assert row.brand == LABEL
    assert "the row names" in row.reason
    # outside a restricted family the relation is reported as "unrelated", as for grammars
    restricted = KNOWLEDGE.family_of(maker) is not None
    assert row.relation == ("probable_relabel" if restricted else "unrelated")
    assert row.restricted is restricted, row.reason


@pytest.mark.parametrize(
    "description",
    [
        "LaView camera",
        "LaView camera for Hikvision NVR",
        "LaView camera, Hikvision compatible",
        "LaView camera made by Hikvision or Dahua",
    ],
)
def test_a_mention_or_two_makers_leave_it_unknown(description: str) -> None:
    row = screen(description, brand=LABEL, model="LV-X1")
    assert row.maker is None, row.reason
    assert row.restricted is None


def test_a_brand_with_a_recorded_maker_keeps_its_relation() -> None:
    # Lorex's recorded relation (Dahua) is not replaced by a maker the text names.
    assert KNOWLEDGE.relations_for_brand("Lorex")
    row = screen("Lorex camera, Axis", brand="Lorex", model="camera")
    assert row.maker != "Axis", row.reason

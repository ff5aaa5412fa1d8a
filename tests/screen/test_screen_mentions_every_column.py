"""A maker named as a mention ("compatible with Hikvision", "bracket for Dahua camera") is what
the product works with in every column: the model/part-number column and the brand column
read it as the description column and ``provscan lookup`` always did (newcomer review, point 2).

Before, the model column skipped the mention rule: "camera compatible with Hikvision NVR" in a
Part Number cell came out RESTRICTED, Hikvision's own brand, 0.95. A model number that stands
after a mention ("Power supply for Hikvision DS-2CD2143") is what the product fits, too.

Every string is written for the test from the listing conventions mention_words.yaml cites;
none comes from the held-out lists.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import openpyxl
import pytest

from provscan.screening.run import bundled_identifier
from provscan.screening.verdict import judge_product

IDENTIFIER = bundled_identifier()
POLICIES = IDENTIFIER.knowledge.select_policies(None)

#: Accessory and compatibility text as buyers write it in a part-number column.
ACCESSORIES = [
    "camera compatible with Hikvision NVR",
    "bracket for Dahua camera",
    "Power supply for Hikvision DS-2CD2143",
    "Hikvision compatible NVR",
    "Hikvision-compatible NVR",
    "mount for Huawei S5720",
    "wall mount for DS-2CD2143G2-I",
    "Wall mount bracket compatible with Dahua IPC-HFW2431S",
    "replaces Hikvision DS-2CD2143G0-I",
    "适用于 海康威视 摄像机 支架",
    "海康威视 专用 支架",
]

#: Rows that name the product's own maker: they stay restricted, in every column layout.
#: (brand cell, model cell, maker)
REAL_PRODUCTS = [
    ("", "Hikvision DS-2CD2143G2-I", "Hikvision"),
    ("", "Huawei-S5720", "Huawei"),
    ("", "IPC-HFW2431S-S-S2", "Dahua"),
    ("", "DS-2CD2143G2-I with ring mount", "Hikvision"),
    ("", "Hikvision bracket for DS-2CD2143G2-I", "Hikvision"),  # the label before the mention
    ("Hikvision", "DS-2CD2143G2-I", "Hikvision"),
    ("Huawei", "S5720-28X-SI-AC", "Huawei"),
    ("Dahua", "bracket for Dahua camera", "Dahua"),  # the brand column states the maker
    ("Hikvision", "camera compatible with Hikvision NVR", "Hikvision"),
]


def screen(*, brand: str | None = None, model: str | None = None, text: str = ""):  # type: ignore[no-untyped-def]
    return judge_product(IDENTIFIER.identify(text, brand=brand, model=model), POLICIES)


# --- one rule, one implementation: every column reads a mention alike -------------------------


@pytest.mark.parametrize("text", ACCESSORIES)
def test_an_accessory_in_the_model_column_is_not_the_named_makers_product(text: str) -> None:
    row = screen(model=text)
    assert (row.status, row.maker, row.restricted) == ("unknown", None, None), row.reason
    assert "read as a mention" in row.reason


@pytest.mark.parametrize("text", ACCESSORIES)
def test_the_model_column_and_the_description_give_the_same_verdict(text: str) -> None:
    in_model, in_text = screen(model=text), screen(text=text)
    assert (in_model.status, in_model.maker) == (in_text.status, in_text.maker)
    assert in_model.reason == in_text.reason


@pytest.mark.parametrize("text", ACCESSORIES)
def test_an_unknown_label_next_to_the_accessory_gives_no_restricted_maker(text: str) -> None:
    # "Acme" is outside the vocabulary: before, a Hikvision number after "for" made this a
    # probable Hikvision relabel
    row = screen(brand="Acme", model=text)
    assert row.maker is None and row.restricted is None, row.reason


def test_a_number_after_a_mentioned_brand_is_what_the_product_fits() -> None:
    row = screen(model="Power supply for Hikvision DS-2CD2143")
    assert row.maker is None
    assert any(
        "DS-2CD2143 follows Hikvision, which follows 'for': read as a mention" in reason
        for reason in IDENTIFIER.identify("", model="Power supply for Hikvision DS-2CD2143").reasons
    )


@pytest.mark.parametrize(("brand", "model", "maker"), REAL_PRODUCTS)
def test_real_products_stay_restricted(brand: str, model: str, maker: str) -> None:
    row = screen(brand=brand or None, model=model)
    assert (row.maker, row.status) == (maker, "restricted"), row.reason


# --- the brand / manufacturer column -----------------------------------------------------------


@pytest.mark.parametrize(
    "brand", ["for Hikvision", "Hikvision compatible", "compatible with Dahua", "适用于 海康威视"]
)
def test_a_mention_in_the_brand_column_states_no_brand(brand: str) -> None:
    row = screen(brand=brand, model="wall bracket")
    assert (row.status, row.maker) == ("unknown", None), row.reason
    assert "in the brand column: read as a mention" in row.reason


def test_a_mention_in_the_brand_column_leaves_the_model_number_to_speak() -> None:
    # the part number is Hikvision's own numbering: the mention takes nothing away from it
    row = screen(brand="for Hikvision", model="DS-2CD2143G2-I")
    assert (row.maker, row.status) == ("Hikvision", "restricted")


def test_a_brand_column_with_a_label_and_a_mention_keeps_the_label() -> None:
    row = screen(brand="Axis for Hikvision", model="wall bracket")
    assert (row.maker, row.status) == ("Axis", "clear")


# --- the files: CSV and XLSX, with and without a maker column ---------------------------------

LAYOUTS = {
    # a Manufacturer column left empty on the accessory rows
    "maker_column": (["Manufacturer", "Part Number", "Description"], lambda m: ["", m, ""]),
    # the part-number column alone
    "model_only": (["Part Number"], lambda m: [m]),
}


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    if path.suffix == ".xlsx":
        book = openpyxl.Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.append(header)
        for row in rows:
            sheet.append(row)
        book.save(path)
    else:
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_screen_files_read_accessories_as_mentions(
    cli, tmp_path: Path, suffix: str, layout: str
) -> None:  # type: ignore[no-untyped-def]
    header, cells = LAYOUTS[layout]
    positives = ["Hikvision DS-2CD2143G2-I", "Huawei-S5720", "IPC-HFW2431S-S-S2"]
    listing = tmp_path / f"list{suffix}"
    _write(listing, header, [cells(text) for text in [*ACCESSORIES, *positives]])
    output = tmp_path / "screened.json"
    result = cli("screen", str(listing), "-o", str(output))
    assert result.exit_code == 0, result.output
    rows = json.loads(output.read_text(encoding="utf-8"))["rows"]
    accessories, real = rows[: len(ACCESSORIES)], rows[len(ACCESSORIES) :]
    assert [(row["status"], row["maker"]) for row in accessories] == [("unknown", None)] * len(
        ACCESSORIES
    ), [row["input"] for row in accessories if row["maker"]]
    assert [(row["status"], row["maker"]) for row in real] == [
        ("restricted", "Hikvision"),
        ("restricted", "Huawei"),
        ("restricted", "Dahua"),
    ]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_brand_column_with_the_model_elsewhere_still_works(
    cli, tmp_path: Path, suffix: str
) -> None:  # type: ignore[no-untyped-def]
    listing = tmp_path / f"list{suffix}"
    _write(
        listing,
        ["Manufacturer", "Part Number", "Description"],
        [
            ["Hikvision", "DS-2CD2143G2-I", "4MP dome"],
            ["for Hikvision", "", "wall bracket"],
            ["Hikvision compatible", "", "power supply"],
        ],
    )
    output = tmp_path / "screened.json"
    assert cli("screen", str(listing), "-o", str(output)).exit_code == 0
    rows = json.loads(output.read_text(encoding="utf-8"))["rows"]
    assert [(row["status"], row["maker"]) for row in rows] == [
        ("restricted", "Hikvision"),
        ("unknown", None),
        ("unknown", None),
    ]

"""A column headed "Vendor", "Supplier", "Reseller" or "Distributor" names who sells the
product, not who makes it: its text never makes a relabel claim ("Anixter relabel of
Hikvision") nor overrides the maker the part number gives; the output keeps it and the
summary names it. "Manufacturer", "Make" and "Brand" stay the brand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provscan.screening.columns import choose_columns, is_header_row

SELLERS = ["Vendor", "Supplier", "Reseller", "Distributor", "Vendor Name", "Preferred Supplier"]


def _rows(cli, tmp_path: Path, text: str) -> tuple[list[dict], dict]:  # type: ignore[no-untyped-def, type-arg]
    path = tmp_path / "quote.csv"
    path.write_text(text, encoding="utf-8")
    done = cli("screen", str(path), "-f", "json", "-q")
    assert done.exit_code == 0, done.output
    document = json.loads(done.stdout)
    return document["rows"], document["summary"]


@pytest.mark.parametrize("header", SELLERS)
def test_a_sellers_name_makes_no_relabel(cli, tmp_path: Path, header: str) -> None:  # type: ignore[no-untyped-def]
    rows, summary = _rows(cli, tmp_path, f"{header},Model\nAnixter,DS-2CD2143G2-I\n")
    (row,) = rows
    assert (row["maker"], row["relation"]) == ("Hikvision", "own_brand"), row["reason"]
    assert row["status"] == "restricted"
    assert "Anixter" not in row["reason"] and "relabel" not in row["reason"]
    # shown: the summary says which column was read as the seller, the brand is none
    assert summary["columns"]["seller"] == header and summary["columns"]["brand"] is None


def test_a_seller_named_like_a_maker_does_not_override_the_part_number(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rows, _ = _rows(cli, tmp_path, "Vendor,Part Number\nAxis,DS-2CD2143G2-I\n")
    (row,) = rows
    assert row["maker"] == "Hikvision" and row["status"] == "restricted", row["reason"]
    assert "Axis" not in row["reason"]


def test_a_seller_is_not_read_with_the_text_of_a_list_of_no_known_column(
    cli,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    # no brand, model or description column: every column is text, but the seller's
    rows, _ = _rows(cli, tmp_path, "Supplier,Notes\nAnixter,DS-2CD2143G2-I dome\n")
    (row,) = rows
    assert (row["maker"], row["relation"]) == ("Hikvision", "own_brand"), row["reason"]
    assert "Anixter" not in row["input"]


@pytest.mark.parametrize("header", ["Manufacturer", "Make", "Brand"])
def test_a_makers_column_is_still_the_brand(cli, tmp_path: Path, header: str) -> None:  # type: ignore[no-untyped-def]
    rows, summary = _rows(cli, tmp_path, f"{header},Model\nAnixter,DS-2CD2143G2-I\n")
    (row,) = rows
    assert summary["columns"]["brand"] == header and "seller" not in summary["columns"]
    assert row["brand"] == "Anixter" and row["relation"] == "probable_relabel"


def test_part_number_headers_of_a_seller_stay_part_numbers() -> None:
    for header in ("Vendor Part Number", "Supplier Part No.", "Distributor Part #", "Vendor Part"):
        chosen = choose_columns(["Manufacturer", header], rows=[["Hikvision", "DS-2CD2143G2-I"]])
        assert chosen.seller == () and chosen.brand == 0, header
        assert chosen.model == 1 or 1 in chosen.extra_text, header


def test_a_seller_column_still_marks_the_header_row() -> None:
    assert is_header_row(["Vendor", "Qty"])
    chosen = choose_columns(["Line", "Vendor", "Model", "Description"])
    assert (chosen.brand, chosen.model, chosen.description, chosen.seller) == (None, 2, 3, (1,))
    # named on the command line, it is what the user says it is
    named = choose_columns(["Vendor", "Model"], brand="Vendor")
    assert (named.brand, named.seller) == (0, ())


def test_a_vendor_column_of_makers_is_the_brand(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """An asset register's "Vendor" names the maker ("Vendor: Cisco"): when most of its cells
    are known makers and no other column is the brand, it is read as the brand."""
    text = "Vendor,Model\nLorex,LNB8005\nBosch,NDE-3502-AL\nHikvision,DS-2CD2387G2-LU\n"
    rows, summary = _rows(cli, tmp_path, text)
    assert summary["columns"]["brand"] == "Vendor" and "seller" not in summary["columns"]
    assert [row["brand"] for row in rows] == ["Lorex", "Bosch", "Hikvision"]


def test_a_vendor_column_of_distributors_stays_the_seller(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    text = "Vendor,Model\nAnixter,DS-2CD2143G2-I\nADI Global,NDE-3502-AL\nWesco,P3265-LVE\n"
    rows, summary = _rows(cli, tmp_path, text)
    assert summary["columns"]["seller"] == "Vendor" and summary["columns"]["brand"] is None
    assert rows[0]["maker"] == "Hikvision" and "Anixter" not in rows[0]["reason"]


@pytest.mark.parametrize("header", ["Supplier", "Distributor", "Reseller"])
def test_a_supplier_column_is_never_the_brand_even_of_makers(
    cli, tmp_path: Path, header: str
) -> None:  # type: ignore[no-untyped-def]
    text = f"{header},Model\nAxis,DS-2CD2143G2-I\nBosch,DS-2CD2387G2-LU\n"
    rows, summary = _rows(cli, tmp_path, text)
    assert summary["columns"]["seller"] == header and summary["columns"]["brand"] is None
    assert all(row["maker"] == "Hikvision" for row in rows)

"""A procurement officer's review (third round): which sheet of a workbook is screened, and
rows that are no product.

``provscan screen purchase.xlsx`` screened the cover sheet ("1 row: 1 unknown", exit 0). The
sheet that looks like the product table is read now (a header row naming product columns,
the most rows under it) and a note names it and the sheets not read; ``--sheet`` still
decides. A "Total" / "Sous-total" line or a row of formulas ("=SUM(...)") is no product: it
is left out, named in a note and counted in the summary.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

from provscan.screening.tables import read_table

PRODUCTS = [
    ("Hikvision", "DS-2CD2143G0-I", "4MP dome", 4, 120),
    ("Axis", "P3245-LV", "dome", 2, 450),
    ("Dahua", "IPC-HDW2431T", "turret", 3, 90),
]


def purchase_workbook(path: Path) -> Path:
    """A cover sheet, the item list (line totals, a sub-total, VAT and a total as
    formulas) and a notes sheet, as a supplier's quote is laid out."""
    workbook = openpyxl.Workbook()
    cover = workbook.active
    assert cover is not None
    cover.title = "Cover"
    cover["A1"] = "Purchase order 2027-014"
    cover["A3"], cover["B3"] = "Supplier", "ACME Security Ltd"
    cover["A4"], cover["B4"] = "Date", "2027-01-12"
    items = workbook.create_sheet("Items")
    items.append(
        ["Item", "Manufacturer", "Part Number", "Description", "Qty", "Unit price", "Total"]
    )
    for row, (brand, model, description, quantity, price) in enumerate(PRODUCTS, start=2):
        items.append([row - 1, brand, model, description, quantity, price, f"=E{row}*F{row}"])
    items.append([None, None, None, "Sous-total", None, None, "=SUM(G2:G4)"])  # row 5
    items.append([None, None, None, None, None, None, "=G5*0.2"])  # row 6: VAT
    items.append([None, None, None, "Total TTC", None, None, "=G5+G6"])  # row 7
    notes = workbook.create_sheet("Notes")
    notes["A1"] = "Delivery to site B"
    workbook.save(path)
    return path


def with_cached_values(path: Path, values: dict[str, str]) -> None:
    """Give formula cells the results a spreadsheet stores with them (openpyxl writes none):
    ``values`` maps a cell of the Items sheet ("G6") to its cached value."""
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    sheet = "xl/worksheets/sheet2.xml"
    text = parts[sheet].decode("utf-8")
    for cell, value in values.items():
        text, count = re.subn(
            rf'(<c r="{cell}"[^>]*><f>[^<]*</f>)<v\s*/>', rf"\1<v>{value}</v>", text
        )
        assert count == 1, cell
    parts[sheet] = text.encode("utf-8")
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)


def screen(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "provscan", "screen", *args],
        capture_output=True,
        input=stdin,
        timeout=120,
    )


def test_the_product_table_is_screened_not_the_cover(tmp_path: Path) -> None:
    # Given a quote whose first sheet is a cover page
    path = purchase_workbook(tmp_path / "purchase.xlsx")
    # When it is screened without --sheet
    done = screen(str(path), "-f", "json")
    assert done.returncode == 0, done.stderr
    said = done.stderr.decode()
    document = json.loads(done.stdout)
    # Then the item list is screened: its three products, not the cover's lines
    assert [row["row"] for row in document["rows"]] == [2, 3, 4]
    assert [row["verdict"] for row in document["rows"]] == ["restricted", "clear", "restricted"]
    # And a note says which sheet was read and which were not
    flat = " ".join(said.split())
    assert "screened sheet 'Items'" in flat, said
    assert "not screened: 'Cover', 'Notes'" in flat, said
    # And the sub-total and total lines are left out, named and counted, once
    assert "2 row(s) not screened, not products: row 5 (a total), row 7 (a total)" in flat, said
    assert "skipped" not in flat, said
    assert document["summary"]["rows"] == 3


def test_sheet_still_decides(tmp_path: Path) -> None:
    path = purchase_workbook(tmp_path / "purchase.xlsx")
    done = screen(str(path), "--sheet", "Cover", "-f", "json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["rows"]
    assert [row["verdict"] for row in rows] == ["unknown"] * len(rows)
    assert "screened sheet 'Items'" not in done.stderr.decode()


def test_a_row_of_cached_formula_results_is_no_product(tmp_path: Path) -> None:
    # Given the quote as a spreadsheet saves it: every formula with its last result
    path = purchase_workbook(tmp_path / "purchase.xlsx")
    with_cached_values(
        path, {"G2": "480", "G3": "900", "G4": "270", "G5": "1650", "G6": "330", "G7": "1980"}
    )
    done = screen(str(path), "-f", "json")
    assert done.returncode == 0, done.stderr
    flat = " ".join(done.stderr.decode().split())
    # Then the VAT row (a formula and nothing else) is left out as well as the totals
    assert "3 row(s) not screened, not products" in flat, flat
    assert "row 6 (formulas)" in flat, flat
    # And the products, whose line total is a formula too, are all screened
    assert [row["row"] for row in json.loads(done.stdout)["rows"]] == [2, 3, 4]


def test_the_workbook_from_standard_input_is_read_the_same_way(tmp_path: Path) -> None:
    data = purchase_workbook(tmp_path / "purchase.xlsx").read_bytes()
    done = screen("-", "-f", "json", stdin=data)
    assert done.returncode == 0, done.stderr
    assert [row["row"] for row in json.loads(done.stdout)["rows"]] == [2, 3, 4]


def test_the_xlsx_output_has_results_on_the_product_rows_only(tmp_path: Path) -> None:
    path = purchase_workbook(tmp_path / "purchase.xlsx")
    output = tmp_path / "screened.xlsx"
    done = screen(str(path), "-o", str(output), "-q")
    assert done.returncode == 0, done.stderr
    sheet = openpyxl.load_workbook(output)["Items"]
    header = [cell.value for cell in sheet[1]]
    verdict = header.index("verdict") + 1
    assert [sheet.cell(row=row, column=verdict).value for row in range(2, 8)] == [
        "restricted",
        "clear",
        "restricted",
        None,
        None,
        None,
    ]
    # the total's formula is kept as written
    assert sheet["G7"].value == "=G5+G6"


def test_a_csv_total_and_typed_formulas_are_no_products(tmp_path: Path) -> None:
    # Given a CSV export with a sub-total, a typed formula and a product named "Total ..."
    path = tmp_path / "devis.csv"
    text = (
        "Fabricant;Référence;Désignation;Quantité;Prix\n"
        "Hikvision;DS-2CD2143G0-I;Caméra dôme;4;120,00 €\n"
        "Leica;TS16;Total station;1;25 000,00 €\n"
        ";;Sous-total HT;;25 480,00 €\n"
        ";;;;=SUM(E2:E3)\n"
        "TOTAL GÉNÉRAL;;;;30 576,00 €\n"
    )
    path.write_text(text, encoding="utf-8")
    done = screen(str(path), "-f", "csv")
    assert done.returncode == 0, done.stderr
    flat = " ".join(done.stderr.decode().split())
    assert "3 row(s) not screened, not products: row 4 (a total), row 5 (formulas), " in flat
    assert "row 6 (a total)" in flat
    # Then the CSV comes back line for line: the products with results, the rest as written
    out = done.stdout.decode("utf-8")
    records = list(csv.reader(io.StringIO(out), delimiter=";"))
    assert len(records) == 6
    header = records[0]
    verdict = header.index("verdict")
    assert records[1][verdict] == "restricted"
    assert records[2][verdict] in ("clear", "unknown")  # screened: a product, not a total
    assert out.splitlines()[3] == ";;Sous-total HT;;25 480,00 €"
    # the typed formula is written back guarded, as every cell starting with "="
    assert out.splitlines()[4] == ";;;;'=SUM(E2:E3)"


def test_a_list_of_totals_only_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "totals.csv"
    path.write_text("Description,Amount\nTotal,1200\nSous-total,800\n", encoding="utf-8")
    done = screen(str(path))
    assert done.returncode == 2
    said = done.stderr.decode()
    assert "no product rows (only totals or formulas)" in " ".join(said.split())
    assert "Traceback" not in said


@pytest.mark.parametrize("pick", [False, True])
def test_the_reader_picks_a_sheet_only_when_asked(tmp_path: Path, pick: bool) -> None:
    # `provscan import` reads the first sheet unless told (its own --sheet); screen asks
    path = purchase_workbook(tmp_path / "purchase.xlsx")
    table = read_table(path, pick_sheet=pick)
    assert table.sheet == ("Items" if pick else "Cover")
    assert table.sheets == ("Cover", "Items", "Notes")

"""`provscan screen list.csv -o out.xlsx` writes quantities and counts as numbers, so that a
spreadsheet sums them, and keeps identifiers that merely look numeric (part numbers, codes,
barcodes, numbers with leading zeros) as text; the confidence is a number in every XLSX."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
from helpers import run_provscan

HEADER = [
    "Line",
    "Brand",
    "Part Number",
    "Description",
    "Qty",
    "Unit price",
    "EAN",
    "Cost centre",
    "Sites",
    "SKU",
    "Notes",
]
ROWS = [
    ["1", "Hikvision", "DS-2CD2143G0-I", "dome camera", "12", "89.50", "6941264012345", "0042"],
    ["2", "Axis", "4711", "network camera", " 4 ", "399", "4006381333931", "0042", "3"],
    ["3", "Dahua", "0123456", "bullet camera", "", "65", "", "0107", "", "20331", "n/a"],
    ["4", "Northwind", "P-10", "camera pole", "-2", "45", "", "0042", "1", "20332", "12"],
]


def _screened(tmp_path: Path) -> tuple[list[str], openpyxl.worksheet.worksheet.Worksheet]:
    source = tmp_path / "order.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([HEADER, *ROWS])
    out = tmp_path / "order.xlsx"
    result = run_provscan("screen", str(source), "-o", str(out), "-q")
    assert result.returncode == 0, result.stderr
    sheet = openpyxl.load_workbook(out)["screened"]
    header = [str(cell.value) for cell in next(sheet.iter_rows(max_row=1))]
    return header, sheet


def _column(header: list[str], sheet: object, name: str) -> list[openpyxl.cell.Cell]:
    index = header.index(name) + 1
    return [row[index - 1] for row in sheet.iter_rows(min_row=2)]  # type: ignore[attr-defined]


def test_whole_number_columns_are_numbers_a_spreadsheet_sums(tmp_path: Path) -> None:
    header, sheet = _screened(tmp_path)
    for name in ("Line", "Qty", "Sites"):
        cells = _column(header, sheet, name)
        written = [row[HEADER.index(name)] if HEADER.index(name) < len(row) else "" for row in ROWS]
        for cell, text in zip(cells, written, strict=True):
            if text.strip():
                assert cell.data_type == "n" and cell.value == int(text), (name, cell.value)
            else:
                assert cell.value is None  # an empty cell, not "": SUM skips it either way
    # the quantities add up as numbers in the spreadsheet's own terms
    quantities = [cell.value for cell in _column(header, sheet, "Qty") if cell.value is not None]
    assert sum(quantities) == sum(int(row[4]) for row in ROWS if row[4].strip())


def test_identifiers_that_look_numeric_stay_text(tmp_path: Path) -> None:
    header, sheet = _screened(tmp_path)
    # a part number (the screened model column, "4711"), a barcode of 13 digits, codes with
    # leading zeros, a SKU of digits, a column with a word in it (prices with decimals are
    # numbers: test_screen_xlsx_prices.py)
    for name in ("Part Number", "EAN", "Cost centre", "SKU", "Notes"):
        index = HEADER.index(name)
        for cell, row in zip(_column(header, sheet, name), ROWS, strict=True):
            text = row[index] if index < len(row) else ""
            assert (cell.value or "") == text, (name, cell.value)
            if text:
                assert cell.data_type == "s", (name, cell.value)


def test_the_confidence_is_a_number_and_the_csv_still_text(tmp_path: Path) -> None:
    header, sheet = _screened(tmp_path)
    confidences = _column(header, sheet, "confidence")
    assert all(cell.data_type == "n" and cell.number_format == "0.00" for cell in confidences)
    # the same values the CSV output gives, as text there
    result = run_provscan("screen", str(tmp_path / "order.csv"), "-f", "csv", "-q")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [f"{cell.value:.2f}" for cell in confidences] == [row["confidence"] for row in rows]

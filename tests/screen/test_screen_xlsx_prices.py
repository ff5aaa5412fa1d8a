"""`provscan screen list.csv -o out.xlsx`: prices and amounts that were numbers in the list
("89.50", "$1,299.00", "12 €") are numbers in the workbook, shown as typed; anything that
could be read two ways ("1,234", "1.500"), part numbers ("0012", "1E5"), mixed currencies and
cells that start like a formula (= + - @) stay text, and no cell becomes a formula."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pytest

from provscan.report.files import guard_formula
from provscan.screening.tables import read_number

HEADER = [
    "Line",
    "Manufacturer",
    "Part Number",
    "Qty",
    "Unit price",
    "Total",
    "Euro price",
    "Amount",
    "Option",
    "Mixed",
    "Remark",
]
ROWS = [
    ["1", "Hikvision", "DS-2CD2143G2-I", "12", "89.50", "$1,068.00", "12 €", "1,234", "0012"],
    ["2", "Axis", "P3245-LV", "4", "399.00", "$1,596.00", "7.5 €", "2,500", "1E5"],
    ["3", "Northwind", "P-10", "2", "0.5", "$1.00", "", "", "", "$5", "=SUM(A1:A3)"],
    ["4", "Northwind", "P-11", "1", "1,299.99", "-$5.00", "3 €", "12", "7", "€5", "+1"],
    ["5", "Northwind", "P-12", "1", "12.00", "$0.00", "", "", "", "", "-1+2"],
    ["6", "Northwind", "P-13", "1", "3", "$2,000,000.00", "", "", "", "", "@cmd"],
]


@pytest.fixture(scope="module")
def screened(tmp_path_factory: pytest.TempPathFactory, cli) -> tuple[Path, list[str], object]:  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("prices")
    source = folder / "order.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([HEADER, *ROWS])
    out = folder / "order.xlsx"
    done = cli("screen", str(source), "-f", "xlsx", "-o", str(out), "-q")
    assert done.exit_code == 0, done.output
    sheet = openpyxl.load_workbook(out)["screened"]
    header = [str(cell.value) for cell in next(sheet.iter_rows(max_row=1))]
    return source, header, sheet


def _cells(screened: tuple[Path, list[str], object], name: str) -> list[openpyxl.cell.Cell]:
    _, header, sheet = screened
    index = header.index(name)
    return [row[index] for row in sheet.iter_rows(min_row=2)]  # type: ignore[attr-defined]


def _typed(name: str) -> list[str]:
    index = HEADER.index(name)
    return [row[index] if index < len(row) else "" for row in ROWS]


def test_prices_are_numbers_shown_as_typed(screened) -> None:  # type: ignore[no-untyped-def]
    prices = _cells(screened, "Unit price")
    assert [cell.value for cell in prices] == [89.5, 399.0, 0.5, 1299.99, 12.0, 3]
    assert all(cell.data_type == "n" for cell in prices)
    assert [cell.number_format for cell in prices[:4]] == ["0.00", "0.00", "0.0", "#,##0.00"]
    totals = _cells(screened, "Total")
    assert [cell.value for cell in totals] == [1068.0, 1596.0, 1.0, -5.0, 0.0, 2000000.0]
    assert all(cell.data_type == "n" for cell in totals)
    grouped, plain = '"$"#,##0.00', '"$"0.00'  # each as it was typed
    formats = [grouped, grouped, plain, plain, plain, grouped]
    assert [cell.number_format for cell in totals] == formats
    euros = [cell for cell in _cells(screened, "Euro price") if cell.value is not None]
    assert [cell.value for cell in euros] == [12, 7.5, 3]
    assert [cell.number_format for cell in euros] == ['0" €"', '0.0" €"', '0" €"']
    # a spreadsheet sums them
    assert sum(cell.value for cell in prices) == pytest.approx(89.5 + 399 + 0.5 + 1299.99 + 15)


def test_what_could_be_read_two_ways_stays_text(screened) -> None:  # type: ignore[no-untyped-def]
    # "1,234": a thousand and more, or one and a bit (a decimal comma); part numbers; two
    # currencies in a column; the screened part number
    for name in ("Amount", "Option", "Mixed", "Part Number"):
        for cell, text in zip(_cells(screened, name), _typed(name), strict=True):
            assert (cell.value or "") == text, (name, cell.value)
            if text:
                assert cell.data_type == "s", (name, cell.value)


def test_no_cell_becomes_a_formula(screened) -> None:  # type: ignore[no-untyped-def]
    for cell, text in zip(_cells(screened, "Remark"), _typed("Remark"), strict=True):
        assert (cell.value or "") == text
        if text:
            assert cell.data_type == "s", cell.value  # not "f"


def test_the_csv_output_keeps_the_text(screened, cli) -> None:  # type: ignore[no-untyped-def]
    source, _, _ = screened
    done = cli("screen", str(source), "-f", "csv", "-q")
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [row["Unit price"] for row in rows] == _typed("Unit price")
    # as typed, with the CSV's formula guard ("-$5.00" gets its "'")
    assert [row["Total"] for row in rows] == [guard_formula(text) for text in _typed("Total")]


@pytest.mark.parametrize(
    "text",
    ["0012", "1E5", "1e5", "+5", "1,234", "1.500", "12,50", "$-5", "$3€", "1234567890", ".5", "5."],
)
def test_read_number_leaves_ambiguous_text_and_part_numbers(text: str) -> None:
    assert read_number(text) is None


@pytest.mark.parametrize(
    ("text", "value"),
    [("89.50", 89.5), ("-2", -2), ("0.125", 0.125), ("$1,299.00", 1299.0), ("1,234,567", 1234567)],
)
def test_read_number_reads_plain_numbers(text: str, value: float) -> None:
    number = read_number(text)
    assert number is not None and number.value == value

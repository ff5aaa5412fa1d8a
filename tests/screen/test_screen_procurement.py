"""A realistic procurement list (203 rows), as CSV and as XLSX: every expected verdict checked."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import pytest

FIXTURE = Path(__file__).parent / "fixtures" / "procurement_list.csv"
FIXTURE_TEXT = FIXTURE.read_text(encoding="utf-8")
EXPECTED = list(csv.DictReader(io.StringIO(FIXTURE_TEXT, newline="")))


def check_rows(rows: list[dict[str, object]]) -> None:
    assert len(rows) == len(EXPECTED) >= 200
    wrong = [
        (expected["Item"], expected["Brand"], expected["Model"], row["maker"], row["status"])
        for row, expected in zip(rows, EXPECTED, strict=True)
        if (row["maker"] or "") != expected["expected_maker"]
        or row["status"] != expected["expected_status"]
    ]
    assert not wrong, wrong


def test_the_list_mixes_restricted_relabeled_and_unrelated_products() -> None:
    statuses = {row["expected_status"] for row in EXPECTED}
    assert statuses == {"restricted", "review", "clear", "unknown"}
    relabel_brands = {"LTS", "Amcrest", "Lorex", "Annke", "Interlogix", "Honeywell", "Swann"}
    assert relabel_brands <= {row["Brand"] for row in EXPECTED}


def test_csv_list_every_verdict(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    output = tmp_path / "screened.json"
    result = cli("screen", str(FIXTURE), "--output", str(output))
    assert result.exit_code == 0, result.output
    document = json.loads(output.read_text(encoding="utf-8"))
    check_rows(document["rows"])
    summary = document["summary"]
    assert summary["columns"] == {"brand": "Brand", "model": "Model", "description": "Description"}
    assert summary["restricted"] + summary["review"] + summary["clear"] + summary["unknown"] == 203
    assert "203 rows:" in result.output
    # The row number is the CSV line, so a reader can find the row in the file.
    assert document["rows"][0]["row"] == 2


def test_free_text_only_gives_the_same_verdicts(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # Given the same products as one free-text column ("Description Brand Model")
    lines = tmp_path / "lines.csv"
    with lines.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Line item"])
        for row in EXPECTED:
            writer.writerow([f"{row['Description']} {row['Brand']} {row['Model']}".strip()])
    output = tmp_path / "lines.json"
    result = cli("screen", str(lines), "-o", str(output))
    assert result.exit_code == 0, result.output
    check_rows(json.loads(output.read_text(encoding="utf-8"))["rows"])


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "BOM"
    sheet.append(["Project X camera refresh"])  # a title row above the header
    for record in csv.reader(io.StringIO(FIXTURE_TEXT, newline="")):
        sheet.append([int(cell) if cell.isdigit() else cell for cell in record])
    path = tmp_path / "bom.xlsx"
    book.save(path)
    return path


def test_xlsx_list_every_verdict_and_highlighted_output(
    cli, workbook: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    result = cli("screen", str(workbook), "-f", "json", "-o", str(tmp_path / "out.json"))
    assert result.exit_code == 0, result.output
    check_rows(json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))["rows"])

    out = tmp_path / "screened.xlsx"
    result = cli("screen", str(workbook), "--output", str(out), "--fail-on-restricted")
    assert result.exit_code == 3
    book = openpyxl.load_workbook(out)
    sheet = book.active
    assert sheet is not None
    # The output is the input workbook: the title row stays in row 1, the header in row 2.
    assert sheet["A1"].value == "Project X camera refresh"
    header = [cell.value for cell in sheet[2]]
    assert header[-9:] == [
        "maker",
        "provscan_brand",
        "relation",
        "restricted",
        "policies",
        "confidence",
        "reason",
        "verdict",
        "measures",
    ]
    status_column = header.index("restricted") + 1
    fills = {}
    for row in sheet.iter_rows(min_row=3):
        # The result cells are highlighted; the input's own cells keep their formatting.
        fills.setdefault(row[status_column - 1].value, row[status_column - 1].fill.fgColor.rgb)
        assert row[0].fill.fill_type is None
    assert fills["yes"].endswith("FFC7CE") and fills["review"].endswith("FFEB9C")


def test_csv_output_keeps_the_input_and_adds_columns(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out.csv"
    assert cli("screen", str(FIXTURE), "-o", str(out)).exit_code == 0
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
    assert rows[0][:7] == next(csv.reader(io.StringIO(FIXTURE_TEXT)))
    assert rows[0][7:] == [
        "maker",
        "provscan_brand",
        "relation",
        "restricted",
        "policies",
        "confidence",
        "reason",
        "verdict",
        "measures",
    ]
    assert len(rows) == 204

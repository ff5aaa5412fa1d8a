"""`provscan screen book.xlsx -o out.xlsx` writes the input workbook back with results (issue 9).

The workbook is built the way procurement workbooks look: a title block above the header,
formatting, widths, merged cells, formulas, other sheets, and formatted empty cells far to the
right (which inflate openpyxl's max_column).
"""

from __future__ import annotations

import csv
import io
import zipfile
from copy import copy
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.styles import Border, Font, PatternFill, Side
from openpyxl.worksheet.datavalidation import DataValidation

ADDED = [
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
HEADER = ["Item", "Brand", "Part Number", "Description", "Qty", "Unit price", "Total"]
DATA = [
    [1, "Hikvision", "DS-2CD2143G0-I", '4" dome, 2.8mm', 12, 89.5],
    [2, "Dahua", "IPC-HFW2431S-S-S2", "4MP bullet", 4, 65],
    [3, None, "NVR5216-4KS2", "16-channel NVR", 1, 420],  # Brand merged from the row above
    [4, "Axis", "P3225-LV Mk II", "  fixed dome", 8, 399],
    [5, "Annke", "C800", "4K PoE turret", 2, 110],
    [6, "Northwind", None, "camera pole", 2, 45],
]
#: The last column with a value is G ("Total"), so the results go in H to P.
FIRST_RESULT_COLUMN = 8


def make_workbook(path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "BOM"
    sheet["A1"] = "Project X camera refresh"
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.merge_cells("A1:G1")
    sheet.row_dimensions[1].height = 28
    sheet["A2"] = "Quote Q-2291, valid until 2024-06-30"
    sheet["A2"].font = Font(italic=True)
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    for column, name in enumerate(HEADER, start=1):
        cell = sheet.cell(row=3, column=column, value=name)
        cell.font = Font(bold=True)
        cell.fill = header_fill
    # The header colour runs on across empty cells to Z, as when a whole row is formatted.
    for column in range(len(HEADER) + 1, 27):
        sheet.cell(row=3, column=column).fill = header_fill
    for row_number, values in enumerate(DATA, start=4):
        for column, value in enumerate(values, start=1):
            if value is not None:
                sheet.cell(row=row_number, column=column, value=value)
        sheet.cell(row=row_number, column=6).number_format = "#,##0.00"
        sheet.cell(row=row_number, column=7, value=f"=E{row_number}*F{row_number}")
    sheet.merge_cells("B5:B6")
    # A bordered empty cell in column 300 of a data row (beyond what screening reads).
    sheet.cell(row=7, column=300).border = Border(bottom=Side(style="thin"))
    for letter, width in {"A": 6, "B": 16, "C": 22, "D": 34, "G": 12}.items():
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A4"
    quantity = DataValidation(type="whole", operator="greaterThan", formula1="0")
    sheet.add_data_validation(quantity)
    quantity.add("E4:E9")
    summary = book.create_sheet("Summary")
    summary["A1"] = "Total"
    summary["B1"] = "=SUM(BOM!G4:G9)"
    summary.column_dimensions["A"].width = 30
    notes = book.create_sheet("Notes")
    notes["A1"] = "Prices excl. VAT"
    book.save(path)


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    path = tmp_path / "bom.xlsx"
    make_workbook(path)
    return path


def style(cell: Any) -> tuple[object, ...]:
    # cell.font etc. are proxies, which compare equal only to the plain style objects.
    return (copy(cell.font), copy(cell.fill), copy(cell.border), cell.number_format)


def screen_xlsx(cli, source: Path, out: Path, *options: str):  # type: ignore[no-untyped-def]
    result = cli("screen", str(source), "-o", str(out), *options)
    assert result.exit_code == 0, result.output
    return result


def test_output_is_the_input_workbook_with_results_after_the_last_used_column(
    cli, workbook: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "screened.xlsx"
    result = screen_xlsx(cli, workbook, out, "--sheet", "BOM")
    assert "use --sheet" not in result.output
    assert "results are in columns H:P of sheet 'BOM'" in result.output
    before, after = openpyxl.load_workbook(workbook), openpyxl.load_workbook(out)
    # the workbook's own sheets, then the screening's context and the measures cited
    assert before.sheetnames == ["BOM", "Summary", "Notes"]
    assert after.sheetnames == [*before.sheetnames, "provscan screening", "provscan measures"]
    sheet = after["BOM"]

    # Every cell of the input: same value (formulas as formulas), font, fill, border and number
    # format; the result cells were empty (some formatted) before.
    results = range(FIRST_RESULT_COLUMN, FIRST_RESULT_COLUMN + len(ADDED))
    for name in before.sheetnames:
        for row in before[name].iter_rows():
            for old in row:
                new = after[name][old.coordinate]
                if name == "BOM" and old.column in results and 3 <= old.row <= 9:
                    assert old.value is None
                    continue
                assert new.value == old.value, old.coordinate
                assert style(new) == style(old), old.coordinate

    # Title rows, merged cells, widths, heights, panes and validation stay as they were.
    assert sheet["A1"].value == "Project X camera refresh" and sheet["A1"].font.size == 14
    assert sheet["A2"].value.startswith("Quote Q-2291")
    assert {str(merged) for merged in sheet.merged_cells.ranges} == {"A1:G1", "B5:B6"}
    for name in before.sheetnames:
        for letter, dimension in before[name].column_dimensions.items():
            assert after[name].column_dimensions[letter].width == dimension.width
    assert sheet.row_dimensions[1].height == 28
    assert sheet.freeze_panes == "A4"
    assert sheet["G4"].value == "=E4*F4" and sheet["G4"].data_type == "f"
    assert after["Summary"]["B1"].value == "=SUM(BOM!G4:G9)"
    assert len(sheet.data_validations.dataValidation) == 1

    # The results start right after column G, not after the formatted empty cells (Z, 300).
    header = [sheet.cell(row=3, column=column).value for column in range(1, results.stop)]
    assert header == [*HEADER, *ADDED]
    assert sheet.cell(row=3, column=FIRST_RESULT_COLUMN - 1).value == "Total"
    assert sheet.cell(row=3, column=FIRST_RESULT_COLUMN).font.bold
    restricted = FIRST_RESULT_COLUMN + ADDED.index("restricted")
    verdicts = [sheet.cell(row=row, column=restricted).value for row in range(4, 10)]
    assert verdicts == ["yes", "yes", "yes", "no", "review", "unknown"]
    makers = [sheet.cell(row=row, column=FIRST_RESULT_COLUMN).value for row in range(4, 10)]
    # every possible maker, as the table shows them (Annke: "Hikvision/Dahua?", only
    # possible); "" is empty
    assert makers == ["Hikvision", "Dahua", "Dahua", "Axis", "Hikvision/Dahua?", None]
    # Result cells are text, but the confidence, a number as the CSV writes it; all are
    # highlighted by status.
    confidence = FIRST_RESULT_COLUMN + ADDED.index("confidence")
    for row in range(4, 10):
        for column in results:
            cell = sheet.cell(row=row, column=column)
            if column == confidence:
                assert cell.data_type == "n" and isinstance(cell.value, int | float)
                assert cell.number_format == "0.00" and 0 <= cell.value <= 1
            else:
                assert cell.value is None or cell.data_type == "s"
    assert sheet.cell(row=4, column=restricted).fill.fgColor.rgb.endswith("FFC7CE")
    assert sheet.cell(row=8, column=restricted).fill.fgColor.rgb.endswith("FFEB9C")
    assert sheet.cell(row=7, column=restricted).fill.fill_type is None
    # Nothing beyond the results, and nothing in the title rows.
    assert all(
        sheet.cell(row=3, column=column).value is None for column in range(results.stop, 300)
    )
    assert all(sheet.cell(row=row, column=8).value is None for row in (1, 2))


def test_the_sheet_note_only_when_the_sheet_was_not_chosen(
    cli, workbook: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    result = screen_xlsx(cli, workbook, tmp_path / "a.xlsx")
    # the note names the sheet read, why, and the sheets not read (review 3)
    said = " ".join(result.output.split())
    assert "screened sheet 'BOM' (it has a header row naming product columns" in said
    assert "not screened: 'Summary', 'Notes' (use --sheet)" in said
    result = screen_xlsx(cli, workbook, tmp_path / "b.xlsx", "--sheet", "BOM")
    assert "use --sheet" not in result.output
    single = openpyxl.Workbook()
    sheet = single.active
    assert sheet is not None
    sheet.append(["Brand", "Model"])
    sheet.append(["Hikvision", "DS-2CD2143G0-I"])
    single.save(tmp_path / "single.xlsx")
    result = screen_xlsx(cli, tmp_path / "single.xlsx", tmp_path / "c.xlsx")
    assert "use --sheet" not in result.output


def test_a_later_sheet_can_be_screened_and_the_others_are_kept(
    cli, workbook: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    book = openpyxl.load_workbook(workbook)
    extra = book.create_sheet("Phase 2", 0)  # now the first sheet
    extra.append(["Manufacturer", "Model"])
    extra.append(["Lorex", "LNB8005"])
    book.save(workbook)
    out = tmp_path / "out.xlsx"
    screen_xlsx(cli, workbook, out, "--sheet", "BOM")
    after = openpyxl.load_workbook(out)
    assert after.sheetnames[:4] == ["Phase 2", "BOM", "Summary", "Notes"]
    assert [cell.value for cell in after["Phase 2"][1]] == ["Manufacturer", "Model"]
    assert after["BOM"].cell(row=3, column=FIRST_RESULT_COLUMN).value == "maker"


def test_xlsx_to_csv_has_no_padding_columns(cli, workbook: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out.csv"
    screen_xlsx(cli, workbook, out, "--sheet", "BOM")
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
    assert rows[0] == [*HEADER, *ADDED]
    assert {len(row) for row in rows} == {len(HEADER) + len(ADDED)}
    assert rows[4][3] == "  fixed dome"  # cells are written as they are in the sheet


def test_a_merged_range_past_the_values_pushes_the_results_right(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Brand", "Model", "Notes"])
    sheet.append(["Hikvision", "DS-2CD2143G0-I", "see drawing"])
    sheet.merge_cells("C2:E2")  # the note spans C to E; D and E hold no value
    source, out = tmp_path / "merged.xlsx", tmp_path / "out.xlsx"
    book.save(source)
    screen_xlsx(cli, source, out)
    after = openpyxl.load_workbook(out).active
    assert after is not None
    assert after["F1"].value == "maker" and after["F2"].value == "Hikvision"
    assert {str(merged) for merged in after.merged_cells.ranges} == {"C2:E2"}


@pytest.mark.parametrize("first_row", [1, 3])
def test_a_sheet_without_header(cli, tmp_path: Path, first_row: int) -> None:  # type: ignore[no-untyped-def]
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.cell(row=first_row, column=1, value="Hikvision DS-2CD2143G0-I")
    sheet.cell(row=first_row + 1, column=1, value="Axis M3045-V")
    source, out = tmp_path / "bare.xlsx", tmp_path / "out.xlsx"
    book.save(source)
    result = screen_xlsx(cli, source, out)
    after = openpyxl.load_workbook(out).active
    assert after is not None
    assert after.cell(row=first_row, column=1).value == "Hikvision DS-2CD2143G0-I"
    assert after.cell(row=first_row, column=2).value == "Hikvision"
    if first_row > 1:  # the names go in the empty row above the list
        assert after.cell(row=first_row - 1, column=2).value == "maker"
        assert after.cell(row=first_row - 1, column=1).value is None
    else:  # no room: the note names them
        assert "no header row to name the result columns B:J" in result.output


CONTENT_TYPES = {
    "xlsm": "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    "xltx": "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
}
PLAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


@pytest.mark.parametrize("suffix", ["xlsm", "xltx"])
def test_macro_and_template_workbooks_are_written_as_plain_xlsx(
    cli, workbook: Path, tmp_path: Path, suffix: str
) -> None:  # type: ignore[no-untyped-def]
    # Given the workbook re-packed as a macro workbook (with a VBA part) or a template
    source = tmp_path / f"bom.{suffix}"
    with zipfile.ZipFile(workbook) as old, zipfile.ZipFile(source, "w") as new:
        for item in old.infolist():
            data = old.read(item.filename)
            if item.filename == "[Content_Types].xml":
                data = data.replace(PLAIN.encode(), CONTENT_TYPES[suffix].encode())
            new.writestr(item, data)
        if suffix == "xlsm":
            new.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 not really VBA")
    out = tmp_path / "out.xlsx"
    result = screen_xlsx(cli, source, out, "--sheet", "BOM")
    with zipfile.ZipFile(out) as archive:
        assert not any("vba" in name.lower() for name in archive.namelist())
        types = archive.read("[Content_Types].xml").decode()
    assert PLAIN in types and CONTENT_TYPES[suffix] not in types
    assert ("macros (VBA) are not copied" in result.output) is (suffix == "xlsm")
    after = openpyxl.load_workbook(out)
    assert after["BOM"].cell(row=3, column=FIRST_RESULT_COLUMN).value == "maker"

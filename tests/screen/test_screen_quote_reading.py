"""How ``provscan screen`` reads real supplier quotes: problems a procurement officer found.

Found: a quote whose real header ("Manufacturer | Part Number | Qty | Unit price") sits under
a title and a row of merged group labels ("Product", "Pricing") was read with the group
labels as its header, so the header was screened as a product and ``--brand-col
Manufacturer`` failed; a "Make/Model" header was not recognised and a "Note: prices valid
30 days" row was counted as a product; the rows left out were said twice; the part-number
warning asked for a column that a description-only quote does not have; notes and warnings
ran past 80 columns; an XLSX named .xls leaked openpyxl's advice; and a Python script was
screened as a one-column list. Every test builds its files in a temporary directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from provscan.screening.columns import choose_columns, is_header_row
from provscan.screening.tables import read_table

EXIT_USAGE = 2


def screen(
    *args: str, stdin: bytes | None = None, columns: int = 80
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": str(columns)}
    return subprocess.run(
        [sys.executable, "-m", "provscan", "screen", *args],
        capture_output=True,
        input=stdin.decode("utf-8") if stdin is not None else None,
        text=True,
        timeout=180,
        env=env,
    )


def flat(text: str) -> str:
    return " ".join(text.split())


def two_row_header_quote(path: Path) -> Path:
    """A title, merged group labels over the columns, the real header on row 3, then data."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Quote"
    sheet.append(["Quote Q-2291 for Department X"])
    sheet.append(["Product", None, "Pricing", None])
    sheet.merge_cells("A2:B2")
    sheet.merge_cells("C2:D2")
    sheet.append(["Manufacturer", "Part Number", "Qty", "Unit price"])
    sheet.append(["Hikvision", "DS-2CD2143G0-I", 4, 120])
    sheet.append(["Axis", "P3245-LV", 2, 300])
    workbook.save(path)
    return path


# --- 1. a header under a title and group labels ------------------------------------------


def test_the_header_under_group_labels_is_the_header(tmp_path: Path) -> None:
    path = two_row_header_quote(tmp_path / "q.xlsx")
    table = read_table(path)
    assert table.header[:4] == ["Manufacturer", "Part Number", "Qty", "Unit price"]
    assert table.row_numbers == [4, 5]
    done = screen(str(path), "-f", "json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    # Then the products are the two data rows, the header is no product
    assert [row["row"] for row in document["rows"]] == [4, 5]
    assert [row["verdict"] for row in document["rows"]] == ["restricted", "clear"]
    said = flat(done.stderr)
    assert "brand='Manufacturer', model='Part Number'" in said, said
    assert "2 row(s) above the header row were not screened" in said, said
    # the group labels above the header are not read: their merged ranges are not noted
    assert "merged" not in said, said
    assert document["summary"]["rows"] == 2


def test_brand_and_model_columns_are_found_by_the_real_header(tmp_path: Path) -> None:
    path = two_row_header_quote(tmp_path / "q.xlsx")
    output = tmp_path / "out.xlsx"
    done = screen(
        str(path), "--brand-col", "Manufacturer", "--model-col", "Part Number", "-o", str(output)
    )
    assert done.returncode == 0, done.stderr
    # The XLSX output names its result columns on the real header row, beside its cells
    sheet = openpyxl.load_workbook(output)["Quote"]
    assert sheet["E3"].value == "maker" and sheet["E2"].value is None
    assert sheet["E1"].value is None
    assert sheet["E4"].value == "Hikvision" and sheet["E5"].value == "Axis"
    assert sheet["A2"].value == "Product" and sheet["C2"].value == "Pricing"


def test_a_column_not_found_says_which_row_was_the_header(tmp_path: Path) -> None:
    path = two_row_header_quote(tmp_path / "q.xlsx")
    done = screen(str(path), "--brand-col", "Maker", "-f", "csv")
    assert done.returncode == EXIT_USAGE
    said = flat(done.stderr)
    assert "column 'Maker' is not in the file" in said, said
    assert "the header was read from row 3" in said and "--header-row" in said, said


def test_header_row_names_the_header(tmp_path: Path) -> None:
    # Given a quote whose header names no column provscan knows, under a title that does
    path = tmp_path / "odd.csv"
    path.write_text(
        "Product list\nSupplier,Code,Qty\nAcme,DS-2CD2143G0-I,2\nAcme,P3245-LV,1\n",
        encoding="utf-8",
    )
    done = screen(str(path), "--header-row", "2", "--model-col", "Code", "-f", "json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["rows"]
    assert [row["row"] for row in rows] == [3, 4]
    assert [row["maker"] for row in rows] == ["Hikvision", "Axis"]
    # a row that is not in the file is refused in one line
    done = screen(str(path), "--header-row", "9", "-f", "csv")
    assert done.returncode == EXIT_USAGE
    assert "--header-row 9: row 9 of" in done.stderr


def test_a_product_named_like_a_header_word_does_not_become_the_header(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("Description,Qty\nLabel,2\nHikvision DS-2CD2143G0-I,1\n", encoding="utf-8")
    table = read_table(path)
    assert table.header == ["Description", "Qty"]
    assert table.row_numbers == [2, 3]


# --- 2. combined headers and note rows ---------------------------------------------------


@pytest.mark.parametrize(
    "header",
    ["Make/Model", "Brand / Model", "Manufacturer & Part No.", "Marque et modèle", "Make & Model"],
)
def test_a_combined_header_is_a_header(header: str) -> None:
    assert is_header_row([header, "Qty", "Price"])
    assert choose_columns([header, "Qty", "Price"]).model == 0


def test_a_header_part_that_names_no_column_makes_no_combined_header() -> None:
    assert not is_header_row(["Qty/Unit", "Price"])


def test_make_model_header_and_note_rows(tmp_path: Path) -> None:
    path = tmp_path / "mm.csv"
    path.write_text(
        "Make/Model,Qty,Price\n"
        "Hikvision DS-2CD2143G0-I,4,120\n"
        "Axis P3245-LV,2,300\n"
        "Note: prices valid 30 days\n"
        "Remarque : délai de livraison 4 semaines\n"
        "Terms and conditions apply\n",
        encoding="utf-8",
    )
    done = screen(str(path), "-f", "json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert [row["row"] for row in document["rows"]] == [2, 3]
    assert [row["maker"] for row in document["rows"]] == ["Hikvision", "Axis"]
    said = flat(done.stderr)
    assert "model='Make/Model'" in said, said
    assert "no header row" not in said, said
    assert (
        "3 row(s) not screened, not products: row 4 (a note), row 5 (a note), row 6 (a note)"
        in said
    )
    assert document["summary"]["rows"] == 2


def test_a_one_column_part_list_keeps_every_part(tmp_path: Path) -> None:
    path = tmp_path / "parts.txt"
    path.write_text("DS-2CD2143G0-I\nP3245-LV\nIPC-HFW2431S-S-S2\nNotebook 14\n", encoding="utf-8")
    done = screen(str(path), "-f", "json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["rows"]
    assert len(rows) == 4
    assert [row["maker"] for row in rows][:3] == ["Hikvision", "Axis", "Dahua"]


# --- 3. the rows left out are said once ------------------------------------------------


def test_the_rows_left_out_are_said_once(tmp_path: Path) -> None:
    path = tmp_path / "total.csv"
    path.write_text(
        "Brand,Model,Qty\nHikvision,DS-2CD2143G0-I,4\nAxis,P3245-LV,2\nTotal,,6\n",
        encoding="utf-8",
    )
    done = screen(str(path), "-f", "csv")
    assert done.returncode == 0, done.stderr
    said = flat(done.stderr)
    assert said.count("not products") == 1, said
    assert "1 row(s) not screened, not products: row 4 (a total)" in said
    assert "skipped" not in said, said


def test_the_audit_sheet_counts_the_rows_left_out_and_names_them(tmp_path: Path) -> None:
    """The XLSX output's audit sheet gives how many rows were left out, then which: the
    numbers alone ("4") read as a count of rows."""
    import openpyxl

    path = tmp_path / "total.csv"
    path.write_text(
        "Brand,Model,Qty\nHikvision,DS-2CD2143G0-I,4\nAxis,P3245-LV,2\nTotal,,6\n",
        encoding="utf-8",
    )
    output = tmp_path / "out.xlsx"
    done = screen(str(path), "-o", str(output))
    assert done.returncode == 0, done.stderr
    sheet = openpyxl.load_workbook(output)["provscan screening"]
    said = {row[0]: row[1] for row in sheet.iter_rows(values_only=True) if row and row[0]}
    assert said["Rows skipped (not products)"] == "1 (row 4)"


# --- 4. the part-number warning of a description-only quote -----------------------------


def test_the_warning_says_part_numbers_are_read_from_the_description(tmp_path: Path) -> None:
    path = tmp_path / "desc.csv"
    path.write_text(
        "Description,Qty,Unit\nHikvision DS-2CD2143G0-I dome camera,4,ea\nAxis P3245-LV,2,ea\n",
        encoding="utf-8",
    )
    done = screen(str(path), "-f", "csv")
    assert done.returncode == 0, done.stderr
    said = flat(done.stderr)
    assert "part numbers are read from the description column 'Description'" in said, said
    assert "use --model-col to name it" not in said, said


# --- 5. notes and warnings wrapped at the terminal's width -------------------------------


def test_notes_and_warnings_are_wrapped_at_80_columns(tmp_path: Path) -> None:
    path = tmp_path / "desc.csv"
    path.write_text(
        "Description,Qty,Unit\n"
        "Hikvision DS-2CD2143G0-I dome camera,4,ea\n"
        "Axis P3245-LV,2,ea\n"
        "Total,,\n",
        encoding="utf-8",
    )
    done = screen(str(path), "-f", "csv", columns=80)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert max(len(line) for line in lines) <= 80, done.stderr
    assert any(line.startswith("provscan: warning: ") for line in lines), done.stderr
    # continued lines are indented: not read as new messages
    bare = tmp_path / "bare.csv"
    bare.write_text("Hikvision DS-2CD2143G0-I, 2\nAxis M3045-V, 1\n", encoding="utf-8")
    done = screen(str(bare), "-f", "csv", columns=80)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert max(len(line) for line in lines) <= 80, done.stderr
    assert all(line.startswith(("note: ", "columns: ", "  ", "2 rows")) for line in lines), lines


# --- 6. an XLSX named .xls ---------------------------------------------------------------


def test_an_xlsx_named_xls_is_read_as_xlsx_without_library_advice(tmp_path: Path) -> None:
    path = tmp_path / "q.xls"
    path.write_bytes(two_row_header_quote(tmp_path / "q.xlsx").read_bytes())
    done = screen(str(path), "-f", "json")
    assert done.returncode == 0, done.stderr
    assert [row["row"] for row in json.loads(done.stdout)["rows"]] == [4, 5]
    assert "openpyxl" not in done.stderr and "xlrd" not in done.stderr
    assert "q.xls is an XLSX workbook named .xls: read as XLSX" in flat(done.stderr)
    # and its XLSX output is written too
    output = tmp_path / "out.xlsx"
    done = screen(str(path), "-o", str(output), "-q")
    assert done.returncode == 0, done.stderr
    assert openpyxl.load_workbook(output)["Quote"]["E3"].value == "maker"


# --- 7. programs and scripts are no lists -----------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "what"),
    [
        ("mk.py", '"""Build things."""\nimport os\n\nprint(os.name)\n', "a Python script"),
        ("run.sh", "echo hello\n", "a shell script"),
        ("app.js", "console.log(1)\n", "a JavaScript file"),
        ("tool.exe", "MZ not really\n", "a Windows program"),
        ("list.csv", "#!/usr/bin/env python3\nprint(1)\n", "a script"),
        ("list.csv", "import os\nprint(os.name)\n", "program source code"),
    ],
)
def test_a_program_is_refused_in_one_line(tmp_path: Path, name: str, text: str, what: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    done = screen(str(path), "-f", "csv", columns=200)
    assert done.returncode == EXIT_USAGE, done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"is {what}" in lines[0] and "not a product list" in lines[0], lines


def test_a_script_on_standard_input_is_refused(tmp_path: Path) -> None:
    done = screen("-", "-f", "csv", stdin=b"#!/bin/sh\nrm -rf /tmp/nothing\n")
    assert done.returncode == EXIT_USAGE, done.stderr
    assert "is a script" in done.stderr


def test_a_list_titled_import_is_still_read(tmp_path: Path) -> None:
    path = tmp_path / "import.csv"
    path.write_text("Import list 2026\nBrand,Model\nHikvision,DS-2CD2143G0-I\n", encoding="utf-8")
    done = screen(str(path), "-f", "json")
    assert done.returncode == 0, done.stderr
    assert [row["maker"] for row in json.loads(done.stdout)["rows"]] == ["Hikvision"]

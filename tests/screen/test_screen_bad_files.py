"""Bad procurement files: a clear message and exit code, no traceback, the input untouched."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

EXIT_USAGE = 2


def fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.csv", b"", "is empty"),
        ("blank.csv", b"\n\n  \n", "no text"),
        ("header.csv", b"Brand,Model\n", "no data rows"),
        (
            "latin1.csv",
            "Brand,Model\nHikvision,Caméra DS-2CD2143G0-I\n".encode("cp1252"),
            "is not UTF-8",
        ),
        ("garbage.csv", bytes(range(256)) * 8, "NUL bytes"),
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "legacy Excel .xls"),
        ("fake.xlsx", b"PK\x03\x04 this is not a zip", "not a readable XLSX"),
    ],
)
def test_unreadable_files_get_a_clear_message(
    cli, tmp_path: Path, name: str, data: bytes, message: str
) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, name, data)
    before = fingerprint(path)
    result = cli("screen", str(path))
    assert result.exit_code == EXIT_USAGE
    assert message in result.output and "Traceback" not in result.output
    assert fingerprint(path) == before


def test_wrong_encoding_can_be_named(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(
        tmp_path, "latin1.csv", "Marque;Modèle\nHikvision;DS-2CD2143G0-I\n".encode("cp1252")
    )
    result = cli("screen", str(path), "--encoding", "cp1252", "-f", "json")
    assert result.exit_code == 0, result.output
    assert '"maker": "Hikvision"' in result.output


def test_zip_that_is_not_a_workbook(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "doc.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("content.xml", "<doc/>")
    result = cli("screen", str(path))
    assert result.exit_code == EXIT_USAGE and "not an XLSX workbook" in result.output


def test_huge_files_are_refused_by_size_and_rows(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, "big.csv", b"Brand,Model\n" + b"Hikvision,DS-2CD2143G0-I\n" * 5000)
    result = cli("screen", str(path), "--max-bytes", "10000")
    assert (
        result.exit_code == EXIT_USAGE
        and "over the" in result.output
        and "--max-bytes" in result.output
    )
    result = cli("screen", str(path), "--max-rows", "100")
    assert result.exit_code == EXIT_USAGE and "more than 100 rows" in result.output


def test_formulas_are_neutralised_in_csv_and_xlsx_output(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # Given input cells that a spreadsheet would execute
    path = write(
        tmp_path,
        "formulas.csv",
        b'Brand,Model,Notes\n=cmd|\' /C calc\'!A0,DS-2CD2143G0-I,"=HYPERLINK(""http://x"")"\n'
        b"@SUM(1+1),+1234,-2\n",
    )
    before = fingerprint(path)
    out_csv = tmp_path / "out.csv"
    assert cli("screen", str(path), "-o", str(out_csv)).exit_code == 0
    for row in list(csv.reader(io.StringIO(out_csv.read_text(encoding="utf-8"))))[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), cell
    out_xlsx = tmp_path / "out.xlsx"
    assert cli("screen", str(path), "-o", str(out_xlsx)).exit_code == 0
    book = openpyxl.load_workbook(out_xlsx)
    sheet = book.active
    assert sheet is not None
    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value]
    # text, but the confidence (a number): nothing is a formula
    assert all(cell.data_type == "s" for cell in cells if isinstance(cell.value, str))
    assert all(cell.data_type in ("s", "n") for cell in cells)
    assert any(str(cell.value).startswith("=HYPERLINK") for cell in cells)  # kept as text
    assert fingerprint(path) == before


def test_xlsx_formulas_are_read_as_saved_values_and_merged_cells_are_filled(
    cli, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Manufacturer", "Part Number", "Description"])
    sheet.append(["Hikvision", "DS-2CD2143G0-I", "dome"])
    sheet.append([None, "DS-7608NI-K2/8P", "NVR"])
    sheet.append([None, "DS-2DE4A425IW-DE", "PTZ"])
    sheet.append(["Axis", '=A2&"x"', "formula without a saved value"])
    sheet.merge_cells("A2:A4")
    path = tmp_path / "merged.xlsx"
    book.save(path)
    before = fingerprint(path)
    result = cli("screen", str(path), "-f", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [row["maker"] for row in document["rows"]] == ["Hikvision"] * 3 + ["Axis"]
    assert "merged cell range" in result.output
    assert fingerprint(path) == before


def test_output_may_not_overwrite_the_input(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, "list.csv", b"Brand,Model\nHikvision,DS-2CD2143G0-I\n")
    before = fingerprint(path)
    result = cli("screen", str(path), "-o", str(path))
    assert result.exit_code == EXIT_USAGE and "is also an input" in result.output
    assert fingerprint(path) == before


def test_column_overrides_and_unknown_column(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, "odd.csv", b"Supplier,Ref,Text\nADI,CMIP7442W-28M,LTS turret\n")
    result = cli("screen", str(path), "--model-col", "Ref", "--desc-col", "3", "-f", "json")
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)["rows"][0]
    assert (row["maker"], row["brand"]) == ("Hikvision", "LTS")
    result = cli("screen", str(path), "--brand-col", "Vendor")
    assert result.exit_code == EXIT_USAGE and "columns are:" in result.output


def test_missing_file_and_xlsx_to_terminal(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("screen", str(tmp_path / "nope.csv"))
    assert result.exit_code == EXIT_USAGE and "no such file" in result.output
    path = write(tmp_path, "l.csv", b"Brand\nDahua\n")
    result = cli("screen", str(path), "-f", "xlsx")
    assert result.exit_code == EXIT_USAGE and "needs --output" in result.output
    # (said the same whether standard output is a terminal or a pipe)
    assert "not text for standard output" in result.output and "terminal" not in result.output


def test_real_process_prints_no_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, "garbage.csv", os.urandom(2048) + b"\x00")
    result = subprocess.run(
        [sys.executable, "-m", "provscan", "screen", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == EXIT_USAGE
    assert "provscan: error:" in result.stderr and "Traceback" not in result.stderr

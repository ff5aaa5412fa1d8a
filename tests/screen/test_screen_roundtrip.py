"""`provscan screen` writes a CSV list back unchanged, with the result columns appended (issue 9).

The fixtures are shaped like real exports (see each ``Export``); the first test checks that
they still are, so that re-saving one in an editor cannot quietly weaken the others.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
ADDED = [
    "maker",
    "brand",
    "relation",
    "restricted",
    "policies",
    "confidence",
    "reason",
    "verdict",
    "measures",
]


@dataclass(frozen=True)
class Export:
    name: str
    encoding: str
    bom: bytes
    delimiter: str
    ending: str
    #: Index of the header among the file's records (title and blank rows come first).
    header: int
    #: The last record has no line ending (Google Sheets).
    final_ending: bool = True
    options: tuple[str, ...] = ()

    @property
    def path(self) -> Path:
        return FIXTURES / self.name


EXPORTS = [
    # Excel for Windows "CSV UTF-8": BOM, CRLF, padded title and blank rows, LF inside quotes.
    Export("excel_csv_utf8.csv", "utf-8", codecs.BOM_UTF8, ",", "\r\n", header=2),
    # LibreOffice Calc (Linux) Text CSV defaults: UTF-8, LF, quotes only where needed.
    Export("libreoffice.csv", "utf-8", b"", ",", "\n", header=0),
    # Google Sheets download: CRLF, no BOM, no line ending after the last record.
    Export("google_sheets.csv", "utf-8", b"", ",", "\r\n", header=0, final_ending=False),
    # Excel with German settings: cp1252, ";", CRLF, decimal commas, German headers.
    Export(
        "excel_semicolon_cp1252.csv",
        "cp1252",
        b"",
        ";",
        "\r\n",
        header=2,
        options=(
            "--encoding",
            "cp1252",
            "--brand-col",
            "Hersteller",
            "--model-col",
            "Modell",
            "--desc-col",
            "Beschreibung",
        ),
    ),
    # A tab-delimited export (ERP, web shop): UTF-8, LF, commas and semicolons in cells.
    Export("tab_delimited.tsv", "utf-8", b"", "\t", "\n", header=0),
]
IDS = [export.name for export in EXPORTS]


@dataclass(frozen=True)
class Record:
    raw: str
    cells: list[str]


def records(data: bytes, export: Export) -> list[Record]:
    """The file's records, each with its exact text, parsed as RFC 4180 with a known delimiter."""
    assert data.startswith(export.bom)
    text = data[len(export.bom) :].decode(export.encoding)
    lines = io.StringIO(text, newline="")
    taken: list[str] = []

    def feed():  # type: ignore[no-untyped-def]
        for line in lines:
            taken.append(line)
            yield line

    found = []
    for cells in csv.reader(feed(), delimiter=export.delimiter):
        found.append(Record("".join(taken), cells))
        taken.clear()
    return found


def ending(raw: str) -> str:
    return next((end for end in ("\r\n", "\n", "\r") if raw.endswith(end)), "")


def screen_to_csv(cli, export: Export, tmp_path: Path, *extra: str) -> bytes:  # type: ignore[no-untyped-def]
    out = tmp_path / f"out-{export.name}"
    result = cli("screen", str(export.path), "-o", str(out), *export.options, *extra)
    assert result.exit_code == 0, result.output
    return out.read_bytes()


@pytest.mark.parametrize("export", EXPORTS, ids=IDS)
def test_fixture_has_the_shape_of_its_export(export: Export) -> None:
    data = export.path.read_bytes()
    assert data.startswith(codecs.BOM_UTF8) == (export.bom == codecs.BOM_UTF8)
    found = records(data, export)
    endings = {ending(record.raw) for record in found[:-1]}
    assert endings == {export.ending}
    assert (ending(found[-1].raw) == export.ending) is export.final_ending
    raw = data.decode(export.encoding, errors="replace")
    # Every fixture has a doubled quote inside a quoted cell and leading spaces in a cell.
    assert '""' in raw
    assert any(cell.startswith(" ") for record in found for cell in record.cells)
    if export.delimiter != ";":
        # ... and, except the cp1252 one, a line break inside a quoted cell.
        assert any("\n" in cell for record in found for cell in record.cells)
    if export.encoding == "cp1252":
        assert "2,8 mm" in raw and "\u20ac" in raw  # decimal comma, euro sign (0x80)


@pytest.mark.parametrize("export", EXPORTS, ids=IDS)
def test_every_input_cell_comes_back_unchanged_with_results_appended(
    cli, export: Export, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    before = records(export.path.read_bytes(), export)
    output = screen_to_csv(cli, export, tmp_path)
    after = records(output, export)  # same BOM, encoding and delimiter, or this fails
    assert len(after) == len(before)
    screened = range(export.header, len(before))
    width = max(len(before[index].cells) for index in screened if before[index].cells)
    for index, (old, new) in enumerate(zip(before, after, strict=True)):
        if index < export.header or not any(cell.strip() for cell in old.cells):
            assert new.raw == old.raw  # title and blank rows: byte for byte
            continue
        # The input's cells, then empty cells up to the widest row, then the results.
        assert new.cells[: len(old.cells)] == old.cells
        assert new.cells[len(old.cells) : width] == [""] * (width - len(old.cells))
        assert len(new.cells) == width + len(ADDED)
        # The input's bytes are kept, the results are appended before the same line ending.
        kept = old.raw[: len(old.raw) - len(ending(old.raw))]
        assert new.raw.startswith(kept + export.delimiter)
        assert ending(new.raw) == ending(old.raw)
    names = after[export.header].cells[width:]
    assert [name.removeprefix("provscan_") for name in names] == ADDED


def test_tricky_cells_are_identified_and_kept(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    export = EXPORTS[0]
    after = records(screen_to_csv(cli, export, tmp_path), export)
    by_item = {record.cells[0]: record.cells for record in after if record.cells[0].isdigit()}
    maker, restricted = 7, 10
    # A doubled quote and a comma inside one cell: still one cell, still identified.
    assert by_item["1"][3] == '4" dome, 2.8mm'
    assert (by_item["1"][maker], by_item["1"][restricted]) == ("Hikvision", "yes")
    # A line break inside a cell.
    assert by_item["2"][3] == "Turret camera\nIR 30m, PoE"
    assert (by_item["2"][maker], by_item["2"][restricted]) == ("Hikvision", "yes")
    # Leading and trailing spaces are kept in the output; matching ignores them.
    assert by_item["3"][3] == "  fixed dome"
    assert by_item["4"][6] == "trailing space "
    assert (by_item["4"][maker], by_item["4"][restricted]) == ("Dahua", "yes")


def test_row_numbers_are_the_rows_a_spreadsheet_shows(cli) -> None:  # type: ignore[no-untyped-def]
    export = EXPORTS[0]
    result = cli("screen", str(export.path), "-f", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["rows"]
    # Item 2 (row 5) has a description spanning two lines of the file: one row all the same,
    # so item 3 is row 6 (it starts on line 7; the line was shown as its row before).
    assert [row["row"] for row in rows] == [4, 5, 6, 7, 8, 10]
    # the spreadsheet's rows are the records Python's csv module reads, one per row
    text = export.path.read_bytes().decode("utf-8-sig")
    records = list(csv.reader(io.StringIO(text, newline=""), delimiter=export.delimiter))
    for row in rows:
        part = row["input"].split()[0]
        assert any(part in cell for cell in records[row["row"] - 1]), (row["row"], part)


def test_semicolon_export_with_decimal_commas_keeps_its_encoding(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    export = EXPORTS[3]
    output = screen_to_csv(cli, export, tmp_path)
    # cp1252 in, cp1252 out: the euro sign is still the single byte 0x80.
    assert "Einzelpreis \u20ac;maker;".encode("cp1252") in output
    assert b"Objektiv 2,8 mm;12;89,50;Hikvision;" in output


def test_excel_unicode_text_export_round_trips(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # Excel "Unicode Text": UTF-16 LE with a BOM, tab-delimited, CRLF.
    text = FIXTURES.joinpath("tab_delimited.tsv").read_bytes().decode("utf-8")
    text = text.replace("\n", "\r\n").replace("Ranger 2\r\npan", "Ranger 2\npan")
    path = tmp_path / "unicode.txt"
    path.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    export = Export(path.name, "utf-16-le", codecs.BOM_UTF16_LE, "\t", "\r\n", header=0)
    out = tmp_path / "out.txt"
    assert cli("screen", str(path), "-o", str(out)).exit_code == 0
    before, after = records(path.read_bytes(), export), records(out.read_bytes(), export)
    assert len(after) == len(before)
    for old, new in zip(before, after, strict=True):
        assert new.cells[: len(old.cells)] == old.cells
        assert new.raw.endswith("\r\n")


def test_short_rows_are_padded_so_the_results_line_up(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "ragged.csv"
    path.write_bytes(
        b"Brand,Model,Description,Qty\nHikvision,DS-2CD2143G0-I\nAxis,M3045-V,dome,2\n"
    )
    out = tmp_path / "out.csv"
    assert cli("screen", str(path), "-o", str(out)).exit_code == 0
    lines = out.read_bytes().split(b"\n")
    assert lines[1].startswith(b"Hikvision,DS-2CD2143G0-I,,,Hikvision,Hikvision,own_brand,yes,")
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
    assert {len(row) for row in rows} == {4 + len(ADDED)}


def test_a_list_without_header_comes_back_without_one(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # No header line is invented: each row comes back as it was with the results appended,
    # and a note on stderr names the result columns.
    path = tmp_path / "bare.csv"
    path.write_bytes(b"Hikvision DS-2CD2143G0-I, 2\r\nAxis M3045-V, 1\r\n")
    out = tmp_path / "out.csv"
    result = cli("screen", str(path), "-o", str(out))
    assert result.exit_code == 0
    data = out.read_bytes()
    lines = data.split(b"\r\n")
    assert lines[0].startswith(b"Hikvision DS-2CD2143G0-I, 2,Hikvision,Hikvision,own_brand,yes,")
    assert lines[1].startswith(b"Axis M3045-V, 1,Axis,Axis,unrelated,no,")
    assert lines[2] == b""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert [len(row) for row in rows] == [2 + len(ADDED)] * 2
    assert (
        f"note: no header row to name the result columns: each row ends with {', '.join(ADDED)}"
        in " ".join(result.output.split())  # wrapped at the terminal's width
    )
    # the same without --output: the list on stdout, the note on stderr
    piped = cli("screen", str(path))
    assert piped.stdout.splitlines()[:2] == [line.decode() for line in lines[:2]]


def test_a_list_with_a_header_gets_no_columns_note(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "list.csv"
    path.write_bytes(b"Brand,Model\nHikvision,DS-2CD2143G0-I\n")
    result = cli("screen", str(path), "-o", str(tmp_path / "out.csv"))
    assert result.exit_code == 0
    assert "no header row" not in result.output


def test_the_formula_guard_is_the_one_change(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # Cells a spreadsheet would run get a leading "'" (input cells and result cells alike);
    # every other cell of the row, and every other row, stays as it was.
    path = tmp_path / "formulas.csv"
    path.write_bytes(
        b"@title row\r\n"
        b'Brand,Model,Notes,Delta\r\n"Hikvision","DS-2CD2143G0-I",=SUM(A1:A9),-2\r\n'
        b'Axis,"M3045-V",  plain  ,3\r\n'
    )
    out = tmp_path / "out.csv"
    assert cli("screen", str(path), "-o", str(out)).exit_code == 0
    lines = out.read_bytes().split(b"\r\n")
    assert lines[0] == b"'@title row"
    assert lines[2].startswith(b"Hikvision,DS-2CD2143G0-I,'=SUM(A1:A9),'-2,Hikvision,")
    assert lines[3].startswith(b'Axis,"M3045-V",  plain  ,3,Axis,')  # unchanged bytes


def test_an_unclosed_quote_at_the_end_still_round_trips(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "unclosed.csv"
    path.write_bytes(b'Brand,Model,Notes\nHikvision,DS-2CD2143G0-I,"open quote\n')
    out = tmp_path / "out.csv"
    assert cli("screen", str(path), "-o", str(out)).exit_code == 0
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
    assert rows[1][:3] == ["Hikvision", "DS-2CD2143G0-I", "open quote\n"]
    assert rows[1][3:5] == ["Hikvision", "Hikvision"]


@pytest.mark.parametrize(
    ("data", "expected_columns"),
    [
        # semicolons inside cells of a comma file
        (b"Brand,Model,Description\nHikvision,DS-2CD2143G0-I,dome; 2.8mm; IR\n", 3),
        # decimal commas inside cells of a semicolon file
        (b"Brand;Model;Lens\nHikvision;DS-2CD2143G0-I;2,8\nAxis;M3045-V;2,8\n", 3),
        # a one-column list
        (b"Description\nHikvision DS-2CD2143G0-I\n", 1),
    ],
)
def test_only_the_delimiter_is_guessed(
    cli, tmp_path: Path, data: bytes, expected_columns: int
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "list.csv"
    path.write_bytes(data)
    result = cli("screen", str(path), "-f", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"][0]["maker"] == "Hikvision"
    out = tmp_path / "out.csv"
    assert cli("screen", str(path), "-o", str(out)).exit_code == 0
    header = out.read_bytes().split(b"\n")[0]
    delimiter = b";" if b";Model;" in data else b","
    assert header.split(delimiter)[expected_columns] == b"maker"

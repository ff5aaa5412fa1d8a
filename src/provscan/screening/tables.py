"""Reading procurement lists (CSV, XLSX) and writing them back with the screening columns.

Input files are hostile in the mundane way: wrong encodings, binary files with a .csv name,
spreadsheets with formulas, merged cells and a million empty rows, zip bombs. Each is refused
with a message that says what to do, or handled and noted; the input is only ever read.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from provscan.errors import ProvscanError
from provscan.report.formats import _csv_cell
from provscan.screening.columns import header_key, is_header_row
from provscan.screening.verdict import ScreenRow

#: Refuse lists longer than this (rows after the header); --max-rows overrides.
MAX_ROWS = 100_000
#: Refuse input files larger than this; --max-bytes overrides.
MAX_FILE_BYTES = 50 * 1024 * 1024
#: An XLSX whose parts unpack to more than this is refused (zip bomb).
MAX_XLSX_UNPACKED_BYTES = 512 * 1024 * 1024
#: Columns read from a sheet; procurement lists are narrow, stray formatting can be wide.
MAX_COLUMNS = 256
#: The header row is looked for among this many first non-empty rows (titles may sit above).
HEADER_SEARCH_ROWS = 10
#: Characters kept from one cell.
MAX_CELL_CHARS = 4096
#: Added columns, in order; prefixed with "provscan_" when the input already has the name.
ADDED_COLUMNS = ("maker", "brand", "relation", "restricted", "policies", "confidence", "reason")

_XLSX_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

InputKind = Literal["csv", "xlsx"]


class ScreenInputError(ProvscanError):
    """A procurement list could not be read; the message says why and what to do."""


@dataclass(frozen=True)
class InputTable:
    path: Path
    kind: InputKind
    header: list[str]
    has_header: bool
    rows: list[list[str]]
    #: The line (CSV) or sheet row (XLSX) number of each data row, for the report.
    row_numbers: list[int]
    notes: list[str] = field(default_factory=list)


def read_table(
    path: Path,
    *,
    encoding: str | None = None,
    sheet: str | None = None,
    max_rows: int = MAX_ROWS,
    max_bytes: int = MAX_FILE_BYTES,
    header_names: Sequence[str] = (),
) -> InputTable:
    """Read a CSV or XLSX procurement list (the kind is decided by content, not the name).

    ``header_names``: column names the user gave; a row containing one is the header.
    """
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise ScreenInputError(f"{path} is not a file")
        with path.open("rb") as handle:
            head = handle.read(8)
    except FileNotFoundError:
        raise ScreenInputError(f"{path}: no such file") from None
    except OSError as exc:
        raise ScreenInputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if size == 0:
        raise ScreenInputError(f"{path} is empty: nothing to screen")
    if size > max_bytes:
        raise ScreenInputError(
            f"{path} is {size / 1_048_576:.1f} MB, over the {max_bytes / 1_048_576:.0f} MB limit; "
            "split the list or raise --max-bytes"
        )
    if head.startswith(_OLE_MAGIC):
        raise ScreenInputError(
            f"{path} is a legacy Excel .xls (or other OLE) file; save it as .xlsx or .csv"
        )
    if head.startswith(_XLSX_MAGIC):
        return _read_xlsx(path, sheet=sheet, max_rows=max_rows, header_names=header_names)
    if sheet is not None:
        raise ScreenInputError("--sheet applies to XLSX files only")
    return _read_csv(path, encoding=encoding, max_rows=max_rows, header_names=header_names)


# --- CSV -------------------------------------------------------------------------------


def _decode(path: Path, data: bytes, encoding: str | None) -> str:
    if encoding is not None:
        try:
            return data.decode(encoding)
        except LookupError:
            raise ScreenInputError(f"unknown encoding {encoding!r}") from None
        except UnicodeDecodeError as exc:
            raise ScreenInputError(
                f"{path} is not valid {encoding}: byte 0x{data[exc.start]:02x} at offset {exc.start}"
            ) from None
    for bom, name in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(name)
            except UnicodeDecodeError as exc:
                raise ScreenInputError(
                    f"{path} starts with a {name} byte-order mark but is not valid {name} "
                    f"(offset {exc.start})"
                ) from None
    if b"\x00" in data[:65536]:
        raise ScreenInputError(
            f"{path} does not look like a text CSV file (it contains NUL bytes); "
            "export the list as CSV (UTF-8) or XLSX"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScreenInputError(
            f"{path} is not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save it as 'CSV UTF-8', or pass --encoding (e.g. --encoding cp1252 for an "
            "Excel export from Windows)"
        ) from None


def _read_csv(
    path: Path, *, encoding: str | None, max_rows: int, header_names: Sequence[str]
) -> InputTable:
    data = path.read_bytes()
    text = _decode(path, data, encoding)
    if not text.strip():
        raise ScreenInputError(f"{path} has no text: nothing to screen")
    sample = text[:65536]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    records: list[tuple[int, list[str]]] = []
    try:
        for record in reader:
            cells = [_clip(cell.strip()) for cell in record[:MAX_COLUMNS]]
            if not any(cells):
                continue
            records.append((reader.line_num, cells))
            if len(records) > max_rows + 1:
                raise ScreenInputError(
                    f"{path} has more than {max_rows} rows; split the list or raise --max-rows"
                )
    except csv.Error as exc:
        raise ScreenInputError(
            f"{path} is not a well-formed CSV (line {reader.line_num}): {exc}"
        ) from None
    return _table(path, "csv", records, [], header_names)


# --- XLSX ------------------------------------------------------------------------------


def _read_xlsx(
    path: Path, *, sheet: str | None, max_rows: int, header_names: Sequence[str]
) -> InputTable:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise ScreenInputError(f"{path} is not a readable XLSX file (bad zip: {exc})") from None
    if unpacked > MAX_XLSX_UNPACKED_BYTES:
        raise ScreenInputError(
            f"{path} unpacks to {unpacked / 1_048_576:.0f} MB, over the "
            f"{MAX_XLSX_UNPACKED_BYTES / 1_048_576:.0f} MB limit; refusing to open it"
        )
    if "xl/workbook.xml" not in names:
        raise ScreenInputError(
            f"{path} is a zip file but not an XLSX workbook (an .ods or .docx?); "
            "save it as .xlsx or .csv"
        )
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ScreenInputError(f"{path} is not a readable XLSX file: {exc}") from None
    worksheet: Any
    try:
        if sheet is not None:
            if sheet not in workbook.sheetnames:
                raise ScreenInputError(
                    f"no sheet {sheet!r} in {path}; sheets: {', '.join(workbook.sheetnames)}"
                )
            worksheet = workbook[sheet]
        else:
            worksheet = workbook.worksheets[0]
        notes: list[str] = []
        if len(workbook.sheetnames) > 1:
            notes.append(
                f"screened sheet {worksheet.title!r} of {len(workbook.sheetnames)} (use --sheet)"
            )
        records: list[tuple[int, list[str]]] = []
        for row_number, values in enumerate(
            worksheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), start=1
        ):
            cells = [_cell_text(value) for value in values]
            if not any(cells):
                continue
            records.append((row_number, cells))
            if len(records) > max_rows + 1:
                raise ScreenInputError(
                    f"{path} has more than {max_rows} rows; split the list or raise --max-rows"
                )
        merged = _merged_ranges(path, getattr(worksheet, "_worksheet_path", None))
    except ScreenInputError:
        raise
    except Exception as exc:  # openpyxl raises many kinds on malformed parts
        raise ScreenInputError(
            f"{path} could not be read as XLSX: {type(exc).__name__}: {exc}"
        ) from None
    finally:
        workbook.close()
    if merged:
        _fill_merged(records, merged)
        notes.append(
            f"{len(merged)} merged cell range(s): each cell of a range takes the range's value"
        )
    return _table(path, "xlsx", records, notes, header_names)


_CELL_REF = re.compile(r"^([A-Z]{1,3})(\d+)$")


def _column_number(letters: str) -> int:
    number = 0
    for character in letters:
        number = number * 26 + ord(character) - ord("A") + 1
    return number


def _merged_ranges(path: Path, part: str | None) -> list[tuple[int, int, int, int]]:
    """Merged ranges (min_row, min_col, max_row, max_col) read from the sheet's XML part.

    Read-only worksheets do not expose merged cells, so the ``<mergeCell ref="A2:A4"/>``
    elements are read directly (defusedxml: no entities, no DTDs).
    """
    if part is None:
        return []
    from defusedxml.ElementTree import iterparse

    ranges: list[tuple[int, int, int, int]] = []
    with zipfile.ZipFile(path) as archive, archive.open(part.lstrip("/")) as stream:
        for _event, element in iterparse(stream, events=("end",)):
            if element.tag.endswith("}mergeCell") or element.tag == "mergeCell":
                reference = element.get("ref", "")
                corners = reference.split(":")
                if len(corners) == 2:
                    first, last = _CELL_REF.match(corners[0]), _CELL_REF.match(corners[1])
                    if first and last:
                        ranges.append(
                            (
                                int(first.group(2)),
                                _column_number(first.group(1)),
                                int(last.group(2)),
                                _column_number(last.group(1)),
                            )
                        )
            element.clear()
    return ranges


def _fill_merged(
    records: list[tuple[int, list[str]]], ranges: Sequence[tuple[int, int, int, int]]
) -> None:
    by_row = {row_number: cells for row_number, cells in records}
    for min_row, min_col, max_row, max_col in ranges:
        if max_col > MAX_COLUMNS:
            max_col = MAX_COLUMNS
        top = by_row.get(min_row)
        if top is None or min_col > len(top):
            continue
        value = top[min_col - 1]
        for row_number in range(min_row, max_row + 1):
            cells = by_row.get(row_number)
            if cells is None:
                continue
            while len(cells) < max_col:
                cells.append("")
            for column in range(min_col, max_col + 1):
                if not cells[column - 1]:
                    cells[column - 1] = value


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return _clip(str(value).strip())


def _clip(text: str) -> str:
    return text if len(text) <= MAX_CELL_CHARS else text[:MAX_CELL_CHARS]


def _table(
    path: Path,
    kind: InputKind,
    records: list[tuple[int, list[str]]],
    notes: list[str],
    header_names: Sequence[str] = (),
) -> InputTable:
    if not records:
        raise ScreenInputError(f"{path} has no rows: nothing to screen")
    header_at = next(
        (
            i
            for i, (_, cells) in enumerate(records[:HEADER_SEARCH_ROWS])
            if is_header_row(cells, header_names)
        ),
        None,
    )
    has_header = header_at is not None
    if header_at is not None:
        header = list(records[header_at][1])
        data = records[header_at + 1 :]
        if header_at:
            notes.append(f"{header_at} row(s) above the header row were skipped")
    else:
        width = max(len(cells) for _, cells in records)
        header = [f"column {index + 1}" for index in range(width)]
        data = records
        notes.append("no header row recognised: every column is read as text")
    if not data:
        raise ScreenInputError(f"{path} has a header but no data rows: nothing to screen")
    width = max(len(header), *(len(cells) for _, cells in data))
    header += [f"column {index + 1}" for index in range(len(header), width)]
    rows = [cells + [""] * (width - len(cells)) for _, cells in data]
    return InputTable(
        path=path,
        kind=kind,
        header=header,
        has_header=has_header,
        rows=rows,
        row_numbers=[number for number, _ in data],
        notes=notes,
    )


# --- writing ---------------------------------------------------------------------------


def added_column_names(header: Sequence[str]) -> list[str]:
    taken = {header_key(name) for name in header}
    return [name if header_key(name) not in taken else f"provscan_{name}" for name in ADDED_COLUMNS]


def _restricted_text(row: ScreenRow) -> str:
    return {"restricted": "yes", "clear": "no", "review": "review", "unknown": "unknown"}[
        row.status
    ]


def output_rows(table: InputTable, rows: Sequence[ScreenRow]) -> tuple[list[str], list[list[str]]]:
    """The input's header and rows with the screening columns appended."""
    header = list(table.header) + added_column_names(table.header)
    body = []
    for cells, row in zip(table.rows, rows, strict=True):
        body.append(
            [
                *cells,
                row.maker or "",
                row.brand or "",
                row.relation,
                _restricted_text(row),
                ";".join(dict.fromkeys(finding.policy for finding in row.findings)),
                f"{row.confidence:.2f}",
                row.reason,
            ]
        )
    return header, body


def render_csv(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    """CSV with every cell guarded against spreadsheet formula injection."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_csv_cell(cell) for cell in header])
    for cells in body:
        writer.writerow([_csv_cell(cell) for cell in cells])
    return buffer.getvalue()


#: Row fills in the XLSX output.
STATUS_FILLS = {"restricted": "FFC7CE", "review": "FFEB9C", "unknown": "EDEDED"}


def render_xlsx(
    header: Sequence[str], body: Sequence[Sequence[str]], statuses: Sequence[str]
) -> bytes:
    """An XLSX workbook; every cell is stored as text, so no input formula can run."""
    import openpyxl
    from openpyxl.styles import Font, PatternFill

    workbook = openpyxl.Workbook()
    worksheet = workbook.active
    assert worksheet is not None
    worksheet.title = "screened"
    fills = {status: PatternFill("solid", fgColor=color) for status, color in STATUS_FILLS.items()}
    bold = Font(bold=True)
    for column, name in enumerate(header, start=1):
        cell = worksheet.cell(row=1, column=column)
        _set_text(cell, name)
        cell.font = bold
    for row_index, (cells, status) in enumerate(zip(body, statuses, strict=True), start=2):
        fill = fills.get(status)
        for column, value in enumerate(cells, start=1):
            cell = worksheet.cell(row=row_index, column=column)
            _set_text(cell, value)
            if fill is not None:
                cell.fill = fill
    worksheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _set_text(cell: object, value: str) -> None:
    # openpyxl turns a str starting with "=" into a formula; forcing the string type stores
    # the characters as written (OWASP CSV/formula injection).
    from openpyxl.cell.cell import Cell

    assert isinstance(cell, Cell)
    cell.value = _illegal_free(value)
    cell.data_type = "s"


_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _illegal_free(value: str) -> str:
    return _ILLEGAL_XML.sub("\ufffd", value)

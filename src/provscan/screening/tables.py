"""Reading procurement lists (CSV, XLSX) and writing them back with the screening columns.

Input files are hostile in the mundane way: wrong encodings, binary files with a .csv name,
spreadsheets with formulas, merged cells and a million empty rows, zip bombs. Each is refused
with a message that says what to do, or handled and noted; the input is only ever read.

The output is the user's list with the result columns added, not a re-typed copy of it:

- CSV in, CSV out: every record is written back as it was read (same encoding, byte-order
  mark, delimiter, quoting and line endings; title and blank rows included) with the result
  cells appended to the header and data rows (a list without a header row gets no header
  line added: :func:`result_columns_note` says what the appended cells are). The one change
  is the formula guard: a cell that starts with ``= + - @``, a tab or a carriage return gets
  a leading ``'`` (input and result cells alike), so a spreadsheet shows it instead of
  running it.
- XLSX in, XLSX out: the input workbook itself (every sheet, title rows, widths, formatting,
  merged cells, formulas) with the result columns placed right after the last used column of
  the screened sheet; result cells are text but the confidence (a number), and
  restricted/review/unknown results are filled.
- Converting (CSV to XLSX, XLSX to CSV) writes the header and the screened rows. CSV to XLSX
  writes a column of numbers (quantities, counts, prices: "12", "89.50", "$1,299.00") as
  numbers shown as typed, so that a spreadsheet sums it, unless it is an identifier (see
  :func:`number_columns`); every other cell is text, one starting with ``= + - @`` included
  (never a formula).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import warnings
import zipfile
from bisect import bisect_left
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from importlib.util import find_spec
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

from provscan.errors import InputError
from provscan.knowledge.screening_words import ScreeningWords, fold_accents
from provscan.report.files import guard_formula
from provscan.screening.audit import (
    add_audit_sheets,
    measures_text,
    screened_time,
    workbook_bytes,
)
from provscan.screening.columns import (
    HEADER_ALIASES,
    ColumnChoice,
    header_key,
    header_strength,
    is_header_row,
)
from provscan.screening.verdict import PerJudgement, ScreenMeasure, ScreenRow, ScreenSummary

if TYPE_CHECKING:
    from openpyxl.cell import _CellOrMergedCell
    from openpyxl.worksheet.worksheet import Worksheet

#: Refuse lists longer than this (rows after the header); --max-rows overrides.
MAX_ROWS = 100_000
#: Refuse input files larger than this; --max-bytes overrides.
MAX_FILE_BYTES = 50 * 1024 * 1024
#: How messages name a list read from standard input (``provscan screen -``).
STDIN_NAME = "standard input"
#: An XLSX whose parts unpack to more than this is refused (zip bomb).
MAX_XLSX_UNPACKED_BYTES = 512 * 1024 * 1024
#: Columns read from a sheet; procurement lists are narrow, stray formatting can be wide.
MAX_COLUMNS = 256
#: The header row is looked for among this many first non-empty rows (titles may sit above).
HEADER_SEARCH_ROWS = 10
#: Characters of one cell used for identification (the output keeps the whole cell).
MAX_CELL_CHARS = 4096
#: Added columns, in order; prefixed with "provscan_" when the input already has the name.
#: A column added later goes after the others, so that the columns of lists screened before
#: it keep their places: ``verdict`` (restricted, review, unknown, clear: the words of a
#: scan's and an inventory's devices), then ``measures`` (each measure a row's verdict rests
#: on, by policy and title: :func:`provscan.screening.audit.measures_text`).
ADDED_COLUMNS = (
    "maker",
    "brand",
    "relation",
    "restricted",
    "policies",
    "confidence",
    "reason",
    "verdict",
    "measures",
)
#: The width (characters) of each added column in an XLSX output; the reason and the
#: measures wrap in theirs.
ADDED_COLUMN_WIDTHS = {
    "maker": 18,
    "brand": 16,
    "relation": 16,
    "restricted": 10,
    "policies": 14,
    "confidence": 11,
    "reason": 60,
    "verdict": 10,
    "measures": 60,
}
WRAPPED_COLUMNS = frozenset({"reason", "measures"})
#: Delimiters a CSV may use. Only the delimiter is guessed; quoting is always RFC 4180.
CSV_DELIMITERS = (",", ";", "\t")
#: Records, and characters at most, read to guess the delimiter.
SNIFF_RECORDS = 200
SNIFF_CHARS = 1 << 20
#: Excel's last column (XFD).
XLSX_MAX_COLUMN = 16_384

_XLSX_MAGIC = b"PK\x03\x04"
#: File names a workbook is saved under: such a file that is no zip archive is refused.
_XLSX_SUFFIXES = frozenset({".xlsx", ".xlsm"})
#: Bytes read from the start of a file to tell what it is (a zip, a PDF, an HTML page).
_HEAD_BYTES = 512
#: An HTML document's start, after white space and a byte-order mark (lower-cased).
_HTML_START = re.compile(rb"<!doctype\s+html[\s>]|<html[\s>]")
_MIB = 1_048_576
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: Byte-order marks and the codec of the text after them (the mark is written back as bytes).
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def _without_bom(head: bytes) -> bytes:
    """``head`` without a leading byte-order mark (UTF-8 or UTF-16)."""
    for bom, _codec in _BOMS:
        if head.startswith(bom):
            return head[len(bom) :]
    return head


InputKind = Literal["csv", "xlsx"]


class ScreenInputError(InputError):
    """A procurement list could not be read; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One row of the input as written: a CSV record or a non-empty sheet row."""

    #: The row a spreadsheet shows the record on: a CSV's record number from 1 (a record whose
    #: quoted cell holds a line break spans several lines of the file but is one row), or
    #: the sheet row.
    number: int
    #: The cells as written: not stripped, not clipped.
    cells: list[str]
    #: CSV only: the record's exact text, line ending included.
    raw: str = ""

    @property
    def blank(self) -> bool:
        return not any(cell.strip() for cell in self.cells)


@dataclass(frozen=True)
class CsvFormat:
    """How an input CSV was written, so that the output is written the same way."""

    encoding: str
    bom: bytes
    delimiter: str
    #: The input's line ending, for a line the input does not have (none is added today).
    line_terminator: str


@dataclass(frozen=True)
class InputTable:
    #: Where the list is read again to be written back (an XLSX): its file, or the bytes
    #: read from standard input.
    source: Path | bytes
    #: How messages name the list: its path, or "standard input".
    name: str
    kind: InputKind
    #: The header and data rows as screened: stripped, clipped and padded to one width.
    header: list[str]
    has_header: bool
    rows: list[list[str]]
    #: The line (CSV) or sheet row (XLSX) number of each data row, for the report.
    row_numbers: list[int]
    notes: list[str] = field(default_factory=list)
    #: Every record as read (CSV: blank ones too), to write the list back.
    records: list[SourceRecord] = field(default_factory=list)
    #: Index in ``records`` of the header row, and of each data row (parallel to ``rows``).
    header_record: int | None = None
    data_records: list[int] = field(default_factory=list)
    #: CSV only: how the file was written.
    csv_format: CsvFormat | None = None
    #: XLSX only: the title of the screened sheet.
    sheet: str | None = None
    #: XLSX only: the titles of every sheet with cells, in the workbook's order.
    sheets: tuple[str, ...] = ()
    #: Data rows left out because they are no product (a "Total" line, a row of formulas):
    #: their line or sheet row number and why ("a total", "formulas").
    skipped: tuple[tuple[int, str], ...] = ()


def read_table(
    path: Path,
    *,
    encoding: str | None = None,
    sheet: str | None = None,
    max_rows: int = MAX_ROWS,
    max_bytes: int = MAX_FILE_BYTES,
    header_names: Sequence[str] = (),
    pick_sheet: bool = False,
    screening_words: ScreeningWords | None = None,
    header_row: int | None = None,
) -> InputTable:
    """Read a CSV or XLSX procurement list (the kind is decided by content, not the name).

    ``header_names``: column names the user gave; a row containing one is the header.
    ``pick_sheet``: without ``sheet``, read the sheet of a workbook that looks like the
    product table (:func:`_pick_sheet`) rather than the first one. ``header_row``: the
    header's line (CSV) or sheet row (XLSX), 1-based, instead of the one detected.
    """
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise ScreenInputError(f"{path} is not a file")
        with path.open("rb") as handle:
            head = handle.read(_HEAD_BYTES)
    except FileNotFoundError:
        raise ScreenInputError(f"{path}: no such file") from None
    except OSError as exc:
        raise ScreenInputError(f"cannot read {path}: {exc.strerror or exc}") from None
    return _read_source(
        path,
        str(path),
        size,
        head,
        encoding=encoding,
        sheet=sheet,
        max_rows=max_rows,
        max_bytes=max_bytes,
        header_names=header_names,
        pick_sheet=pick_sheet,
        screening_words=screening_words,
        header_row=header_row,
    )


def read_table_stream(
    stream: BinaryIO | None,
    name: str = STDIN_NAME,
    *,
    encoding: str | None = None,
    sheet: str | None = None,
    max_rows: int = MAX_ROWS,
    max_bytes: int = MAX_FILE_BYTES,
    header_names: Sequence[str] = (),
    pick_sheet: bool = False,
    screening_words: ScreeningWords | None = None,
    header_row: int | None = None,
) -> InputTable:
    """Read a list from a stream (standard input: ``stream`` None when it is closed), named
    ``name`` in messages: CSV or XLSX as from a file. It is read whole (at most ``max_bytes``)
    before anything else, since a workbook is a zip file, read from its end."""
    if stream is None:
        raise ScreenInputError(f"cannot read {name}: it is closed")
    try:
        data = stream.read(max_bytes + 1)
    except OSError as exc:
        raise ScreenInputError(f"cannot read {name}: {exc.strerror or exc}") from None
    except ValueError as exc:  # a closed file object
        raise ScreenInputError(f"cannot read {name}: {exc}") from None
    return _read_source(
        data,
        name,
        len(data),
        data[:_HEAD_BYTES],
        encoding=encoding,
        sheet=sheet,
        max_rows=max_rows,
        max_bytes=max_bytes,
        header_names=header_names,
        pick_sheet=pick_sheet,
        screening_words=screening_words,
        header_row=header_row,
    )


def _read_source(
    source: Path | bytes,
    name: str,
    size: int,
    head: bytes,
    *,
    encoding: str | None,
    sheet: str | None,
    max_rows: int,
    max_bytes: int,
    header_names: Sequence[str],
    pick_sheet: bool = False,
    screening_words: ScreeningWords | None = None,
    header_row: int | None = None,
) -> InputTable:
    if size == 0:
        raise ScreenInputError(f"{name} is empty: nothing to screen")
    if size > max_bytes:
        said_size, said_limit = _sizes(size, max_bytes)
        limit = f"the {said_limit} limit"
        # A stream is read no further than the limit: how much more it held is not known.
        said = f"over {limit}" if isinstance(source, bytes) else f"{said_size}, over {limit}"
        raise ScreenInputError(f"{name} is {said}; split the list or raise --max-bytes")
    program = _program(source, head)
    if program is not None:
        raise ScreenInputError(
            f"{name} is {program}, not a product list; export the list as CSV or XLSX"
        )
    if head.startswith(_OLE_MAGIC):
        raise ScreenInputError(
            f"{name} is a legacy Excel .xls (or other OLE) file; save it as .xlsx or .csv"
        )
    not_a_list = _not_a_list(head)
    if not_a_list is not None:
        raise ScreenInputError(
            f"{name} is {not_a_list}, not a spreadsheet; export it as CSV or XLSX"
        )
    if (
        isinstance(source, Path)
        and source.suffix.lower() in _XLSX_SUFFIXES
        and not head.startswith(_XLSX_MAGIC)
    ):
        # A text file named .xlsx would otherwise be read as a one-column CSV.
        raise ScreenInputError(
            f"{name} is not an XLSX workbook (it is not a zip archive; a text file renamed?); "
            "save it from the spreadsheet as .xlsx, or export it as CSV"
        )
    if head.startswith(_XLSX_MAGIC):
        return _read_xlsx(
            source,
            name,
            sheet=sheet,
            max_rows=max_rows,
            header_names=header_names,
            pick_sheet=pick_sheet,
            screening_words=screening_words,
            header_row=header_row,
        )
    if sheet is not None:
        raise ScreenInputError("--sheet applies to XLSX files only")
    data = source if isinstance(source, bytes) else _read_bytes(source)
    return _read_csv(
        source,
        name,
        data,
        encoding=encoding,
        max_rows=max_rows,
        header_names=header_names,
        screening_words=screening_words,
        header_row=header_row,
    )


def _size(count: int) -> str:
    """A size in MiB with one decimal (50.0 MiB), in bytes below one MiB."""
    if count < _MIB:
        return f"{count:,} bytes"
    return f"{count / _MIB:.1f} MiB"


def _sizes(size: int, limit: int) -> tuple[str, str]:
    """A size and the limit it is over, written so that they differ: in MiB with one decimal,
    or both in bytes when the decimals are the same (52,429,828 bytes is 50.0 MiB, as is a
    limit of 52,428,800 bytes)."""
    said_size, said_limit = _size(size), _size(limit)
    if said_size == said_limit:
        return f"{size:,} bytes", f"{limit:,} bytes"
    return said_size, said_limit


def _not_a_list(head: bytes) -> str | None:
    """What a file is when its first bytes show it is no list ("a PDF", "an HTML page"),
    or None. Only the start is looked at: a CSV never starts so."""
    if head.startswith(b"%PDF"):
        return "a PDF"
    text = _without_bom(head)
    text = text.lstrip(b" \t\r\n\x0c").lower()
    if _HTML_START.match(text):
        return "an HTML page"
    return None


#: File names of programs and scripts: such a file is refused before its text is read as a
#: one-column list (a script "screened" as 57 unknown products).
_PROGRAM_SUFFIXES = {
    ".py": "a Python script",
    ".pyw": "a Python script",
    ".pyc": "a compiled Python file",
    ".sh": "a shell script",
    ".bash": "a shell script",
    ".zsh": "a shell script",
    ".ps1": "a PowerShell script",
    ".bat": "a Windows batch file",
    ".cmd": "a Windows batch file",
    ".vbs": "a VBScript file",
    ".js": "a JavaScript file",
    ".mjs": "a JavaScript file",
    ".cjs": "a JavaScript file",
    ".ts": "a TypeScript file",
    ".rb": "a Ruby script",
    ".pl": "a Perl script",
    ".php": "a PHP script",
    ".c": "C source code",
    ".h": "C source code",
    ".cpp": "C++ source code",
    ".java": "Java source code",
    ".go": "Go source code",
    ".rs": "Rust source code",
    ".exe": "a Windows program",
    ".dll": "a Windows library",
    ".msi": "a Windows installer",
    ".so": "a compiled library",
    ".dylib": "a compiled library",
    ".jar": "a Java archive",
    ".class": "a compiled Java class",
    ".apk": "an Android package",
    ".deb": "a software package",
    ".rpm": "a software package",
}
#: A first line that only source code starts with: Python's imports and definitions, C's
#: includes, JavaScript's declarations (case as written: a list's title "Import list" is no
#: import statement).
_SOURCE_LINE = re.compile(
    r"(?:from\s+[\w.]+\s+import\s+\S|import\s+[\w.]+(?:\s+as\s+\w+)?\s*$|def\s+\w+\s*\("
    r"|class\s+\w+\s*[(:]|#include\s*[<\"]|package\s+[\w.]+\s*;|function\s+\w+\s*\("
    r"|(?:const|let|var)\s+\w+\s*=|[\"']use strict[\"'])"
)


def _program(source: Path | bytes, head: bytes) -> str | None:
    """What a file is when it is a program or a script rather than a list ("a Python
    script"), by its name (.py, .sh, .exe...) or its first line (#!, <?php, an import): a
    one-column list of part numbers starts with none of these."""
    if isinstance(source, Path):
        what = _PROGRAM_SUFFIXES.get(source.suffix.lower())
        if what is not None:
            return what
    if head.startswith(b"\x7fELF"):
        return "a compiled program"
    text = _without_bom(head)
    first = text.lstrip(b" \t\r\n\x0c").split(b"\n", 1)[0].decode("utf-8", "replace").strip()
    if first.startswith("#!"):
        return "a script (its first line is #!...)"
    if first.lower().startswith("<?php"):
        return "a PHP script"
    if _SOURCE_LINE.match(first):
        return "program source code (its first line is code)"
    return None


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ScreenInputError(f"cannot read {path}: {exc.strerror or exc}") from None


def _opened(source: Path | bytes) -> Path | io.BytesIO:
    """What zipfile and openpyxl read ``source`` from: its file, or its bytes."""
    return io.BytesIO(source) if isinstance(source, bytes) else source


# --- CSV -------------------------------------------------------------------------------


def _codec_family(codec: str) -> str:
    if codec.startswith("utf-16"):
        return "utf-16"
    return "utf-8" if codec.startswith("utf-8") else codec


def _decode(name: str, data: bytes, encoding: str | None) -> tuple[str, str, bytes]:
    """The text, the codec that writes it back, and the byte-order mark the file starts with."""
    marked = next(((bom, codec) for bom, codec in _BOMS if data.startswith(bom)), None)
    if encoding is not None:
        try:
            codec = codecs.lookup(encoding).name
        except LookupError:
            raise ScreenInputError(f"unknown encoding {encoding!r}") from None
        # "--encoding utf-8" on a file with a BOM takes the BOM path below: the BOM is not text.
        if marked is None or _codec_family(codec) != _codec_family(marked[1]):
            codec = "utf-8" if codec == "utf-8-sig" else codec
            try:
                return data.decode(codec), codec, b""
            except UnicodeDecodeError as exc:
                raise ScreenInputError(
                    f"{name} is not valid {encoding}: byte 0x{data[exc.start]:02x} "
                    f"at offset {exc.start}"
                ) from None
    if marked is not None:
        bom, codec = marked
        try:
            return data[len(bom) :].decode(codec), codec, bom
        except UnicodeDecodeError as exc:
            raise ScreenInputError(
                f"{name} starts with a {codec} byte-order mark but is not valid {codec} "
                f"(offset {exc.start + len(bom)})"
            ) from None
    if b"\x00" in data[:65536]:
        raise ScreenInputError(
            f"{name} does not look like a text CSV file (it contains NUL bytes); "
            "export the list as CSV (UTF-8) or XLSX"
        )
    try:
        return data.decode("utf-8"), "utf-8", b""
    except UnicodeDecodeError as exc:
        raise ScreenInputError(
            f"{name} is not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save it as 'CSV UTF-8', or pass --encoding (e.g. --encoding cp1252 for an "
            "Excel export from Windows)"
        ) from None


def _sniff_delimiter(text: str) -> str:
    """The delimiter (comma, semicolon or tab) that splits the first records most evenly.

    Only the delimiter is guessed. csv.Sniffer also guesses quoting and spaces, and its guesses
    are what split ``"4"" dome, 2.8mm"`` and cells with line breaks into extra columns.
    """
    sample = text[:SNIFF_CHARS]
    best, best_score = CSV_DELIMITERS[0], (0, 0)
    for delimiter in CSV_DELIMITERS:
        reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
        try:
            found = list(islice(reader, SNIFF_RECORDS + 1))
        except csv.Error:
            continue
        if found and (len(found) > SNIFF_RECORDS or len(sample) < len(text)):
            found.pop()  # it may be cut short
        widths = Counter(len(cells) for cells in found if len(cells) > 1)
        if widths:
            # Most records of one width wins; on a tie the wider split ("2,8" in a ";" file).
            width, count = widths.most_common(1)[0]
            if (count, width) > best_score:
                best, best_score = delimiter, (count, width)
    return best


class _RecordLines:
    """Feeds a text to csv.reader line by line and hands back the exact text of each record.

    csv.reader asks for one more line only while a record is open (a quoted line break), so
    the lines taken since the last record are that record's text.
    """

    def __init__(self, text: str) -> None:
        # newline="": lines end at \r\n, \n or \r, and the ending is kept as written.
        self._lines = io.StringIO(text, newline="")
        self._taken: list[str] = []
        self.count = 0

    def __iter__(self) -> _RecordLines:
        return self

    def __next__(self) -> str:
        line = self._lines.readline()
        if not line:
            raise StopIteration
        self._taken.append(line)
        self.count += 1
        return line

    def take(self) -> str:
        """The text of the record just parsed."""
        raw = "".join(self._taken)
        self._taken.clear()
        return raw


def _line_ending(raw: str) -> str:
    for ending in ("\r\n", "\n", "\r"):
        if raw.endswith(ending):
            return ending
    return ""


def _read_csv(
    source: Path | bytes,
    name: str,
    data: bytes,
    *,
    encoding: str | None,
    max_rows: int,
    header_names: Sequence[str],
    screening_words: ScreeningWords | None = None,
    header_row: int | None = None,
) -> InputTable:
    text, codec, bom = _decode(name, data, encoding)
    if not text.strip():
        raise ScreenInputError(f"{name} has no text: nothing to screen")
    delimiter = _sniff_delimiter(text)
    lines = _RecordLines(text)
    # The excel dialect is RFC 4180 as Excel writes it: '"' quotes, '""' inside quotes,
    # line breaks inside quotes, spaces kept.
    reader = csv.reader(lines, csv.excel, delimiter=delimiter)
    records: list[SourceRecord] = []
    filled = 0
    try:
        for cells in reader:
            raw = lines.take()
            # its row as a spreadsheet opens the file (every record one row, a blank line
            # too), not the line it starts on (a review found row 5 for a spreadsheet's 3)
            record = SourceRecord(len(records) + 1, cells, raw)
            records.append(record)
            filled += not record.blank
            if filled > max_rows + 1:
                raise ScreenInputError(
                    f"{name} has more than {max_rows} rows; split the list or raise --max-rows"
                )
    except csv.Error as exc:
        raise ScreenInputError(
            f"{name} is not a well-formed CSV (line {lines.count}): {exc}"
        ) from None
    ending = next((found for record in records if (found := _line_ending(record.raw))), "\r\n")
    csv_format = CsvFormat(encoding=codec, bom=bom, delimiter=delimiter, line_terminator=ending)
    return _table(
        source,
        name,
        "csv",
        records,
        [],
        header_names,
        csv_format=csv_format,
        summary=_summary_words(screening_words),
        header_row=header_row,
    )


# --- XLSX ------------------------------------------------------------------------------


def _read_xlsx(
    source: Path | bytes,
    name: str,
    *,
    sheet: str | None,
    max_rows: int,
    header_names: Sequence[str],
    pick_sheet: bool = False,
    screening_words: ScreeningWords | None = None,
    header_row: int | None = None,
) -> InputTable:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with zipfile.ZipFile(_opened(source)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise ScreenInputError(f"{name} is not a readable XLSX file (bad zip: {exc})") from None
    if unpacked > MAX_XLSX_UNPACKED_BYTES:
        said_size, said_limit = _sizes(unpacked, MAX_XLSX_UNPACKED_BYTES)
        raise ScreenInputError(
            f"{name} unpacks to {said_size}, over the {said_limit} limit; refusing to open it"
        )
    if "xl/workbook.xml" not in names:
        raise ScreenInputError(
            f"{name} is a zip file but not an XLSX workbook (an .ods or .docx?); "
            "save it as .xlsx or .csv"
        )
    notes: list[str] = []
    suffix = source.suffix.lower() if isinstance(source, Path) else ""
    if suffix and suffix not in _XLSX_SUFFIXES | {".xltx", ".xltm"}:
        # Read by its content; openpyxl would refuse the name (".xls" is the old format).
        notes.append(f"{name} is an XLSX workbook named {suffix}: read as XLSX")
    try:
        # Opened as a stream, not a path: openpyxl judges a path by its suffix.
        handle = _open_again(source)
    except OSError as exc:
        raise ScreenInputError(f"cannot read {name}: {exc.strerror or exc}") from None
    try:
        workbook = openpyxl.load_workbook(handle, read_only=True, data_only=True)
    except InvalidFileException:
        handle.close()
        raise ScreenInputError(
            f"{name} is not a readable XLSX workbook; save it from the spreadsheet as .xlsx, "
            "or export it as CSV"
        ) from None
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        handle.close()
        raise ScreenInputError(f"{name} is not a readable XLSX file: {exc}") from None
    worksheet: Any
    try:
        # Chart sheets have no cells: only worksheets can be screened.
        worksheets = {candidate.title: candidate for candidate in workbook.worksheets}
        if not worksheets:
            raise ScreenInputError(f"{name} has no sheet with cells: nothing to screen")
        if sheet is not None:
            if sheet not in worksheets:
                raise ScreenInputError(
                    f"no sheet {sheet!r} with cells in {name}; sheets: {', '.join(worksheets)}"
                )
            worksheet = worksheets[sheet]
            records, over = _sheet_records(worksheet, max_rows)
        elif pick_sheet and len(worksheets) > 1:
            read = {
                title: _sheet_records(candidate, max_rows)
                for title, candidate in worksheets.items()
            }
            chosen, note = _pick_sheet(
                {title: records for title, (records, _) in read.items()}, header_names
            )
            worksheet = worksheets[chosen]
            records, over = read[chosen]
            notes.append(note)
        else:
            worksheet = next(iter(worksheets.values()))
            if len(worksheets) > 1:
                notes.append(
                    f"screened sheet {worksheet.title!r} of {len(worksheets)} (use --sheet)"
                )
            records, over = _sheet_records(worksheet, max_rows)
        if over:
            raise ScreenInputError(
                f"{name} has more than {max_rows} rows; split the list or raise --max-rows"
            )
        merged, formulas = _sheet_marks(source, getattr(worksheet, "_worksheet_path", None))
        title = str(worksheet.title)
        titles = tuple(str(candidate) for candidate in worksheets)
    except ScreenInputError:
        raise
    except Exception as exc:  # openpyxl raises many kinds on malformed parts
        raise ScreenInputError(
            f"{name} could not be read as XLSX: {type(exc).__name__}: {exc}"
        ) from None
    finally:
        workbook.close()
        handle.close()
    if merged:
        _fill_merged(records, merged)
    at = len(notes)
    table = _table(
        source,
        name,
        "xlsx",
        records,
        notes,
        header_names,
        sheet=title,
        formulas=formulas,
        summary=_summary_words(screening_words),
        header_row=header_row,
    )
    # Only the merged ranges over the header or the screened rows matter: group labels
    # above the header ("Product" over two columns) are not read.
    used_rows = sorted(
        {
            *table.row_numbers,
            *([] if table.header_record is None else [table.records[table.header_record].number]),
        }
    )
    shown_merges = [
        merge
        for merge in merged
        if (at_or_after := bisect_left(used_rows, merge[0])) < len(used_rows)
        and used_rows[at_or_after] <= merge[2]
    ]
    if shown_merges:
        table.notes.insert(
            at,
            f"{len(shown_merges)} merged cell range(s): each cell of a range takes the range's value",
        )
    return replace(table, sheets=titles)


def _sheet_records(worksheet: Any, max_rows: int) -> tuple[list[SourceRecord], bool]:
    """A sheet's non-empty rows as text, and whether it has more than ``max_rows`` data rows
    (the reading stops there: the header and ``max_rows`` rows, one more to know)."""
    records: list[SourceRecord] = []
    for row_number, values in enumerate(
        worksheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), start=1
    ):
        cells = [_cell_text(value) for value in values]
        # Read-only rows come padded to max_col: the width is the last cell with a value.
        while cells and not cells[-1]:
            cells.pop()
        record = SourceRecord(row_number, cells)
        if record.blank:
            continue
        records.append(record)
        if len(records) > max_rows + 1:
            return records, True
    return records, False


def _pick_sheet(
    sheets: dict[str, list[SourceRecord]], header_names: Sequence[str]
) -> tuple[str, str]:
    """The sheet of a workbook that looks like the product table, and the note that says so.

    A cover sheet, a terms sheet or a summary comes before the list in many workbooks: the
    sheet read is the one with a header row naming product columns (brand, model, part
    number, description... or a column the user named) among its first rows and, among
    those, the most rows under it; with no such header anywhere, the one with the most rows.
    Ties go to the first in the workbook's order.
    """

    def score(records: list[SourceRecord]) -> tuple[int, int]:
        for position, record in enumerate(records[:HEADER_SEARCH_ROWS]):
            if is_header_row(_screened_cells(record.cells), header_names):
                return 1, len(records) - position - 1
        return 0, len(records)

    scores = {title: score(records) for title, records in sheets.items()}
    chosen = max(scores, key=lambda title: scores[title])  # max keeps the first of equals
    named, rows = scores[chosen]
    others = ", ".join(repr(title) for title in sheets if title != chosen)
    why = (
        f"it has a header row naming product columns and {rows} row(s) under it"
        if named
        else f"no sheet has a header row naming product columns; it has the most rows ({rows})"
    )
    return chosen, f"screened sheet {chosen!r} ({why}); not screened: {others} (use --sheet)"


_CELL_REF = re.compile(r"^([A-Z]{1,3})(\d+)$")


def _column_number(letters: str) -> int:
    number = 0
    for character in letters:
        number = number * 26 + ord(character) - ord("A") + 1
    return number


def _sheet_marks(
    source: Path | bytes, part: str | None
) -> tuple[list[tuple[int, int, int, int]], dict[int, set[int]]]:
    """Merged ranges (min_row, min_col, max_row, max_col) and the cells that hold a formula
    (sheet row -> 0-based columns), read from the sheet's XML part.

    Read-only worksheets do not expose merged cells, and the values read (``data_only``) are
    a formula's cached result, so the ``<mergeCell ref="A2:A4"/>`` elements and the cells
    with an ``<f>`` element are read directly (defusedxml: no entities, no DTDs).
    """
    if part is None:
        return [], {}
    from defusedxml.ElementTree import iterparse

    ranges: list[tuple[int, int, int, int]] = []
    formulas: dict[int, set[int]] = {}
    in_formula = False
    with zipfile.ZipFile(_opened(source)) as archive, archive.open(part.lstrip("/")) as stream:
        for _event, element in iterparse(stream, events=("end",)):
            tag = element.tag
            if tag.endswith("}f") or tag == "f":
                in_formula = True
            elif tag.endswith("}c") or tag == "c":
                if in_formula:
                    cell = _CELL_REF.match(element.get("r", ""))
                    if cell:
                        formulas.setdefault(int(cell.group(2)), set()).add(
                            _column_number(cell.group(1)) - 1
                        )
                in_formula = False
            elif tag.endswith("}mergeCell") or tag == "mergeCell":
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
    return ranges, formulas


def _fill_merged(records: list[SourceRecord], ranges: Sequence[tuple[int, int, int, int]]) -> None:
    by_row = {record.number: record.cells for record in records}
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
    return str(value)


def _clip(text: str) -> str:
    return text if len(text) <= MAX_CELL_CHARS else text[:MAX_CELL_CHARS]


def _screened_cells(cells: Sequence[str]) -> list[str]:
    """Cells as identification sees them: stripped and clipped (the output keeps the original)."""
    return [_clip(cell.strip()) for cell in cells[:MAX_COLUMNS]]


def _table(
    source: Path | bytes,
    name: str,
    kind: InputKind,
    records: list[SourceRecord],
    notes: list[str],
    header_names: Sequence[str] = (),
    *,
    csv_format: CsvFormat | None = None,
    sheet: str | None = None,
    formulas: dict[int, set[int]] | None = None,
    summary: _SummaryWords | None = None,
    header_row: int | None = None,
) -> InputTable:
    """The screened table of a list's records. ``formulas``: an XLSX sheet's formula cells
    (sheet row -> 0-based columns); a CSV's are read from its text ("=SUM(...)").
    ``summary``: the words of totals, taxes and charges (default: the active knowledge's)."""
    filled = [index for index, record in enumerate(records) if not record.blank]
    if not filled:
        raise ScreenInputError(f"{name} has no rows: nothing to screen")
    # "row" for a CSV too: the number the screen table's Row column, the HTML and the PDF
    # give it (the line a spreadsheet shows the record on)
    unit = "row"
    if header_row is not None:
        header_record = next(
            (index for index in filled if records[index].number == header_row), None
        )
        if header_record is None:
            raise ScreenInputError(
                f"--header-row {header_row}: {unit} {header_row} of {name} is empty or past its end"
            )
    else:
        header_record = _find_header(records, filled, header_names)
    header: list[str] = []
    if header_record is not None:
        header = _screened_cells(records[header_record].cells)
        data_records = [index for index in filled if index > header_record]
        above = filled.index(header_record)
        if above:
            notes.append(f"{above} row(s) above the header row were not screened")
    else:
        data_records = filled
        notes.append("no header row recognised: every column is read as text")
    if not data_records:
        raise ScreenInputError(f"{name} has a header but no data rows: nothing to screen")
    skipped: list[tuple[int, str]] = []
    kept: list[int] = []
    summary = summary or _summary_words()
    for index in data_records:
        record = records[index]
        why = _not_a_product(record.cells, (formulas or {}).get(record.number, set()), summary)
        if why is None:
            kept.append(index)
        else:
            skipped.append((record.number, why))
    if skipped:
        if not kept:
            raise ScreenInputError(
                f"{name} has no product rows (only totals or formulas): nothing to screen"
            )
        data_records = kept
        notes.append(_skipped_note(skipped, unit))
    rows = [_screened_cells(records[index].cells) for index in data_records]
    width = max(len(header), *(len(cells) for cells in rows))
    header += [f"column {index + 1}" for index in range(len(header), width)]
    for cells in rows:
        cells += [""] * (width - len(cells))
    return InputTable(
        source=source,
        name=name,
        kind=kind,
        header=header,
        has_header=header_record is not None,
        rows=rows,
        row_numbers=[records[index].number for index in data_records],
        notes=notes,
        records=records,
        header_record=header_record,
        data_records=data_records,
        csv_format=csv_format,
        sheet=sheet,
        skipped=tuple(skipped),
    )


def _find_header(
    records: Sequence[SourceRecord], filled: Sequence[int], header_names: Sequence[str]
) -> int | None:
    """The index of the header record among the first non-empty rows, or None.

    The first row that names a column (:func:`is_header_row`) is the header, unless a row
    below it names more of them: the maker or part-number columns, or the columns the user
    named. A quote's title and its group labels ("Product" over the maker and part-number
    columns, "Pricing" over the quantity and price) stand above the real header; a row below
    the first takes its place only when it names two columns or more, or one the user named
    (a product named "Label" is no header)."""
    best: int | None = None
    best_strength = (0, 0, 0)
    for index in filled[:HEADER_SEARCH_ROWS]:
        cells = _screened_cells(records[index].cells)
        if not is_header_row(cells, header_names):
            continue
        strength = header_strength(cells, header_names)
        if best is None or (strength > best_strength and (strength[0] > 0 or strength[2] >= 2)):
            best, best_strength = index, strength
    return best


#: A row of one cell that is a remark, not a product: "Note: prices valid 30 days",
#: "Remarque : délai 4 semaines", "Terms and conditions apply", "* prices exclude tax".
_NOTE_ROW = re.compile(
    r"(?:(?:notes?|n\.?\s?b\.?|nota(?:\s+bene)?|remarks?|remarques?|comments?|commentaires?"
    r"|observations?|anmerkungen?|hinweise?|bemerkungen?|terms|conditions|validity|validit[eé]"
    r"|payment(?:\s+terms)?|delivery|lead\s+time|d[eé]lai(?:\s+de\s+livraison)?|warranty"
    r"|garantie|disclaimer)\s*[:\-\u2013\u2014.]"
    r"|terms\s*(?:and|&)\s*conditions\b|terms\s*$|conditions\s+g[eé]n[eé]rales\b"
    r"|(?:all\s+)?prices?\s+(?:are\s+|is\s+)?(?:valid|quoted|exclude|include|subject)\b"
    r"|(?:this\s+)?(?:quote|quotation|offer)\s+(?:is\s+)?valid\b"
    r"|(?:prix|offre|devis)\s+(?:sont\s+|est\s+)?valables?\b|tous\s+les\s+prix\b"
    r"|\*+\s*\w)",
    re.IGNORECASE,
)


def _note_row(cells: Sequence[str]) -> bool:
    """A row whose one filled cell is a note or a remark (:data:`_NOTE_ROW`)."""
    filled = [cell.strip() for cell in cells if cell.strip()]
    return len(filled) == 1 and _NOTE_ROW.match(filled[0]) is not None


#: A formula as a CSV holds it, typed rather than computed: "=SUM(D2:D9)", "=B4*C4".
_FORMULA_TEXT = re.compile(r"=\s*(?:[A-Za-z_][A-Za-z0-9_.]*\s*\(|\$?[A-Za-z]{1,3}\$?\d)")
#: A total's, tax's or charge's label is words of ``screening_words.yaml`` (summary labels and
#: qualifiers, compared per run of letters and digits, accents off: "Sous-total / Subtotal",
#: "TPS/GST 5%", "Frais de livraison"); a run may also be a label glued to a qualifier
#: ("TotalHT") when the label has at least this many letters.
_GLUED_LABEL_MIN = 5
#: An amount or a count beside a total's label: "1 234,50 €", "USD 1,234.00", "(12.5)", "-".
_AMOUNT = re.compile(
    r"[-+(]?\s*(?:[A-Z]{3}\s*)?[$€£¥₹]?\s*[-+]?\d[\d\s.,'\u00a0\u202f]*\s*(?:[$€£¥₹%]|[A-Z]{3})?\)?"
    r"|[-\u2013\u2014]"
)
_RUN = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class _SummaryWords:
    """The words of totals, taxes and charges (``screening_words.yaml``), and a first filter:
    a row is looked at closely only when a cell starts with a formula or one of the words."""

    labels: frozenset[str]
    qualifiers: frozenset[str]
    first: re.Pattern[str]


_summary_cache: dict[int, tuple[object, _SummaryWords]] = {}


def _summary_words(words: ScreeningWords | None = None) -> _SummaryWords:
    """The summary words of ``words`` (default: the active knowledge's), compiled once."""
    if words is None:
        from provscan.knowledge.loader import load_knowledge

        words = load_knowledge().screening_words
    cached = _summary_cache.get(id(words))
    if cached is not None and cached[0] is words:
        return cached[1]
    every = sorted(words.summary_labels | words.summary_qualifiers, key=len, reverse=True)
    alternatives = "|".join(re.escape(word) for word in every) or "(?!)"
    compiled = _SummaryWords(
        words.summary_labels,
        words.summary_qualifiers,
        re.compile(rf"\x1f[^\w=]*(?:=|(?:{alternatives})(?![^\W_]))"),
    )
    _summary_cache[id(words)] = (words, compiled)
    return compiled


def _summary_run(run: str, words: _SummaryWords) -> str | None:
    """``label`` or ``qualifier`` for a run of a label's text, or None: any other word."""
    if run in words.labels:
        return "label"
    if run in words.qualifiers or run.isdigit():
        return "qualifier"
    for label in words.labels:
        rest = run[len(label) :]
        glued = len(label) >= _GLUED_LABEL_MIN and run.startswith(label)
        if glued and (rest in words.qualifiers or rest.isdigit()):
            return "label"
    return None


def _total_label(cell: str, words: _SummaryWords) -> bool:
    """A cell that labels a total, a tax or a charge: its words are summary labels and
    qualifiers (and numbers: "TPS/GST 5%"), at least one of them a label."""
    runs = _RUN.findall(fold_accents(cell))
    kinds = [_summary_run(run, words) for run in runs]
    return bool(kinds) and None not in kinds and "label" in kinds


def _not_a_product(
    cells: Sequence[str], formula_columns: Collection[int], words: _SummaryWords
) -> str | None:
    """Why a data row is no product, or None: every filled cell is a formula ("formulas"),
    or a total's, a tax's or a charge's label stands with nothing but amounts and formulas
    beside it ("a total": "Total,,,=SUM(D2:D9)", "Sous-total HT;;1 234,50 €", "TPS/GST
    5%;;62,50"); or its one cell is a note ("a note": "Note: prices valid 30 days"). A
    product whose name starts so ("Total station TS16") has other words beside it and is
    screened."""
    if _note_row(cells):
        return "a note"
    if (
        not formula_columns
        and words.first.search(fold_accents("\x1f" + "\x1f".join(cells))) is None
    ):
        return None
    filled = [(index, cell.strip()) for index, cell in enumerate(cells) if cell.strip()]
    if not filled:
        return None
    formula = [
        index in formula_columns or _FORMULA_TEXT.match(cell) is not None for index, cell in filled
    ]
    if all(formula):
        return "formulas"
    labels = [index for index, cell in filled if _total_label(cell, words)]
    if labels and all(
        is_formula or index in labels or _AMOUNT.fullmatch(cell) is not None
        for (index, cell), is_formula in zip(filled, formula, strict=True)
    ):
        return "a total"
    return None


#: Rows a note names one by one, at most.
_SKIPPED_NAMED = 5


def _skipped_note(skipped: Sequence[tuple[int, str]], unit: str) -> str:
    named = ", ".join(f"{unit} {number} ({why})" for number, why in skipped[:_SKIPPED_NAMED])
    more = f" and {len(skipped) - _SKIPPED_NAMED} more" if len(skipped) > _SKIPPED_NAMED else ""
    return f"{len(skipped)} row(s) not screened, not products: {named}{more}"


# --- writing ---------------------------------------------------------------------------


def added_column_names(header: Sequence[str]) -> list[str]:
    taken = {header_key(name) for name in header}
    return [name if header_key(name) not in taken else f"provscan_{name}" for name in ADDED_COLUMNS]


def result_columns_note(table: InputTable) -> str | None:
    """For a CSV written back without a header row (there was none): the note that names the
    result columns appended to each row; None when the header names them."""
    if table.csv_format is None or table.header_record is not None:
        return None
    return (
        f"no header row to name the result columns: each row ends with {', '.join(ADDED_COLUMNS)}"
    )


def _restricted_text(row: ScreenRow) -> str:
    return {"restricted": "yes", "clear": "no", "review": "review", "unknown": "unknown"}[
        row.status
    ]


def _confidence_text(row: ScreenRow) -> str:
    return f"{row.confidence:.2f}"


def maker_text(row: ScreenRow) -> str:
    """The maker cell: every maker the evidence allows, ``maker`` first ("Hikvision/Dahua"),
    as the terminal table shows it and the JSON lists it in ``makers``; "" when unknown. A
    "?" ends it when the maker is only possible ("Dahua?", "Hikvision/Dahua?": the brand
    sells only some lines made by it), so that the cell never claims more than the reason."""
    text = "/".join(row.makers) if len(row.makers) > 1 else row.maker or ""
    return f"{text}?" if text and not row.maker_established else text


def result_cells(row: ScreenRow) -> list[str]:
    """The cells added for one screened row, in :data:`ADDED_COLUMNS` order."""
    return [
        maker_text(row),
        row.brand or "",
        row.relation,
        _restricted_text(row),
        # Only measures that restrict, of every possible maker (the findings hold each
        # candidate's): a context-only measure (effect "context") names the maker without
        # restricting it, and is kept in the JSON output with its effect.
        ";".join(row.cited_policies),
        _confidence_text(row),
        row.reason,
        row.verdict,
        measures_text(row),
    ]


#: Where the confidence is among the result cells: written as a number in an XLSX.
_CONFIDENCE = ADDED_COLUMNS.index("confidence")
#: How a confidence is shown in an XLSX: two decimals, as in the CSV.
_CONFIDENCE_FORMAT = "0.00"
#: A number as a list types an amount: an optional minus, then an optional currency symbol
#: before it or after it (one space between at most), then digits with no leading zero (an
#: identifier's: "00123") and at most nine of them (a longer run of digits is a barcode or a
#: serial, which a spreadsheet would show as 4.0E+12), or a number with comma thousands
#: separators, then an optional decimal point and one to six decimals. No "+", no exponent
#: ("1E5" is a part number), no decimal comma ("1,234" could be either: text).
_NUMBER = re.compile(
    r"(?P<minus>-?)(?:(?P<before>[$€£¥]) ?)?"
    r"(?P<whole>0|[1-9][0-9]{0,8}|(?P<grouped>[1-9][0-9]{0,2}(?:,[0-9]{3}){1,3}))"
    r"(?:\.(?P<decimals>[0-9]{1,6}))?"
    r"(?:(?P<space> ?)(?P<after>[$€£¥]))?"
)
#: Words of a header that name an identifier, not an amount: its digits stay text.
_IDENTIFIER_WORDS = frozenset(
    {
        "id",
        "serial",
        "sn",
        "model",
        "part",
        "sku",
        "mpn",
        "ean",
        "upc",
        "gtin",
        "barcode",
        "isbn",
        "code",
        "article",
        "ref",
        "reference",
        "version",
        "firmware",
        "phone",
        "tel",
        "fax",
        "zip",
        "postcode",
        "postal",
        "account",
    }
)
#: The last word of a header that numbers something ("Part No", "PO Number"), where "Number of
#: units" is a count.
_NUMBER_WORDS = frozenset({"number", "no", "nr", "num"})


def _names_identifier(header: str) -> bool:
    """Whether a header names an identifier (a part number, a SKU, a serial, a code)."""
    if "#" in header or header_key(header) in HEADER_ALIASES["model"]:
        return True
    # Words, camelCase split too ("PartNumber", "SKU", "PO Number").
    words = [word.lower() for word in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])", header)]
    return bool(words) and (
        words[-1] in _NUMBER_WORDS or any(word in _IDENTIFIER_WORDS for word in words)
    )


@dataclass(frozen=True)
class NumberCell:
    """A cell's text read as a number (:func:`read_number`), and how a spreadsheet shows it
    as it was typed (None: as a whole number is shown by default)."""

    value: int | float
    number_format: str | None
    #: The currency symbol it was written with ("" for none).
    currency: str


def read_number(text: str) -> NumberCell | None:
    """``"89.50"``, ``"$1,299.00"``, ``"-2"``, ``"12 €"`` as numbers; None for anything else
    (:data:`_NUMBER`): a part number ("0012", "1E5", "4711-2"), a decimal comma, a
    thousands separator that could be a decimal comma ("1,234") or a decimal point that
    could be a thousands separator ("1.500"), two currency symbols."""
    match = _NUMBER.fullmatch(text.strip())
    if match is None or (match["before"] and match["after"]):
        return None
    grouped, decimals = match["grouped"], match["decimals"]
    if grouped and grouped.count(",") == 1 and decimals is None:
        return None  # "1,234": a thousand and more, or one and a bit written the French way
    if not grouped and match["whole"] != "0" and decimals is not None and len(decimals) == 3:
        return None  # "1.500": one and a half, or fifteen hundred written the German way
    digits = match["whole"].replace(",", "")
    value: int | float = int(digits)
    if decimals is not None:
        value = float(f"{digits}.{decimals}")
    if match["minus"]:
        value = -value
    currency = match["before"] or match["after"] or ""
    shown = "#,##0" if grouped else "0"
    if decimals is not None:
        shown += "." + "0" * len(decimals)
    if match["before"]:
        shown = f'"{currency}"{shown}'
    elif match["after"]:
        shown = f'{shown}"{match["space"]}{currency}"'
    return NumberCell(value, None if shown == "0" else shown, currency)


def number_columns(table: InputTable, keep_text: Collection[int] = ()) -> frozenset[int]:
    """The columns of a list (indexes of its header) whose cells a new workbook stores as
    numbers: every non-empty data cell is a number (:func:`read_number`, spaces around it
    aside: a whole number, a decimal, with a currency symbol or comma thousands separators
    that cannot be a decimal comma), all with the same currency symbol or none, the header
    names no identifier (a part number, SKU, serial or code: its digits are a name, not an
    amount) and the column is not one that was screened (``keep_text``: the brand, model and
    description columns). A list without a header row has none: nothing says what its digits
    are."""
    if table.header_record is None:
        return frozenset()
    header = table.records[table.header_record].cells
    originals = [table.records[index].cells for index in table.data_records]
    found = set()
    for index, name in enumerate(header):
        if index in keep_text or _names_identifier(name):
            continue
        values = [cells[index].strip() for cells in originals if index < len(cells)]
        read = [read_number(value) for value in values if value]
        if (
            read
            and all(number is not None for number in read)
            and len({number.currency for number in read if number is not None and number.currency})
            <= 1
        ):
            found.add(index)
    return frozenset(found)


def _screened_columns(columns: ColumnChoice | None) -> frozenset[int]:
    if columns is None:
        return frozenset()
    chosen = (columns.brand, columns.model, columns.description)
    return frozenset(index for index in chosen if index is not None)


def output_rows(table: InputTable, rows: Sequence[ScreenRow]) -> tuple[list[str], list[list[str]]]:
    """The header and data rows as written in the input, one width, results appended.

    Used when converting between CSV and XLSX; rows above the header are not part of it.
    """
    originals = [table.records[index].cells for index in table.data_records]
    header = [] if table.header_record is None else list(table.records[table.header_record].cells)
    width = max(len(header), *(len(cells) for cells in originals))
    header += [f"column {index + 1}" for index in range(len(header), width)]
    cells_of = PerJudgement(result_cells)
    body = [
        [*cells, *[""] * (width - len(cells)), *cells_of(row)]
        for cells, row in zip(originals, rows, strict=True)
    ]
    return header + added_column_names(table.header), body


def render_csv(table: InputTable, rows: Sequence[ScreenRow]) -> bytes:
    """The list as CSV with the result columns appended, formula-guarded.

    A CSV input is written back as it was read (see the module docstring); an XLSX input is
    converted to comma-separated UTF-8.
    """
    if table.csv_format is not None:
        return _rewrite_csv(table, rows, table.csv_format)
    header, body = output_rows(table, rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for cells in (header, *body):
        writer.writerow([guard_formula(cell) for cell in cells])
    return buffer.getvalue().encode("utf-8")


def _csv_field(cell: str, delimiter: str) -> str:
    # RFC 4180: quote a field holding the delimiter, a quote or a line break; double quotes.
    if delimiter in cell or '"' in cell or "\r" in cell or "\n" in cell:
        return '"' + cell.replace('"', '""') + '"'
    return cell


def _csv_line(cells: Sequence[str], delimiter: str) -> str:
    return delimiter.join(_csv_field(cell, delimiter) for cell in cells)


def _parse_csv(text: str, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline=""), csv.excel, delimiter=delimiter))


def _rewrite_csv(table: InputTable, rows: Sequence[ScreenRow], form: CsvFormat) -> bytes:
    names = added_column_names(table.header)
    # The result cells of a row are made when its line is written, not all held at once.
    screened: dict[int, ScreenRow] = dict(zip(table.data_records, rows, strict=True))
    extended = [*screened, *([] if table.header_record is None else [table.header_record])]
    # Results start after the widest screened record, so short rows get empty cells first.
    width = max(len(table.records[index].cells) for index in extended)
    # A list without a header row gets none: its rows come back with the results appended
    # and nothing added above them (the command names the result columns in a note).
    lines: list[str] = []
    cells_of = PerJudgement(result_cells)
    tails: dict[int, tuple[list[str], str | None]] = {}
    for index, record in enumerate(table.records):
        row = screened.get(index)
        added = cells_of(row) if row is not None else None
        if index == table.header_record:
            added = names
        tail = None
        if added is not None:
            # the guarded result cells and their text, once per judgement (``added`` is
            # the same list object for rows that share one)
            tail = tails.get(id(added))
            if tail is None or tail[0] is not added:
                tail = tails[id(added)] = (added, _tail_text(added, form.delimiter))
        lines.append(_csv_record(record, added, width, form.delimiter, tail=tail))
    return form.bom + "".join(lines).encode(form.encoding, errors="replace")


def _tail_text(added: Sequence[str], delimiter: str) -> str | None:
    """The result cells formula-guarded as CSV text, or None when that text does not read
    back as those cells on its own (then each record is checked whole)."""
    tail = [guard_formula(cell) for cell in added]
    text = _csv_line(tail, delimiter)
    return text if _parse_csv(text, delimiter) == [tail] else None


def _csv_record(
    record: SourceRecord,
    added: Sequence[str] | None,
    width: int,
    delimiter: str,
    *,
    tail: tuple[Sequence[str], str | None] | None = None,
) -> str:
    """One output record: the input's text where it can stay, ``added`` cells appended
    (``tail``: those cells' :func:`_tail_text`, when already made)."""
    guarded = [guard_formula(cell) for cell in record.cells]
    ending = _line_ending(record.raw)
    if added is None:
        if guarded == record.cells:
            return record.raw  # title and blank rows, unchanged
        return _csv_line(guarded, delimiter) + ending
    padding = [""] * (width - len(guarded))
    tail_text = tail[1] if tail is not None and tail[0] is added else _tail_text(added, delimiter)
    if guarded == record.cells:
        # Keep the input's bytes and append to them. A record with no quote and no line
        # break reads back as its text split at the delimiter, so when that gives its cells
        # and the tail reads back alone, the line reads back as the cells, padding and tail.
        # Anything else is checked by parsing, because a record that ends oddly (an unclosed
        # quote at the end of the file) cannot be extended.
        kept = record.raw[: len(record.raw) - len(ending)]
        if (
            tail_text is not None
            and '"' not in kept
            and "\r" not in kept
            and "\n" not in kept
            and kept.split(delimiter) == record.cells
        ):
            return kept + delimiter * len(padding) + delimiter + tail_text + ending
        tail_cells = [guard_formula(cell) for cell in added]
        line = kept + delimiter * len(padding) + delimiter + _csv_line(tail_cells, delimiter)
        if _parse_csv(line, delimiter) == [[*guarded, *padding, *tail_cells]]:
            return line + ending
    expected = [*guarded, *padding, *(guard_formula(cell) for cell in added)]
    return _csv_line(expected, delimiter) + ending


#: Fills of the result cells (XLSX input) or rows (CSV input) in the XLSX output.
STATUS_FILLS = {"restricted": "FFC7CE", "review": "FFEB9C", "unknown": "EDEDED"}


@dataclass(frozen=True)
class AuditSheets:
    """What the XLSX output's two added sheets say: the audit context and the measures."""

    summary: ScreenSummary
    measures: Sequence[ScreenMeasure]


def render_xlsx(
    table: InputTable,
    rows: Sequence[ScreenRow],
    columns: ColumnChoice | None = None,
    audit: AuditSheets | None = None,
) -> tuple[bytes, list[str]]:
    """The list as an XLSX workbook and notes about it; result cells are stored as text,
    the confidence as a number, in columns of set widths (the reason and measures wrap).

    An XLSX input comes back as itself with the result columns added to the screened sheet;
    a CSV input becomes a new workbook of header and screened rows, every cell text but the
    columns of numbers (:func:`number_columns`; ``columns``: the ones screened, which
    stay text). With ``audit``, sheets "provscan screening" (the audit context) and
    "provscan measures" (each measure cited, its citation and link) follow the workbook's
    own, under names it does not have.
    """
    if table.kind == "xlsx":
        return _screened_workbook(table, rows, audit)
    header, body = output_rows(table, rows)
    numbers = number_columns(table, _screened_columns(columns))
    confidence = len(header) - len(ADDED_COLUMNS) + _CONFIDENCE
    statuses = [row.status for row in rows]
    return _new_workbook(header, body, statuses, numbers, confidence, audit), []


def _shape_result_columns(worksheet: Worksheet, first: int, rows: Sequence[int]) -> None:
    """The added columns' widths, and their reason and measures cells wrapped, top-aligned
    (the user's own columns are left as they are)."""
    from openpyxl.styles import Alignment
    from openpyxl.utils import get_column_letter

    wrapped = Alignment(wrap_text=True, vertical="top")
    top = Alignment(vertical="top")
    for offset, name in enumerate(ADDED_COLUMNS):
        column = first + offset
        worksheet.column_dimensions[get_column_letter(column)].width = ADDED_COLUMN_WIDTHS[name]
        alignment = wrapped if name in WRAPPED_COLUMNS else top
        for number in rows:
            worksheet.cell(row=number, column=column).alignment = alignment


def _new_workbook(
    header: Sequence[str],
    body: Sequence[Sequence[str]],
    statuses: Sequence[str],
    numbers: Collection[int],
    confidence: int,
    audit: AuditSheets | None = None,
) -> bytes:
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
        for index, value in enumerate(cells):
            cell = worksheet.cell(row=row_index, column=index + 1)
            if index == confidence:
                _set_confidence(cell, value)
            elif index in numbers:
                number = read_number(value) if value.strip() else None
                if number is not None:
                    cell.value = number.value
                    if number.number_format is not None:
                        cell.number_format = number.number_format
            else:
                _set_text(cell, value)
            if fill is not None:
                cell.fill = fill
    worksheet.freeze_panes = "A2"
    first = len(header) - len(ADDED_COLUMNS) + 1
    _shape_result_columns(worksheet, first, range(2, len(body) + 2))
    if audit is not None:
        from openpyxl.utils import get_column_letter

        span = f"{get_column_letter(first)}:{get_column_letter(len(header))}"
        add_audit_sheets(
            workbook,
            audit.summary,
            audit.measures,
            results=f"columns {span} of sheet {worksheet.title!r}",
        )
    return workbook_bytes(workbook, None if audit is None else screened_time(audit.summary))


#: The part of an XLSX file holding its document properties, and the creation time in it.
_CORE_PART = "docProps/core.xml"
_CREATED_TAG = b"dcterms:created"


def _states_created(archive: zipfile.ZipFile) -> bool:
    """Whether the workbook's document properties state when it was created."""
    try:
        with archive.open(_CORE_PART) as part:
            return _CREATED_TAG in part.read(1 << 16)
    except (KeyError, OSError, zipfile.BadZipFile):
        return False


def _screened_workbook(
    table: InputTable, rows: Sequence[ScreenRow], audit: AuditSheets | None = None
) -> tuple[bytes, list[str]]:
    import openpyxl
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.worksheet import Worksheet

    notes: list[str] = []
    try:
        with (
            warnings.catch_warnings(record=True) as caught,
            _open_again(table.source) as handle,
        ):
            warnings.simplefilter("always")
            with zipfile.ZipFile(handle) as archive:
                parts = archive.namelist()
                states_created = _states_created(archive)
            # Full mode (not read-only, formulas not values): what is loaded is written back.
            # keep_vba stays off, so no macro reaches the output.
            workbook = openpyxl.load_workbook(handle, rich_text=True)
            # openpyxl fills a missing creation time with the clock's: keep only a stated one
            created = workbook.properties.created if states_created else None
    except Exception as exc:  # openpyxl raises many kinds on malformed parts
        raise ScreenInputError(
            f"{table.name} could not be loaded to write the XLSX output: "
            f"{type(exc).__name__}: {exc}"
        ) from None
    notes += dict.fromkeys(f"XLSX output: {warning.message}" for warning in caught)
    worksheet = workbook[table.sheet] if table.sheet in workbook.sheetnames else None
    if not isinstance(worksheet, Worksheet):  # the file changed since it was read
        raise ScreenInputError(f"no sheet {table.sheet!r} with cells in {table.name}")
    header_row = None if table.header_record is None else table.records[table.header_record].number
    # Without a header row the names go in the (empty) row above the first data row, if any.
    names_row = header_row if header_row is not None else table.row_numbers[0] - 1
    written_rows = [*table.row_numbers, *([names_row] if names_row >= 1 else [])]
    first = _last_used_column(worksheet, written_rows) + 1
    names = added_column_names(table.header)
    last = first + len(names) - 1
    if last > XLSX_MAX_COLUMN:
        raise ScreenInputError(
            f"sheet {worksheet.title!r} of {table.name} has no room for {len(names)} more columns"
        )
    span = f"{get_column_letter(first)}:{get_column_letter(last)}"
    if names_row >= 1:
        bold = Font(bold=True)
        for offset, name in enumerate(names):
            cell = worksheet.cell(row=names_row, column=first + offset)
            _set_text(cell, name)
            cell.font = bold
    else:
        notes.append(f"no header row to name the result columns {span}: {', '.join(names)}")
    fills = {status: PatternFill("solid", fgColor=color) for status, color in STATUS_FILLS.items()}
    cells_of = PerJudgement(result_cells)
    for number, row in zip(table.row_numbers, rows, strict=True):
        fill = fills.get(row.status)
        for offset, value in enumerate(cells_of(row)):
            cell = worksheet.cell(row=number, column=first + offset)
            if offset == _CONFIDENCE:
                _set_confidence(cell, value)
            else:
                _set_text(cell, value)
            if fill is not None:
                cell.fill = fill
    _shape_result_columns(worksheet, first, table.row_numbers)
    if audit is not None:
        added = add_audit_sheets(
            workbook,
            audit.summary,
            audit.measures,
            sheet=worksheet.title,
            results=f"columns {span} of sheet {worksheet.title!r}",
        )
        notes.append(
            f"the screening's context and the measures cited are in sheets {added[0]!r} and "
            f"{added[1]!r}"
        )
    # A template (.xltx) or macro (.xlsm) input is written as a plain workbook.
    workbook.template = False
    workbook.vba_archive = None
    if "xl/vbaProject.bin" in parts:
        notes.append("the input's macros (VBA) are not copied to the output")
    if find_spec("PIL") is None and any(part.startswith("xl/media/") for part in parts):
        # openpyxl drops pictures silently when Pillow is missing (charts it keeps).
        notes.append("the input's pictures are not copied to the output (that needs Pillow)")
    notes.append(f"results are in columns {span} of sheet {worksheet.title!r}")
    try:
        data = workbook_bytes(
            workbook, None if audit is None else screened_time(audit.summary), created
        )
    except Exception as exc:  # a part openpyxl loaded but cannot write back
        raise ScreenInputError(
            f"{table.name} could not be written back as XLSX: {type(exc).__name__}: {exc}"
        ) from None
    return data, notes


def _open_again(source: Path | bytes) -> BinaryIO:
    """The list, to read it again: its file (a file changed since is refused by what reads
    it), or the bytes read from standard input."""
    return io.BytesIO(source) if isinstance(source, bytes) else source.open("rb")


def _last_used_column(worksheet: Worksheet, rows: Sequence[int]) -> int:
    """The last column with a value in ``rows``, or covered by a merged range over them.

    Not ``max_column``: formatting on empty cells (a coloured row, a bordered block) inflates
    it, and results would land hundreds of columns to the right.
    """
    wanted = set(rows)
    # _cells holds the cells the file has; iter_rows would create every cell it visits.
    last = max(
        (
            column
            for (row, column), cell in worksheet._cells.items()
            if row in wanted and cell.value is not None and cell.value != ""
        ),
        default=0,
    )
    low, high = min(wanted), max(wanted)
    for merged in worksheet.merged_cells.ranges:
        if merged.min_row <= high and merged.max_row >= low:
            last = max(last, merged.max_col)
    return last


def _set_text(cell: _CellOrMergedCell, value: str) -> None:
    # openpyxl turns a str starting with "=" into a formula; forcing the string type stores
    # the characters as written (OWASP CSV/formula injection).
    from openpyxl.cell.cell import Cell

    if not isinstance(cell, Cell):  # a merged cell; results are placed beyond any
        raise ScreenInputError(f"cannot write a result into merged cell {cell.coordinate}")
    cell.value = _illegal_free(value)
    cell.data_type = "s"


def _set_confidence(cell: _CellOrMergedCell, value: str) -> None:
    """The confidence as a number shown with two decimals (the CSV's text, as a number)."""
    from openpyxl.cell.cell import Cell

    if not isinstance(cell, Cell):  # a merged cell; results are placed beyond any
        raise ScreenInputError(f"cannot write a result into merged cell {cell.coordinate}")
    cell.value = float(value)
    cell.number_format = _CONFIDENCE_FORMAT


_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _illegal_free(value: str) -> str:
    return _ILLEGAL_XML.sub("\ufffd", value)

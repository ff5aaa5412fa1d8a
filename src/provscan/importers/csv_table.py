"""A CMDB or asset list (CSV, or an XLSX workbook) -> records: address, MAC, host name,
serial, and the maker, model and description a person wrote down.

Address, MAC, host name and serial columns are found by their headers (:data:`HEADER_ALIASES`);
the maker, model and description columns by the same detection ``provscan screen`` uses,
handed in by the caller (``product_columns``; screening sits above the inputs), as is the
reader of XLSX workbooks (``workbook``: the one ``provscan screen`` reads them with) and the
columns the user named (``named_columns``). Cells are data: a cell that looks like a formula
is kept as text (every CSV provscan writes guards it).
"""

from __future__ import annotations

import csv
import io
import ipaddress
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from provscan.importers.files import check_size, read_bytes, text_lines
from provscan.importers.interface import (
    MAX_RECORDS,
    ImportedFile,
    ImportFileError,
    ImportFormat,
    ImportRecord,
)
from provscan.wire.mac import normalise_mac

#: What a CMDB row says, as observations of protocol ``record`` (fingerprints: record_*.yaml).
PROTOCOL = "record"
#: Header spellings per identity column, compared without case, accents, spaces or
#: punctuation. Besides English, the usual French, Spanish and German column names of an asset
#: register ("Adresse IP", "Dirección IP", "IP-Adresse", "Adresse MAC", "Nom d'hôte",
#: "Numéro de série", "Seriennummer"): plain words of those languages for the same things, no
#: vendor's vocabulary (the maker and model columns are found by screening's detection).
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "address": (
        "ip",
        "ipaddress",
        "ipaddr",
        "ipv4",
        "ipv4address",
        "address",
        "hostip",
        "primaryip",
        "primaryipv4",
        "managementip",
        "mgmtip",
        "ipv6",
        "ipv6address",
        "adresseip",
        "adresseipv4",
        "direccionip",
        "direccionipv4",
        "ipadresse",
        "ipv4adresse",
    ),
    "mac": (
        "mac",
        "macaddress",
        "macaddr",
        "hwaddress",
        "hardwareaddress",
        "physicaladdress",
        "ethernetaddress",
        "ethernetmac",
        "adressemac",
        "direccionmac",
        "macadresse",
    ),
    "hostname": (
        "hostname",
        "host",
        "dnsname",
        "fqdn",
        "devicename",
        "assetname",
        "computername",
        "networkname",
        "nomdhote",
        "nombredehost",
        "rechnername",
    ),
    "serial": (
        "serial",
        "serialnumber",
        "serialno",
        "sn",
        "assettag",
        "numerodeserie",
        "seriennummer",
    ),
}
#: The maker/model/description column indices a header holds (None: absent).
ProductColumns = Callable[[Sequence[str]], tuple[int | None, int | None, int | None]]
#: The identity columns the user named (``--ip-col``: role -> index in the header); raises
#: an InputError naming the header's columns when one is not there.
NamedColumns = Callable[[Sequence[str]], Mapping[str, int]]


@dataclass(frozen=True)
class WorkbookSheet:
    """The sheet of an XLSX workbook a :data:`WorkbookReader` read."""

    header: list[str]
    rows: list[list[str]]
    #: The sheet row of each data row.
    numbers: list[int]
    #: The title of the sheet read, and of every sheet with cells, in the workbook's order.
    sheet: str
    sheets: tuple[str, ...]


#: Reads an XLSX workbook's sheet (the first, or the one the user named), given the header
#: words that mark its header row; raises an InputError saying what is wrong with it.
WorkbookReader = Callable[[Path, Sequence[str]], WorkbookSheet]
#: Other sheets named in the note saying they were not read; the rest are counted.
MAX_SHEETS_NAMED = 5
_DELIMITERS = ",;\t|"
#: The first bytes of an XLSX workbook (a zip file) and of a legacy .xls (an OLE file).
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: Rows with a malformed address or MAC listed one by one; the rest are counted.
MAX_ROW_NOTES = 20


@dataclass(frozen=True)
class RecordColumns:
    address: int | None
    mac: int | None
    hostname: int | None
    serial: int | None
    maker: int | None
    model: int | None
    description: int | None


def _key(header: str) -> str:
    folded = unicodedata.normalize("NFKD", header.lower())
    return re.sub(r"[^a-z0-9]", "", folded.encode("ascii", "ignore").decode("ascii"))


def is_workbook(head: bytes) -> bool:
    """The first bytes of an Excel workbook (XLSX, or a legacy .xls)."""
    return head.startswith((_ZIP_MAGIC, _OLE_MAGIC))


def detect_columns(
    header: Sequence[str],
    product_columns: ProductColumns | None,
    named: Mapping[str, int] | None = None,
) -> RecordColumns:
    """The columns the user named, then the identity columns by their headers, then the
    product columns not already taken."""
    found: dict[str, int | None] = dict(named or {})
    taken = {index for index in found.values() if index is not None}
    for role, aliases in HEADER_ALIASES.items():
        if found.get(role) is not None:
            continue
        ranked = sorted(
            (aliases.index(_key(cell)), index)
            for index, cell in enumerate(header)
            if _key(cell) in aliases and index not in taken
        )
        found[role] = ranked[0][1] if ranked else None
        if ranked:
            taken.add(ranked[0][1])
    maker = model = description = None
    if product_columns is not None:
        maker, model, description = (
            None if index in taken else index for index in product_columns(header)
        )
    return RecordColumns(
        found["address"],
        found["mac"],
        found["hostname"],
        found["serial"],
        maker,
        model,
        description,
    )


def looks_like_csv(lines: Sequence[str]) -> bool:
    """A header line that names an address or MAC column."""
    if not lines:
        return False
    header = _split(lines[0])
    keys = {_key(cell) for cell in header}
    return bool(keys & set(HEADER_ALIASES["address"] + HEADER_ALIASES["mac"]))


def _delimiter(line: str) -> str:
    counts = {d: line.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _split(line: str) -> list[str]:
    return next(csv.reader([line], delimiter=_delimiter(line)), [])


def _csv_rows(path: Path) -> tuple[list[str], list[list[str]], list[int]]:
    """The header, the data rows and the record number of each (the header is record 1)."""
    lines = text_lines(path, read_bytes(path))
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        raise ImportFileError(f"{path}: empty file")
    delimiter = _delimiter(lines[0])
    try:
        rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter))
    except csv.Error as exc:
        raise ImportFileError(f"{path}: not a CSV file ({exc})") from None
    return rows[0], rows[1:], list(range(2, len(rows) + 1))


def _head(path: Path) -> bytes:
    check_size(path)
    try:
        with path.open("rb") as handle:
            return handle.read(len(_OLE_MAGIC))
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot read: {exc.strerror or exc}") from None


def read(
    path: Path,
    product_columns: ProductColumns | None = None,
    *,
    workbook: WorkbookReader | None = None,
    named_columns: NamedColumns | None = None,
) -> ImportedFile:
    """Every row with an address or a MAC, from a CSV file or (``workbook`` given) one sheet
    of an XLSX workbook (a note says which, and which others were not read). Raises
    ImportFileError."""
    head = _head(path)
    kind = "CSV"
    book: WorkbookSheet | None = None
    if head.startswith(_OLE_MAGIC):
        raise ImportFileError(
            f"{path}: a legacy Excel .xls workbook: save it as .xlsx, or export it as CSV"
        )
    if head.startswith(_ZIP_MAGIC):
        if workbook is None:
            raise ImportFileError(f"{path}: an Excel workbook: export it as CSV")
        words = [alias for aliases in HEADER_ALIASES.values() for alias in aliases]
        book = workbook(path, words)
        header, body, numbers = book.header, book.rows, book.numbers
        kind = "XLSX"
    else:
        header, body, numbers = _csv_rows(path)
    named = named_columns(header) if named_columns is not None else None
    columns = detect_columns(header, product_columns, named)
    if columns.address is None and columns.mac is None:
        names = ", ".join(repr(cell) for cell in header[:12])
        where, others = str(path), ""
        if book is not None:
            where = f"{path} sheet {book.sheet!r}"
            rest = [name for name in book.sheets if name != book.sheet]
            if rest:
                others = f"; or --sheet NAME for another sheet ({_names(rest)})"
        raise ImportFileError(
            f"{where}: no IP address or MAC column found among {names} "
            f"(name one IP, IP Address, MAC or MAC Address, or give --ip-col{others})"
        )
    source = f"{kind} {path.name}"
    records: list[ImportRecord] = []
    notes: list[str] = [] if book is None else _sheet_notes(path, book)
    malformed: list[str] = []
    empty = 0
    for number, row in zip(numbers, body, strict=True):
        if len(records) >= MAX_RECORDS:
            notes.append(f"{path.name}: only the first {MAX_RECORDS} rows were read")
            break

        def cell(index: int | None, row: list[str] = row) -> str:
            return row[index].strip() if index is not None and index < len(row) else ""

        address = _address(cell(columns.address))
        mac = normalise_mac(cell(columns.mac)) if cell(columns.mac) else None
        bad_address = cell(columns.address) if cell(columns.address) and address is None else ""
        bad_mac = cell(columns.mac) if cell(columns.mac) and mac is None else ""
        if bad_address:
            outcome = "row skipped" if mac is None else "row kept by its MAC"
            malformed.append(f"row {number}: {bad_address[:60]!r} is not an IP address ({outcome})")
        if bad_mac:
            outcome = "row skipped" if address is None else "MAC ignored"
            malformed.append(f"row {number}: {bad_mac[:60]!r} is not a MAC address ({outcome})")
        if address is None and mac is None:
            if not (bad_address or bad_mac):
                empty += 1
            continue
        record = ImportRecord(source=source, address=address, mac=mac)
        record.hostname = cell(columns.hostname)[:253] or None
        detail = f"{path.name} row {number}"
        record.add(PROTOCOL, None, "record.manufacturer", cell(columns.maker), detail)
        record.add(PROTOCOL, None, "record.model", cell(columns.model), detail)
        record.add(PROTOCOL, None, "record.description", cell(columns.description), detail)
        record.add(PROTOCOL, None, "record.serial", cell(columns.serial), detail)
        if cell(columns.address) and address is None:
            record.notes.append(f"{detail}: {cell(columns.address)[:60]!r} is no IP address")
        records.append(record)
    notes.extend(f"{path.name} {line}" for line in malformed[:MAX_ROW_NOTES])
    if len(malformed) > MAX_ROW_NOTES:
        more = len(malformed) - MAX_ROW_NOTES
        notes.append(
            f"{path.name}: and {more} more malformed IP {_plural(more, 'address', 'addresses')} "
            "or MACs (rows skipped, or read without them)"
        )
    if empty:
        notes.append(
            f"{path.name}: {empty} {_plural(empty, 'row', 'rows')} without an IP address or MAC "
            "skipped"
        )
    return ImportedFile(
        str(path), ImportFormat.csv, records, notes, sheet=None if book is None else book.sheet
    )


def _sheet_notes(path: Path, book: WorkbookSheet) -> list[str]:
    """``"register.xlsx: read sheet 'Cameras' of 3; not read: 'Switches', 'Notes' (--sheet
    NAME reads another)"``, for a workbook of several sheets."""
    others = [name for name in book.sheets if name != book.sheet]
    if not others:
        return []
    return [
        f"{path.name}: read sheet {book.sheet!r} of {len(book.sheets)}; not read: "
        f"{_names(others)} (--sheet NAME reads another)"
    ]


def _names(sheets: Sequence[str]) -> str:
    """``"'Switches', 'Notes'"``: the first :data:`MAX_SHEETS_NAMED`, the rest counted."""
    named = ", ".join(repr(name) for name in sheets[:MAX_SHEETS_NAMED])
    if len(sheets) > MAX_SHEETS_NAMED:
        named += f" and {len(sheets) - MAX_SHEETS_NAMED} more"
    return named


def _plural(count: int, one: str, many: str) -> str:
    return one if count == 1 else many


def _address(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip())) if text.strip() else None
    except ValueError:
        return None

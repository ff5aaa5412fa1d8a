"""A CMDB or asset list (CSV) -> records: address, MAC, host name, serial, and the maker,
model and description a person wrote down.

Address, MAC, host name and serial columns are found by their headers (:data:`HEADER_ALIASES`);
the maker, model and description columns by the same detection ``provscan screen`` uses,
handed in by the caller (``product_columns``; screening sits above the inputs). Cells are
data: a cell that looks like a formula is kept as text (every CSV provscan writes guards it).
"""

from __future__ import annotations

import csv
import io
import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from provscan.importers.files import read_bytes, text_lines
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
#: Header spellings per identity column, compared without case, spaces or punctuation.
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
    ),
    "serial": ("serial", "serialnumber", "serialno", "sn", "assettag"),
}
#: The maker/model/description column indices a header holds (None: absent).
ProductColumns = Callable[[Sequence[str]], tuple[int | None, int | None, int | None]]
_DELIMITERS = ",;\t|"


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
    return re.sub(r"[^a-z0-9]", "", header.lower())


def detect_columns(header: Sequence[str], product_columns: ProductColumns | None) -> RecordColumns:
    """The identity columns by their headers, then the product columns not already taken."""
    found: dict[str, int | None] = {}
    taken: set[int] = set()
    for role, aliases in HEADER_ALIASES.items():
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


def read(path: Path, product_columns: ProductColumns | None = None) -> ImportedFile:
    """Every row with an address or a MAC. Raises ImportFileError."""
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
    header, body = rows[0], rows[1:]
    columns = detect_columns(header, product_columns)
    if columns.address is None and columns.mac is None:
        names = ", ".join(repr(cell) for cell in header[:12])
        raise ImportFileError(
            f"{path}: no IP address or MAC column found among {names} "
            "(name one IP, IP Address, MAC or MAC Address)"
        )
    source = f"CSV {path.name}"
    records: list[ImportRecord] = []
    notes: list[str] = []
    empty = 0
    for number, row in enumerate(body, start=2):
        if len(records) >= MAX_RECORDS:
            notes.append(f"{path.name}: only the first {MAX_RECORDS} rows were read")
            break

        def cell(index: int | None, row: list[str] = row) -> str:
            return row[index].strip() if index is not None and index < len(row) else ""

        address = _address(cell(columns.address))
        mac = normalise_mac(cell(columns.mac)) if cell(columns.mac) else None
        if address is None and mac is None:
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
    if empty:
        notes.append(f"{path.name}: {empty} rows without an IP address or MAC skipped")
    return ImportedFile(str(path), ImportFormat.csv, records, notes)


def _address(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip())) if text.strip() else None
    except ValueError:
        return None

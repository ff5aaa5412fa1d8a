"""Which format a file is (``--from``, or detected from its first bytes) and its reader."""

from __future__ import annotations

from pathlib import Path

from provscan.importers import csv_table, leases, mac_table, masscan, nmap_xml
from provscan.importers.csv_table import NamedColumns, ProductColumns, WorkbookReader
from provscan.importers.files import check_size, decode_text
from provscan.importers.interface import ImportedFile, ImportFileError, ImportFormat

#: Bytes read to recognise a format.
SNIFF_BYTES = 64 * 1024


def detect_format(path: Path) -> ImportFormat:
    """The format of ``path`` from its first bytes; ImportFileError when unsure."""
    check_size(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if csv_table.is_workbook(head):
        return ImportFormat.csv  # a table: the CSV reader reads workbooks too (or says why not)
    text = decode_text(path, head)
    start = text.lstrip()[:4096]
    if start.startswith("<?xml") or start.startswith("<nmaprun") or start.startswith("<!DOCTYPE"):
        if "<nmaprun" in text:
            return ImportFormat.nmap_xml
        raise ImportFileError(f"{path}: XML, but not nmap's (no <nmaprun>)")
    if start.startswith("#masscan") or (
        start.startswith(("[", "{")) and '"ip"' in start and '"ports"' in start
    ):
        return ImportFormat.masscan_json
    lines = text.splitlines()[:200]
    if leases.looks_like_isc(lines) or leases.looks_like_dnsmasq(lines):
        return ImportFormat.dhcp_leases
    if mac_table.looks_like_mac_table(lines):
        return ImportFormat.mac_table
    if csv_table.looks_like_csv(lines):
        return ImportFormat.csv
    raise ImportFileError(
        f"{path}: cannot tell its format; name it with --from "
        "nmap-xml|masscan-json|csv|dhcp-leases|mac-table"
    )


def read_file(
    path: Path,
    fmt: ImportFormat | None = None,
    *,
    product_columns: ProductColumns | None = None,
    workbook: WorkbookReader | None = None,
    named_columns: NamedColumns | None = None,
) -> ImportedFile:
    """The records of one file (``fmt`` None: detected). Raises ImportFileError. For a table
    (CSV or XLSX): ``product_columns``, ``workbook``, ``named_columns`` (csv_table.read)."""
    fmt = fmt or detect_format(path)
    if fmt is ImportFormat.nmap_xml:
        return nmap_xml.read(path)
    if fmt is ImportFormat.masscan_json:
        return masscan.read(path)
    if fmt is ImportFormat.csv:
        return csv_table.read(path, product_columns, workbook=workbook, named_columns=named_columns)
    if fmt is ImportFormat.dhcp_leases:
        return leases.read(path)
    return mac_table.read(path)

"""What every importer shares: the record it reads, its limits and its error."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from provscan.errors import InputError
from provscan.model import Observation

#: Largest file an importer reads (an nmap XML of a /16 with -sV is a few hundred MB; a
#: bigger one is split with nmap's own tools first).
MAX_FILE_BYTES = 256 * 1024 * 1024
#: Most records (hosts, rows, leases, table entries) read from one file.
MAX_RECORDS = 1_000_000
#: Longest line a text importer reads (CSV, leases, MAC tables); a longer one is refused.
MAX_LINE_CHARS = 64 * 1024
#: Longest value kept from a record (a title, a product string, a cell).
MAX_VALUE_CHARS = 400
#: Most observations kept per record.
MAX_OBSERVATIONS_PER_RECORD = 2_000


class ImportFormat(StrEnum):
    """The formats ``provscan import`` reads (``--from``)."""

    nmap_xml = "nmap-xml"
    masscan_json = "masscan-json"
    csv = "csv"
    dhcp_leases = "dhcp-leases"
    mac_table = "mac-table"


#: How each format is named in notes and ``targets``.
FORMAT_LABELS: dict[ImportFormat, str] = {
    ImportFormat.nmap_xml: "nmap XML",
    ImportFormat.masscan_json: "masscan JSON",
    ImportFormat.csv: "CSV",
    ImportFormat.dhcp_leases: "DHCP leases",
    ImportFormat.mac_table: "MAC address table",
}


class ImportFileError(InputError):
    """A file to import is missing, too large, of an unknown format or malformed (exit 2)."""


@dataclass
class ImportRecord:
    """What one record of another tool's file says about one device, before merging.

    ``address`` may be None (a MAC table entry, a CMDB row without an IP): records of the
    files of one import are joined on MAC, and a device still without an address is skipped
    and counted (see :mod:`provscan.importers.merge`).
    """

    source: str
    address: str | None = None
    mac: str | None = None
    hostname: str | None = None
    open_ports: set[int] = field(default_factory=set)
    observations: list[Observation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, protocol: str, port: int | None, name: str, value: str, detail: str = "") -> None:
        """Keep one observation (whitespace-trimmed, capped; empty values are dropped)."""
        value = value.strip()[:MAX_VALUE_CHARS]
        if value and len(self.observations) < MAX_OBSERVATIONS_PER_RECORD:
            self.observations.append(Observation(protocol, port, name, value, detail))

    def extend(self, observations: list[Observation]) -> None:
        room = MAX_OBSERVATIONS_PER_RECORD - len(self.observations)
        self.observations.extend(observations[: max(room, 0)])


@dataclass
class ImportedFile:
    """The records read from one file, and what the reader has to say about it."""

    path: str
    format: ImportFormat
    records: list[ImportRecord]
    notes: list[str] = field(default_factory=list)
    #: An XLSX workbook's sheet that was read (None: not a workbook).
    sheet: str | None = None

"""The database shape of stored scans (SQLAlchemy 2.0 typed ORM).

The store keeps contract documents: each scan row holds its ``ScanSection`` and each device
row its ``DeviceEntry`` as the contract renders them (``document``, JSON), so loading a scan
gives back exactly the document that was saved and a new contract field needs no new column.
Next to the document, a row has a few columns for querying (the *index*): each one is named
after the contract field it copies, and :func:`provscan.store.db.index_columns` fills them
all, for every table, from the entry. ``findings`` is such an index of the devices' findings
(which device a policy applies to); evidence and attempts live in the document only.

Only portable types are used, so the same migrations run on SQLite and PostgreSQL.
Changing a table here needs a new migration under ``migrations/versions`` (0004 moved the
per-field columns of 0001-0003 into the documents).

The inventory (0005) is kept next to the scans: ``inventory`` holds one row per physical
device across scans (its stable ``device_id``, the newest sighting's values, status),
``sightings`` links each device of a scan to its inventory device with the rule that matched,
``cases`` and ``case_events`` (append-only) track remediation, and ``store_meta`` holds the row
that serialises inventory updates (two scans saved at once queue, neither is lost).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    insert,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

#: Constraint names are fixed so that later migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Columns that are not copies of a contract field: keys, order, version and the document.
STRUCTURE_COLUMNS = frozenset(
    {"id", "scan_id", "device_id", "position", "schema_version", "document"}
)
#: Columns of ``scans`` that the inventory keeps, not copies of a contract field.
INVENTORY_SCAN_COLUMNS = frozenset({"site", "coverage", "inventoried"})


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _in_order(child: str) -> Any:
    """The rows of a child table, in list order; saved and deleted with their parent."""
    return relationship(child, cascade="all, delete-orphan", order_by=f"{child}.position")


class ScanRow(Base):
    """One stored scan: its contract document and the columns scans are listed by."""

    __tablename__ = "scans"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: The contract version the documents of this scan (scan and devices) were written in.
    schema_version: Mapped[str] = mapped_column(String(16))
    #: The scan's ``ScanSection``, as ``model_dump(mode="json")`` renders it.
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    devices: Mapped[list[DeviceRow]] = _in_order("DeviceRow")
    # Index: copies of ScanSection fields.
    kind: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    devices_found: Mapped[int] = mapped_column(Integer)
    restricted_count: Mapped[int] = mapped_column(Integer)
    complete: Mapped[bool] = mapped_column(Boolean)
    # Inventory bookkeeping (0005), not part of the contract document.
    #: The site the scan ran at (``--site``); None: the default site.
    site: Mapped[str | None] = mapped_column(Text, index=True)
    #: The address ranges the scan covered, as ``[[low_key, high_key], ...]`` (see
    #: :func:`provscan.store.inventory.address_key`); empty: it can prove no absence.
    coverage: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    #: True once the scan's devices are in the inventory.
    inventoried: Mapped[bool] = mapped_column(Boolean, default=False)


class DeviceRow(Base):
    """One device of a scan: its contract document and the columns devices are found by."""

    __tablename__ = "devices"
    __table_args__ = (UniqueConstraint("scan_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scan_id: Mapped[str] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"), index=True)
    #: Place in the scan's device list, so a loaded scan keeps the contract's order.
    position: Mapped[int] = mapped_column(Integer)
    #: The device's ``DeviceEntry``, as ``model_dump(mode="json")`` renders it.
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    findings: Mapped[list[FindingRow]] = _in_order("FindingRow")
    # Index: copies of DeviceEntry fields. Values that may come from devices are unbounded
    # text, never trusted to fit a length, and get no B-tree index (PostgreSQL refuses index
    # rows over ~2.7 kB): only ip and mac (ours: an address, a normalised MAC) and family (a
    # knowledge-base id) are indexed.
    ip: Mapped[str] = mapped_column(String(64), index=True)
    mac: Mapped[str | None] = mapped_column(Text, index=True)
    manufacturer: Mapped[str | None] = mapped_column(Text)
    brand: Mapped[str | None] = mapped_column(Text)
    family: Mapped[str | None] = mapped_column(Text, index=True)
    model: Mapped[str | None] = mapped_column(Text)
    firmware: Mapped[str | None] = mapped_column(Text)
    serial: Mapped[str | None] = mapped_column(Text)
    device_type: Mapped[str | None] = mapped_column(Text)
    confidence: Mapped[float] = mapped_column(Float)
    restricted: Mapped[bool] = mapped_column(Boolean)


class FindingRow(Base):
    """Index of a device's findings (the full entries are in the device's document)."""

    __tablename__ = "findings"

    device_id: Mapped[int] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    #: Place in the device's list of findings.
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Index: copies of FindingEntry fields (all from the knowledge base).
    policy: Mapped[str] = mapped_column(String(128), index=True)
    jurisdiction: Mapped[str] = mapped_column(Text)
    family: Mapped[str] = mapped_column(Text)


class InventoryRow(Base):
    """One physical device across scans: its stable id and what the newest sighting said."""

    __tablename__ = "inventory"
    __table_args__ = (Index("ix_inventory_site_ip_key", "site", "ip_key", "device_id"),)

    device_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    site: Mapped[str | None] = mapped_column(Text)
    ip: Mapped[str] = mapped_column(String(64))
    #: Sortable form of ``ip`` (fixed-width hex), for coverage range queries.
    ip_key: Mapped[str] = mapped_column(String(40))
    mac: Mapped[str | None] = mapped_column(Text, index=True)
    serial: Mapped[str | None] = mapped_column(Text)
    #: Lower-case serial, bounded, for matching (``serial`` itself is device text).
    serial_key: Mapped[str | None] = mapped_column(String(128), index=True)
    hostname: Mapped[str | None] = mapped_column(Text)
    manufacturer: Mapped[str | None] = mapped_column(Text)
    brand: Mapped[str | None] = mapped_column(Text)
    family: Mapped[str | None] = mapped_column(Text)
    model: Mapped[str | None] = mapped_column(Text)
    firmware: Mapped[str | None] = mapped_column(Text)
    device_type: Mapped[str | None] = mapped_column(Text)
    confidence: Mapped[float] = mapped_column(Float)
    restricted: Mapped[bool] = mapped_column(Boolean, index=True)
    #: The newest sighting's verdict (restricted | review | unknown | clear), as the scan's
    #: contract document gives it (:func:`provscan.report.contract.verdict_of`) (0011).
    verdict: Mapped[str] = mapped_column(String(16))
    #: Compact findings of the newest sighting: policy, jurisdiction, family, effect, binding.
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_scan_id: Mapped[str] = mapped_column(String(64))
    #: Position of the newest sighting in that scan (its full document).
    last_position: Mapped[int] = mapped_column(Integer)
    #: present | missing | gone
    status: Mapped[str] = mapped_column(String(16), index=True)
    #: Covering scans in a row that did not see it.
    missed: Mapped[int] = mapped_column(Integer, default=0)
    #: The rule that matched the newest sighting to this device (``new`` when it was made).
    match_rule: Mapped[str] = mapped_column(String(64))


class CaptureRow(Base):
    """A capture file a stored scan was made from (0013): its sha256, so that the same
    file stored again is refused (:mod:`provscan.store.captures`)."""

    __tablename__ = "captures"

    scan_id: Mapped[str] = mapped_column(
        ForeignKey("scans.id", ondelete="CASCADE"), primary_key=True
    )
    #: Place of the file among the scan's captures (the order they were given).
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: sha256 of the file's bytes, as given (a gzip-compressed capture: of its gzip bytes).
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    #: The file's name as given on the command line (user text).
    name: Mapped[str] = mapped_column(Text)


class SightingRow(Base):
    """A device of a scan, linked to its inventory device by a recorded rule."""

    __tablename__ = "sightings"

    scan_id: Mapped[str] = mapped_column(
        ForeignKey("scans.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[str] = mapped_column(
        ForeignKey("inventory.device_id", ondelete="CASCADE"), index=True
    )
    rule: Mapped[str] = mapped_column(String(64))


class CaseRow(Base):
    """A remediation case: one per device and subject (restricted maker, or a priority-1
    posture finding), reopened rather than duplicated."""

    __tablename__ = "cases"
    __table_args__ = (UniqueConstraint("device_id", "subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(
        ForeignKey("inventory.device_id", ondelete="CASCADE"), index=True
    )
    #: ``restricted``, ``vulnerability:CVE-…`` or ``exposure:KIND``.
    subject: Mapped[str] = mapped_column(String(200))
    #: Why it was opened, in words.
    reason: Mapped[str] = mapped_column(Text)
    #: open | planned | mitigated | removed | replaced | verified
    status: Mapped[str] = mapped_column(String(16), index=True)
    owner: Mapped[str | None] = mapped_column(Text)
    #: ISO date.
    due: Mapped[str | None] = mapped_column(String(10))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CaseEventRow(Base):
    """One entry of a case's audit trail: appended, never changed."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: Who: the OS user on the CLI, ``provscan`` for automatic changes.
    actor: Mapped[str] = mapped_column(Text)
    #: opened | updated | reopened | verified | note
    action: Mapped[str] = mapped_column(String(16))
    #: ``{"field": [old, new]}``
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text)
    #: The scan that caused or proved the change, if any.
    scan_id: Mapped[str | None] = mapped_column(String(64))


class MetaRow(Base):
    """Small counters; the ``inventory`` row is updated first in every inventory change, which
    queues concurrent writers on SQLite and PostgreSQL alike."""

    __tablename__ = "store_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class EventRow(Base):
    """The outbox: one row per event for people and other systems (a new restricted device,
    a case opened, reopened, overdue or verified), appended in the transaction that caused it
    and delivered to each sink from its cursor (see :mod:`provscan.store.events`)."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: device.restricted | case.opened | case.reopened | case.overdue | case.verified |
    #: case.updated
    kind: Mapped[str] = mapped_column(String(32), index=True)
    device_id: Mapped[str | None] = mapped_column(String(40))
    case_id: Mapped[int | None] = mapped_column(Integer)
    scan_id: Mapped[str | None] = mapped_column(String(64))
    #: What a receiver needs without reading the store (device, measure, case).
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class SinkCursorRow(Base):
    """How far each event sink (a syslog server, a file, a webhook) has been delivered."""

    __tablename__ = "event_cursors"

    sink: Mapped[str] = mapped_column(String(128), primary_key=True)
    last_id: Mapped[int] = mapped_column(Integer)


class ScanTotalsRow(Base):
    """The inventory's totals just after a scan was added to it (0010), written in the
    transaction that stores the scan: the dashboard's trend reads these rows instead of
    replaying history."""

    __tablename__ = "scan_totals"

    scan_id: Mapped[str] = mapped_column(
        ForeignKey("scans.id", ondelete="CASCADE"), primary_key=True
    )
    #: When the inventory reached these totals (the scan was stored; backfilled rows: the
    #: scan's start).
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    #: Inventory devices, and those of them restricted (every status, as the dashboard).
    devices: Mapped[int] = mapped_column(Integer)
    restricted: Mapped[int] = mapped_column(Integer)
    #: Cases not verified, and those of them past their due date; None when not known (rows
    #: backfilled by the migration: the case history cannot be replayed exactly).
    open_cases: Mapped[int | None] = mapped_column(Integer)
    overdue_cases: Mapped[int | None] = mapped_column(Integer)
    #: Whom the scan's verdicts were judged for (its ``acting_as``, comma-separated; empty:
    #: the default reading).
    acting_as: Mapped[str] = mapped_column(Text)
    #: The restricted devices by jurisdiction and measure just after the scan
    #: (:func:`provscan.store.pages.restricted_by_jurisdiction`); None: not kept (backfilled).
    by_jurisdiction: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)


def insert_rows(session: Session, row_type: type[Base], rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (column values; None is NULL) into ``row_type``'s table, in order, with
    one Core "executemany" statement: no ORM objects, for the thousands of rows a big scan
    writes that nothing reads back as objects (issue 14)."""
    if not rows:
        return  # an empty list would insert one row of defaults
    table = row_type.__table__
    assert isinstance(table, Table)
    session.execute(insert(table), rows)

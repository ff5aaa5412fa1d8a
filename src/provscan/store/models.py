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
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

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

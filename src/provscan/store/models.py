"""The database shape of stored scans (SQLAlchemy 2.0 typed ORM).

One row per scan, per device of a scan, and per finding, evidence line and probe attempt
of a device. Lists of scalars are JSON columns. Only portable types are used, so the same
migrations run on SQLite and PostgreSQL. Rows mirror the JSON contract (schema 1.0); the
mapping between the two lives in :mod:`provscan.store.db`. Migration 0002 added the
contract 1.1 fields (evidence ``detail``, device ``phones_home``); migration 0003 the 1.2
security-posture lists (``vulnerabilities``, ``exposure``, ``remediation``).

Changing a table here needs a new migration under ``migrations/versions``.
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


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ScanRow(Base):
    __tablename__ = "scans"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    schema_version: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    targets: Mapped[list[str]] = mapped_column(JSON)
    ports: Mapped[list[int]] = mapped_column(JSON)
    policies: Mapped[list[str]] = mapped_column(JSON)
    tool_version: Mapped[str] = mapped_column(String(64))
    hosts_scanned: Mapped[int] = mapped_column(Integer)
    hosts_responding: Mapped[int] = mapped_column(Integer)
    devices_found: Mapped[int] = mapped_column(Integer)
    restricted_count: Mapped[int] = mapped_column(Integer)
    complete: Mapped[bool] = mapped_column(Boolean)
    notes: Mapped[list[str]] = mapped_column(JSON)

    devices: Mapped[list[DeviceRow]] = relationship(
        back_populates="scan",
        cascade="all, delete-orphan",
        order_by="DeviceRow.position",
    )


class DeviceRow(Base):
    __tablename__ = "devices"
    __table_args__ = (UniqueConstraint("scan_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scan_id: Mapped[str] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"), index=True)
    #: Place in the scan's device list, so a loaded scan keeps the contract's order.
    position: Mapped[int] = mapped_column(Integer)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    # Values below come from devices: unbounded text, never trusted to fit a length.
    mac: Mapped[str | None] = mapped_column(Text)
    hostname: Mapped[str | None] = mapped_column(Text)
    open_ports: Mapped[list[int]] = mapped_column(JSON)
    manufacturer: Mapped[str | None] = mapped_column(Text)
    brand: Mapped[str | None] = mapped_column(Text)
    relation: Mapped[str | None] = mapped_column(Text)
    family: Mapped[str | None] = mapped_column(Text)
    model: Mapped[str | None] = mapped_column(Text)
    firmware: Mapped[str | None] = mapped_column(Text)
    serial: Mapped[str | None] = mapped_column(Text)
    device_type: Mapped[str | None] = mapped_column(Text)
    confidence: Mapped[float] = mapped_column(Float)
    restricted: Mapped[bool] = mapped_column(Boolean)
    conflicts: Mapped[list[str]] = mapped_column(JSON)
    notes: Mapped[list[str]] = mapped_column(JSON)
    #: Contract 1.1: ``[{"service", "endpoint", "packet", "time"}]`` (time as ISO 8601 text).
    phones_home: Mapped[list[dict[str, Any]]] = mapped_column(JSON, server_default="[]")
    #: Contract 1.2 (security posture), stored as JSON lists of the contract's entries.
    vulnerabilities: Mapped[list[dict[str, Any]]] = mapped_column(JSON, server_default="[]")
    exposure: Mapped[list[dict[str, Any]]] = mapped_column(JSON, server_default="[]")
    remediation: Mapped[list[dict[str, Any]]] = mapped_column(JSON, server_default="[]")

    scan: Mapped[ScanRow] = relationship(back_populates="devices")
    findings: Mapped[list[FindingRow]] = relationship(
        cascade="all, delete-orphan", order_by="FindingRow.position"
    )
    evidence: Mapped[list[EvidenceRow]] = relationship(
        cascade="all, delete-orphan", order_by="EvidenceRow.position"
    )
    attempts: Mapped[list[AttemptRow]] = relationship(
        cascade="all, delete-orphan", order_by="AttemptRow.position"
    )


class FindingRow(Base):
    __tablename__ = "findings"
    __table_args__ = (UniqueConstraint("device_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    policy: Mapped[str] = mapped_column(String(128), index=True)
    jurisdiction: Mapped[str] = mapped_column(Text)
    measure: Mapped[str] = mapped_column(Text)
    citation: Mapped[str] = mapped_column(Text)
    effective: Mapped[str] = mapped_column(String(32))
    family: Mapped[str] = mapped_column(Text)
    scope_note: Mapped[str] = mapped_column(Text)


class EvidenceRow(Base):
    __tablename__ = "evidence"
    __table_args__ = (UniqueConstraint("device_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    protocol: Mapped[str] = mapped_column(Text)
    port: Mapped[int | None] = mapped_column(Integer)
    #: The contract calls it ``field``; ``observed_field`` avoids shadowing in Python code.
    observed_field: Mapped[str] = mapped_column("field", Text)
    observed: Mapped[str] = mapped_column(Text)
    rule_id: Mapped[str | None] = mapped_column(Text)
    asserts: Mapped[dict[str, Any]] = mapped_column(JSON)
    certainty: Mapped[float] = mapped_column(Float)
    #: Contract 1.1: where the fact was seen (HTTP path, capture packet and time).
    detail: Mapped[str] = mapped_column(Text, server_default="")


class AttemptRow(Base):
    __tablename__ = "attempts"
    __table_args__ = (UniqueConstraint("device_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    probe: Mapped[str] = mapped_column(String(64))
    port: Mapped[int] = mapped_column(Integer)
    #: An AttemptStatus value; a plain string so new statuses need no enum-type migration.
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str] = mapped_column(Text)
    elapsed_s: Mapped[float] = mapped_column(Float)

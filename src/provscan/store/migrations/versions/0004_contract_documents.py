"""The store keeps contract documents: one JSON document per scan and per device (issue 10.5).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03

Before: one column per contract field, child tables for findings, evidence and attempts,
mapped field by field in provscan.store.db. After: ``scans.document`` holds the scan's
``ScanSection`` and ``devices.document`` the ``DeviceEntry``, as the contract renders them
(``model_dump(mode="json")``); a few index columns stay for querying, and ``findings`` is
reduced to an index (policy, jurisdiction, family). Evidence and attempts live in the
device documents only.

The upgrade loses nothing: every document is built from the old rows by the frozen copy of
the 0003 mapping below (not the live code, which will move on), and the downgrade rebuilds
the 0003 rows from the documents. ``tests/store/test_migration_0004.py`` checks both on a
database written by the release before (SQLite and PostgreSQL).

SQLite rebuilds a table to drop a column, and DROP TABLE there fires ON DELETE CASCADE
(foreign keys are on, and cannot be turned off inside the migration's transaction). So no
table is rebuilt while another refers to it: device documents wait in a staging table, the
device tables are dropped, ``scans`` is altered, and the device tables are created anew.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from itertools import groupby
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Every document is written in contract 1.2 (rows of 1.0 and 1.1 read back as 1.2 too).
SCHEMA_VERSION = "1.2"
_NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# --- frozen: the 0003 tables and their mapping to contract 1.2 --------------------------

_SCAN_FIELDS: tuple[tuple[str, sa.types.TypeEngine[Any]], ...] = (
    ("targets", sa.JSON()),
    ("ports", sa.JSON()),
    ("policies", sa.JSON()),
    ("tool_version", sa.String(64)),
    ("hosts_scanned", sa.Integer()),
    ("hosts_responding", sa.Integer()),
    ("notes", sa.JSON()),
)
#: Scan fields that stay as columns after 0004 (the index), in contract order.
_SCAN_INDEX = ("kind", "started_at", "finished_at", "devices_found", "restricted_count", "complete")
_SCAN_KEYS = (
    "id",
    "kind",
    "started_at",
    "finished_at",
    "targets",
    "ports",
    "policies",
    "tool_version",
    "hosts_scanned",
    "hosts_responding",
    "devices_found",
    "restricted_count",
    "complete",
    "notes",
)
_DEVICE_SCALARS = (
    "ip",
    "mac",
    "hostname",
    "open_ports",
    "manufacturer",
    "brand",
    "relation",
    "family",
    "model",
    "firmware",
    "serial",
    "device_type",
    "confidence",
    "restricted",
)
_FINDING_KEYS = (
    "policy",
    "jurisdiction",
    "measure",
    "citation",
    "effective",
    "family",
    "scope_note",
)
_EVIDENCE_KEYS = (
    "protocol",
    "port",
    "field",
    "observed",
    "rule_id",
    "asserts",
    "certainty",
    "detail",
)
_ATTEMPT_KEYS = ("probe", "port", "status", "error", "elapsed_s")
#: JSON list columns of the 0003 device row that hold contract entries as they are.
_ENTRY_LISTS = ("phones_home", "vulnerabilities", "exposure", "remediation")
_CHILDREN = ("findings", "evidence", "attempts")


def _column(name: str, *kind: Any, **options: Any) -> sa.Column[Any]:
    return sa.Column(name, *kind, nullable=options.pop("nullable", False), **options)


def _listed(meta: sa.MetaData, name: str, parent: str, *columns: Any) -> sa.Table:
    """A table of rows kept in order by a parent row (scans -> devices -> findings ...)."""
    parent_key = f"{parent.removesuffix('s')}_id"
    key_type = sa.String(64) if parent == "scans" else sa.Integer()
    return sa.Table(
        name,
        meta,
        _column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _column(
            parent_key, key_type, sa.ForeignKey(f"{parent}.id", ondelete="CASCADE"), index=True
        ),
        _column("position", sa.Integer()),
        *columns,
        sa.UniqueConstraint(parent_key, "position"),
    )


def _old_tables() -> dict[str, sa.Table]:
    """The tables as 0001-0003 left them (names, types, keys, indexes, defaults)."""
    meta = sa.MetaData(naming_convention=_NAMING)
    scans = sa.Table(
        "scans",
        meta,
        _column("id", sa.String(64), primary_key=True),
        _column("schema_version", sa.String(16)),
        _column("kind", sa.String(32)),
        _column("started_at", sa.DateTime(timezone=True), index=True),
        _column("finished_at", sa.DateTime(timezone=True), nullable=True),
        *(_column(name, kind) for name, kind in _SCAN_FIELDS[:-1]),
        _column("devices_found", sa.Integer()),
        _column("restricted_count", sa.Integer()),
        _column("complete", sa.Boolean()),
        _column("notes", sa.JSON()),
    )
    text, json, real = sa.Text(), sa.JSON(), sa.Float()
    optional = {"mac", "hostname", "manufacturer", "brand", "relation", "family", "model"}
    optional |= {"firmware", "serial", "device_type"}
    kinds: dict[str, sa.types.TypeEngine[Any]] = {
        "ip": sa.String(64),
        "open_ports": json,
        "confidence": real,
        "restricted": sa.Boolean(),
    }
    devices = _listed(
        meta,
        "devices",
        "scans",
        *(
            _column(name, kinds.get(name, text), nullable=name in optional, index=name == "ip")
            for name in _DEVICE_SCALARS
        ),
        _column("conflicts", json),
        _column("notes", json),
        *(_column(name, json, server_default="[]") for name in _ENTRY_LISTS),
    )

    def child(name: str, *columns: sa.Column[Any]) -> sa.Table:
        return _listed(meta, name, "devices", *columns)

    findings = child(
        "findings",
        _column("policy", sa.String(128), index=True),
        *(_column(name, text) for name in ("jurisdiction", "measure", "citation")),
        _column("effective", sa.String(32)),
        *(_column(name, text) for name in ("family", "scope_note")),
    )
    evidence = child(
        "evidence",
        _column("protocol", text),
        _column("port", sa.Integer(), nullable=True),
        _column("field", text),
        _column("observed", text),
        _column("rule_id", text, nullable=True),
        _column("asserts", json),
        _column("certainty", real),
        _column("detail", text, server_default=""),
    )
    attempts = child(
        "attempts",
        _column("probe", sa.String(64)),
        _column("port", sa.Integer()),
        _column("status", sa.String(16)),
        _column("error", text),
        _column("elapsed_s", real),
    )
    return {table.name: table for table in (scans, devices, findings, evidence, attempts)}


def _iso(moment: datetime | None) -> str | None:
    # As pydantic renders an aware datetime in JSON mode; SQLite gives back naive UTC.
    if moment is None:
        return None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.isoformat().replace("+00:00", "Z")


def _scan_document(row: sa.RowMapping) -> dict[str, Any]:
    document = {key: row[key] for key in _SCAN_KEYS}
    document["started_at"] = _iso(row["started_at"])
    document["finished_at"] = _iso(row["finished_at"])
    return document


def _entries(rows: Iterable[sa.RowMapping], keys: Sequence[str]) -> list[dict[str, Any]]:
    return [{key: row[key] for key in keys} for row in rows]


def _device_document(
    row: sa.RowMapping, children: Mapping[str, Sequence[sa.RowMapping]]
) -> dict[str, Any]:
    document = {key: row[key] for key in _DEVICE_SCALARS}
    document |= {
        "findings": _entries(children["findings"], _FINDING_KEYS),
        "vulnerabilities": list(row["vulnerabilities"] or []),
        "exposure": list(row["exposure"] or []),
        "remediation": list(row["remediation"] or []),
        "evidence": _entries(children["evidence"], _EVIDENCE_KEYS),
        "phones_home": list(row["phones_home"] or []),
        "conflicts": list(row["conflicts"]),
        "attempts": _entries(children["attempts"], _ATTEMPT_KEYS),
        "notes": list(row["notes"]),
    }
    return document


# --- frozen: the 0004 tables and their index columns ------------------------------------

#: Device fields that stay as columns after 0004 (the index).
_DEVICE_INDEX = tuple(
    name for name in _DEVICE_SCALARS if name not in {"hostname", "open_ports", "relation"}
)
_FINDING_INDEX = ("policy", "jurisdiction", "family")
_STAGING = "_devices_0004"


def _new_device_tables() -> tuple[sa.Table, sa.Table]:
    meta = sa.MetaData(naming_convention=_NAMING)
    sa.Table("scans", meta, sa.Column("id", sa.String(64), primary_key=True))
    text = sa.Text()
    kinds: dict[str, sa.types.TypeEngine[Any]] = {
        "ip": sa.String(64),
        "confidence": sa.Float(),
        "restricted": sa.Boolean(),
    }
    devices = _listed(
        meta,
        "devices",
        "scans",
        _column("document", sa.JSON()),
        *(
            _column(
                name,
                kinds.get(name, text),
                nullable=name not in kinds,
                index=name in ("ip", "mac", "family"),
            )
            for name in _DEVICE_INDEX
        ),
    )
    findings = sa.Table(
        "findings",
        meta,
        _column("device_id", sa.Integer(), sa.ForeignKey("devices.id", ondelete="CASCADE")),
        _column("position", sa.Integer()),
        _column("policy", sa.String(128), index=True),
        _column("jurisdiction", text),
        _column("family", text),
        sa.PrimaryKeyConstraint("device_id", "position"),
    )
    return devices, findings


def _staging() -> sa.Table:
    return sa.Table(
        _STAGING,
        sa.MetaData(),
        sa.Column("scan_id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
    )


# --- shared steps ------------------------------------------------------------------------


def _by_scan(connection: sa.Connection, table: sa.Table) -> Iterator[tuple[str, list[Any]]]:
    """Rows of a table with ``scan_id`` and ``position``, one scan at a time, in order."""
    scan_ids = connection.scalars(sa.select(table.c.scan_id).distinct()).all()
    for scan_id in sorted(scan_ids):
        query = sa.select(table).where(table.c.scan_id == scan_id).order_by(table.c.position)
        yield scan_id, list(connection.execute(query).mappings())


def _children(
    connection: sa.Connection, table: sa.Table, devices: sa.Table, scan_id: str
) -> dict[int, list[sa.RowMapping]]:
    """The rows of a child table (findings, evidence, attempts) of one scan, by device."""
    query = (
        sa.select(table)
        .join(devices, table.c.device_id == devices.c.id)
        .where(devices.c.scan_id == scan_id)
        .order_by(table.c.device_id, table.c.position)
    )
    rows = connection.execute(query).mappings()
    return {key: list(group) for key, group in groupby(rows, key=lambda row: row["device_id"])}


def _drop(tables: Iterable[sa.Table]) -> None:
    for table in tables:
        op.drop_table(table.name)


# --- upgrade -----------------------------------------------------------------------------


def upgrade() -> None:
    connection = op.get_bind()
    old = _old_tables()
    scans, devices = old["scans"], old["devices"]
    staging = _staging()
    staging.create(connection)

    # 1. documents, built from the old rows
    op.add_column("scans", sa.Column("document", sa.JSON(), nullable=True))
    with_document = sa.Table(
        "scans",
        sa.MetaData(),
        sa.Column("id", sa.String(64)),
        sa.Column("schema_version", sa.String(16)),
        sa.Column("document", sa.JSON()),
    )
    for row in connection.execute(sa.select(scans)).mappings().all():
        connection.execute(
            with_document.update()
            .where(with_document.c.id == row["id"])
            .values(document=_scan_document(row))
        )
    for scan_id, rows in _by_scan(connection, devices):
        children = {name: _children(connection, old[name], devices, scan_id) for name in _CHILDREN}
        staged = [
            {
                "scan_id": scan_id,
                "position": row["position"],
                "document": _device_document(
                    row, {name: children[name].get(row["id"], []) for name in _CHILDREN}
                ),
            }
            for row in rows
        ]
        connection.execute(staging.insert(), staged)

    # 2. the old device tables go; scans keeps its index columns and the document
    _drop(old[name] for name in (*_CHILDREN, "devices"))
    with op.batch_alter_table("scans") as batch:
        for name, _kind in _SCAN_FIELDS:
            batch.drop_column(name)
        batch.alter_column("document", existing_type=sa.JSON(), nullable=False)
    connection.execute(sa.update(with_document).values(schema_version=SCHEMA_VERSION))

    # 3. the new device tables, filled from the staged documents
    new_devices, new_findings = _new_device_tables()
    new_devices.create(connection)
    new_findings.create(connection)
    for scan_id, rows in _by_scan(connection, staging):
        connection.execute(
            new_devices.insert(),
            [
                {
                    "scan_id": scan_id,
                    "position": row["position"],
                    "document": row["document"],
                    **{name: row["document"][name] for name in _DEVICE_INDEX},
                }
                for row in rows
            ],
        )
        stored = sa.select(new_devices.c.id, new_devices.c.document).where(
            new_devices.c.scan_id == scan_id
        )
        findings = [
            {"device_id": device_id, "position": index}
            | {name: finding[name] for name in _FINDING_INDEX}
            for device_id, document in connection.execute(stored)
            for index, finding in enumerate(document["findings"])
        ]
        if findings:
            connection.execute(new_findings.insert(), findings)
    staging.drop(connection)


# --- downgrade ---------------------------------------------------------------------------


def downgrade() -> None:
    connection = op.get_bind()
    new_devices, new_findings = _new_device_tables()
    staging = _staging()
    staging.create(connection)
    connection.execute(
        staging.insert().from_select(
            ["scan_id", "position", "document"],
            sa.select(new_devices.c.scan_id, new_devices.c.position, new_devices.c.document),
        )
    )
    _drop((new_findings, new_devices))

    # scans: the per-field columns come back from the document
    with op.batch_alter_table("scans") as batch:
        for name, kind in _SCAN_FIELDS:
            batch.add_column(sa.Column(name, kind, nullable=True))
    scans = sa.Table(
        "scans",
        sa.MetaData(),
        sa.Column("id", sa.String(64)),
        sa.Column("document", sa.JSON()),
        *(sa.Column(name, kind) for name, kind in _SCAN_FIELDS),
    )
    for scan_id, document in connection.execute(sa.select(scans.c.id, scans.c.document)).all():
        connection.execute(
            scans.update()
            .where(scans.c.id == scan_id)
            .values({name: document[name] for name, _kind in _SCAN_FIELDS})
        )
    with op.batch_alter_table("scans") as batch:
        for name, kind in _SCAN_FIELDS:
            batch.alter_column(name, existing_type=kind, nullable=False)
        batch.drop_column("document")

    # the 0003 device tables, rebuilt from the documents
    old = _old_tables()
    for name in ("devices", *_CHILDREN):
        old[name].create(connection)
    for scan_id, rows in _by_scan(connection, staging):
        connection.execute(
            old["devices"].insert(),
            [
                {"scan_id": scan_id, "position": row["position"]}
                | {
                    name: row["document"][name]
                    for name in (*_DEVICE_SCALARS, *_ENTRY_LISTS, "conflicts", "notes")
                }
                for row in rows
            ],
        )
        stored = sa.select(old["devices"].c.id, old["devices"].c.position).where(
            old["devices"].c.scan_id == scan_id
        )
        ids = {position: device_id for device_id, position in connection.execute(stored)}
        for name in _CHILDREN:
            children = [
                {"device_id": ids[row["position"]], "position": index} | entry
                for row in rows
                for index, entry in enumerate(row["document"][name])
            ]
            if children:
                connection.execute(old[name].insert(), children)
    staging.drop(connection)

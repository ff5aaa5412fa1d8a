"""The inventory keeps each device's verdict (restricted, review, unknown, clear).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

Additive: ``inventory.verdict``, the verdict of the device's newest sighting as its scan
report gives it (contract 1.4). An inventory row keeps no notes, so without it a device to
review was shown as clear or unknown, and the CSV, XLSX and JSON exports had no verdict.

The backfill reads, for each inventory device, the stored document of its newest sighting
(``last_scan_id``, ``last_position``): its ``restricted``, ``notes`` and ``manufacturer``
decide the verdict through :func:`provscan.report.contract.verdict_of`, the one function
that decides a verdict (a 1.3 document stored before the verdict existed gets the one 1.4
would give it). A device whose sighting is no longer stored keeps what its own row says:
restricted, else unknown without a maker, else clear. The downgrade drops the column.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from provscan.report.contract import verdict_of

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Rows updated per statement while backfilling.
_BATCH = 500

# Frozen copies of the tables the backfill reads (not the ORM models, which move on).
_inventory = sa.table(
    "inventory",
    sa.column("device_id", sa.String),
    sa.column("manufacturer", sa.Text),
    sa.column("restricted", sa.Boolean),
    sa.column("last_scan_id", sa.String),
    sa.column("last_position", sa.Integer),
    sa.column("verdict", sa.String),
)
_devices = sa.table(
    "devices",
    sa.column("scan_id", sa.String),
    sa.column("position", sa.Integer),
    sa.column("document", sa.JSON),
)


def upgrade() -> None:
    op.add_column(
        "inventory",
        sa.Column("verdict", sa.String(16), nullable=False, server_default="unknown"),
    )
    _backfill(op.get_bind())


def _backfill(connection: Any) -> None:
    sighted = sa.select(
        _inventory.c.device_id,
        _inventory.c.restricted,
        _inventory.c.manufacturer,
        # Only the parts the verdict reads, not whole documents (evidence makes them large).
        _devices.c.document["restricted"].as_boolean(),
        _devices.c.document["notes"],
        _devices.c.document["manufacturer"].as_string(),
        _devices.c.scan_id,
    ).select_from(
        _inventory.outerjoin(
            _devices,
            sa.and_(
                _devices.c.scan_id == _inventory.c.last_scan_id,
                _devices.c.position == _inventory.c.last_position,
            ),
        )
    )
    change = (
        sa.update(_inventory)
        .where(_inventory.c.device_id == sa.bindparam("changed_id"))
        .values(verdict=sa.bindparam("changed_verdict"))
    )
    rows: list[dict[str, Any]] = []
    for device_id, restricted, manufacturer, *document, scan_id in connection.execute(
        sighted
    ).all():
        if scan_id is not None:
            restricted, notes, manufacturer = document
            verdict = verdict_of(bool(restricted), notes or [], manufacturer)
        else:
            verdict = verdict_of(bool(restricted), [], manufacturer)
        if verdict != "unknown":  # the column's default
            rows.append({"changed_id": device_id, "changed_verdict": verdict})
        if len(rows) >= _BATCH:
            connection.execute(change, rows)
            rows = []
    if rows:
        connection.execute(change, rows)


def downgrade() -> None:
    with op.batch_alter_table("inventory") as batch:
        batch.drop_column("verdict")

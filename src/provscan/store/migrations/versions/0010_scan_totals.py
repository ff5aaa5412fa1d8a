"""The inventory's totals after each scan, for the console's trend (issue 16).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04

Additive: one new table, ``scan_totals``, one row per inventoried scan. The backfill replays
the stored sightings in the order the inventory took the scans (start time, then id): after
each scan, the devices known so far and how many of them the newest sighting judged
restricted, exactly as the inventory counted them then. Case totals are left unknown (NULL)
for these rows: people's changes to cases are not tied to scans, so their history cannot be
replayed exactly; nor is the jurisdiction table kept for them (the console counts it from the
inventory until the next scan is stored). The downgrade drops the table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHEN = sa.DateTime(timezone=True)
#: Rows inserted per statement while backfilling.
_BATCH = 500

# Frozen copies of the tables the backfill reads (not the ORM models, which move on).
_scans = sa.table(
    "scans",
    sa.column("id", sa.String),
    sa.column("started_at", _WHEN),
    sa.column("inventoried", sa.Boolean),
    sa.column("document", sa.JSON),
)
_sightings = sa.table(
    "sightings",
    sa.column("scan_id", sa.String),
    sa.column("position", sa.Integer),
    sa.column("device_id", sa.String),
)
_devices = sa.table(
    "devices",
    sa.column("scan_id", sa.String),
    sa.column("position", sa.Integer),
    sa.column("restricted", sa.Boolean),
)


def upgrade() -> None:
    totals = op.create_table(
        "scan_totals",
        sa.Column(
            "scan_id",
            sa.String(64),
            sa.ForeignKey("scans.id", ondelete="CASCADE", name="fk_scan_totals_scan_id_scans"),
            nullable=False,
        ),
        sa.Column("at", _WHEN, nullable=False),
        sa.Column("devices", sa.Integer(), nullable=False),
        sa.Column("restricted", sa.Integer(), nullable=False),
        sa.Column("open_cases", sa.Integer(), nullable=True),
        sa.Column("overdue_cases", sa.Integer(), nullable=True),
        sa.Column("acting_as", sa.Text(), nullable=False),
        sa.Column("by_jurisdiction", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("scan_id", name="pk_scan_totals"),
    )
    op.create_index("ix_scan_totals_at", "scan_totals", ["at"])
    _backfill(op.get_bind(), totals)


def _backfill(connection: Any, totals: sa.Table) -> None:
    seen: dict[str, list[tuple[str, bool]]] = defaultdict(list)
    sighted = sa.select(_sightings.c.scan_id, _sightings.c.device_id, _devices.c.restricted).join(
        _devices,
        sa.and_(
            _devices.c.scan_id == _sightings.c.scan_id,
            _devices.c.position == _sightings.c.position,
        ),
    )
    for scan_id, device_id, restricted in connection.execute(sighted):
        seen[scan_id].append((device_id, bool(restricted)))
    scans = (
        sa.select(_scans.c.id, _scans.c.started_at, _scans.c.document)
        .where(_scans.c.inventoried.is_(True))
        .order_by(_scans.c.started_at, _scans.c.id)
    )
    state: dict[str, bool] = {}
    restricted = 0
    rows: list[dict[str, Any]] = []
    for scan_id, started_at, document in connection.execute(scans):
        for device_id, now_restricted in seen.get(scan_id, ()):
            restricted += int(now_restricted) - int(state.get(device_id, False))
            state[device_id] = now_restricted
        acting_as = (document or {}).get("acting_as") or []
        rows.append(
            {
                "scan_id": scan_id,
                "at": started_at,
                "devices": len(state),
                "restricted": restricted,
                "open_cases": None,
                "overdue_cases": None,
                "acting_as": ",".join(str(party) for party in acting_as),
                "by_jurisdiction": None,
            }
        )
        if len(rows) >= _BATCH:
            connection.execute(sa.insert(totals), rows)
            rows = []
    if rows:
        connection.execute(sa.insert(totals), rows)


def downgrade() -> None:
    op.drop_table("scan_totals")

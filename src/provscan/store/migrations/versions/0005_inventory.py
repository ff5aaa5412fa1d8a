"""The inventory: devices across scans, sightings, remediation cases and their audit trail
(issue 13), and the outbox of events for other systems (issue 15).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03

Additive: ``scans`` gains ``site``, ``coverage`` and ``inventoried`` (false for every scan
stored before, so the store builds their inventory, oldest first, the next time it is opened:
see :meth:`provscan.store.db.Store.catch_up`); the new tables start empty. Nothing is
rewritten, so the upgrade cannot lose a scan; the downgrade drops what 0005 added.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Plain ADD COLUMN, no batch mode: SQLite would rebuild ``scans``, and dropping the old
    # table fires ON DELETE CASCADE on every stored device (see 0004).
    op.add_column("scans", sa.Column("site", sa.Text(), nullable=True))
    op.add_column("scans", sa.Column("coverage", sa.JSON(), server_default="[]", nullable=False))
    op.add_column(
        "scans",
        sa.Column("inventoried", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_index("ix_scans_site", "scans", ["site"])
    op.create_table(
        "inventory",
        sa.Column("device_id", sa.String(40), primary_key=True),
        sa.Column("site", sa.Text(), nullable=True),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.Column("ip_key", sa.String(40), nullable=False),
        sa.Column("mac", sa.Text(), nullable=True),
        sa.Column("serial", sa.Text(), nullable=True),
        sa.Column("serial_key", sa.String(128), nullable=True),
        sa.Column("hostname", sa.Text(), nullable=True),
        sa.Column("manufacturer", sa.Text(), nullable=True),
        sa.Column("brand", sa.Text(), nullable=True),
        sa.Column("family", sa.Text(), nullable=True),
        sa.Column("model", sa.Text(), nullable=True),
        sa.Column("firmware", sa.Text(), nullable=True),
        sa.Column("device_type", sa.Text(), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("restricted", sa.Boolean(), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("first_seen", _WHEN, nullable=False),
        sa.Column("last_seen", _WHEN, nullable=False),
        sa.Column("last_scan_id", sa.String(64), nullable=False),
        sa.Column("last_position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("missed", sa.Integer(), nullable=False),
        sa.Column("match_rule", sa.String(64), nullable=False),
    )
    op.create_index("ix_inventory_site_ip_key", "inventory", ["site", "ip_key", "device_id"])
    op.create_index("ix_inventory_mac", "inventory", ["mac"])
    op.create_index("ix_inventory_serial_key", "inventory", ["serial_key"])
    op.create_index("ix_inventory_restricted", "inventory", ["restricted"])
    op.create_index("ix_inventory_status", "inventory", ["status"])
    op.create_table(
        "sightings",
        sa.Column(
            "scan_id",
            sa.String(64),
            sa.ForeignKey("scans.id", ondelete="CASCADE", name="fk_sightings_scan_id_scans"),
            primary_key=True,
        ),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column(
            "device_id",
            sa.String(40),
            sa.ForeignKey(
                "inventory.device_id",
                ondelete="CASCADE",
                name="fk_sightings_device_id_inventory",
            ),
            nullable=False,
        ),
        sa.Column("rule", sa.String(64), nullable=False),
    )
    op.create_index("ix_sightings_device_id", "sightings", ["device_id"])
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "device_id",
            sa.String(40),
            sa.ForeignKey(
                "inventory.device_id", ondelete="CASCADE", name="fk_cases_device_id_inventory"
            ),
            nullable=False,
        ),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("owner", sa.Text(), nullable=True),
        sa.Column("due", sa.String(10), nullable=True),
        sa.Column("opened_at", _WHEN, nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
        sa.UniqueConstraint("device_id", "subject", name="uq_cases_device_id_subject"),
    )
    op.create_index("ix_cases_device_id", "cases", ["device_id"])
    op.create_index("ix_cases_status", "cases", ["status"])
    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "case_id",
            sa.Integer(),
            sa.ForeignKey("cases.id", ondelete="CASCADE", name="fk_case_events_case_id_cases"),
            nullable=False,
        ),
        sa.Column("at", _WHEN, nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("scan_id", sa.String(64), nullable=True),
    )
    op.create_index("ix_case_events_case_id", "case_events", ["case_id"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", _WHEN, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("device_id", sa.String(40), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("scan_id", sa.String(64), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
    )
    op.create_index("ix_events_kind", "events", ["kind"])
    op.create_table(
        "event_cursors",
        sa.Column("sink", sa.String(128), primary_key=True),
        sa.Column("last_id", sa.Integer(), nullable=False),
    )
    meta = op.create_table(
        "store_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Integer(), nullable=False),
    )
    op.bulk_insert(meta, [{"key": "inventory", "value": 0}])


def downgrade() -> None:
    for table in (
        "store_meta",
        "event_cursors",
        "events",
        "case_events",
        "cases",
        "sightings",
        "inventory",
    ):
        op.drop_table(table)
    op.drop_index("ix_scans_site", "scans")
    for column in ("inventoried", "coverage", "site"):
        op.drop_column("scans", column)  # ALTER TABLE DROP COLUMN (SQLite >= 3.35), no rebuild

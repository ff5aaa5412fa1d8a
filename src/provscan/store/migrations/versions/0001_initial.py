"""Initial scan store: scans, devices, findings, evidence, attempts.

Revision ID: 0001
Revises:
Create Date: 2026-11-26

Hand-checked against provscan.store.models (a test compares them with alembic's
autogenerate). Portable types only: JSON, not SQLite's or PostgreSQL's own.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _child_of_device(name: str, *columns: sa.Column[object]) -> None:
    """findings, evidence and attempts share their key, ordering and cascade columns."""
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        *columns,
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f(f"fk_{name}_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint("device_id", "position", name=op.f(f"uq_{name}_device_id_position")),
    )
    op.create_index(op.f(f"ix_{name}_device_id"), name, ["device_id"])


def upgrade() -> None:
    op.create_table(
        "scans",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("schema_version", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("ports", sa.JSON(), nullable=False),
        sa.Column("policies", sa.JSON(), nullable=False),
        sa.Column("tool_version", sa.String(length=64), nullable=False),
        sa.Column("hosts_scanned", sa.Integer(), nullable=False),
        sa.Column("hosts_responding", sa.Integer(), nullable=False),
        sa.Column("devices_found", sa.Integer(), nullable=False),
        sa.Column("restricted_count", sa.Integer(), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scans")),
    )
    op.create_index(op.f("ix_scans_started_at"), "scans", ["started_at"])

    op.create_table(
        "devices",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scan_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("mac", sa.Text(), nullable=True),
        sa.Column("hostname", sa.Text(), nullable=True),
        sa.Column("open_ports", sa.JSON(), nullable=False),
        sa.Column("manufacturer", sa.Text(), nullable=True),
        sa.Column("brand", sa.Text(), nullable=True),
        sa.Column("relation", sa.Text(), nullable=True),
        sa.Column("family", sa.Text(), nullable=True),
        sa.Column("model", sa.Text(), nullable=True),
        sa.Column("firmware", sa.Text(), nullable=True),
        sa.Column("serial", sa.Text(), nullable=True),
        sa.Column("device_type", sa.Text(), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("restricted", sa.Boolean(), nullable=False),
        sa.Column("conflicts", sa.JSON(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["scan_id"], ["scans.id"], name=op.f("fk_devices_scan_id_scans"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("scan_id", "position", name=op.f("uq_devices_scan_id_position")),
    )
    op.create_index(op.f("ix_devices_scan_id"), "devices", ["scan_id"])
    op.create_index(op.f("ix_devices_ip"), "devices", ["ip"])

    _child_of_device(
        "findings",
        sa.Column("policy", sa.String(length=128), nullable=False),
        sa.Column("jurisdiction", sa.Text(), nullable=False),
        sa.Column("measure", sa.Text(), nullable=False),
        sa.Column("citation", sa.Text(), nullable=False),
        sa.Column("effective", sa.String(length=32), nullable=False),
        sa.Column("family", sa.Text(), nullable=False),
        sa.Column("scope_note", sa.Text(), nullable=False),
    )
    op.create_index(op.f("ix_findings_policy"), "findings", ["policy"])

    _child_of_device(
        "evidence",
        sa.Column("protocol", sa.Text(), nullable=False),
        sa.Column("port", sa.Integer(), nullable=True),
        sa.Column("field", sa.Text(), nullable=False),
        sa.Column("observed", sa.Text(), nullable=False),
        sa.Column("rule_id", sa.Text(), nullable=True),
        sa.Column("asserts", sa.JSON(), nullable=False),
        sa.Column("certainty", sa.Float(), nullable=False),
    )

    _child_of_device(
        "attempts",
        sa.Column("probe", sa.String(length=64), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("elapsed_s", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    # Children first: their foreign keys point at devices, which points at scans.
    for table in ("attempts", "evidence", "findings", "devices", "scans"):
        op.drop_table(table)

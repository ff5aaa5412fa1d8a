"""The sha256 of each capture file a scan was made from, so the same file is stored once.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

Additive: one new table, ``captures`` (scan id, position, sha256, name), filled by
``provscan pcap`` as it stores a scan. Scans stored before have no row: their files are not
known, so a file stored before this revision can be stored once more. The downgrade drops
the table.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "captures",
        sa.Column(
            "scan_id",
            sa.String(64),
            sa.ForeignKey("scans.id", ondelete="CASCADE", name="fk_captures_scan_id_scans"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("scan_id", "position", name="pk_captures"),
    )
    op.create_index("ix_captures_sha256", "captures", ["sha256"])


def downgrade() -> None:
    op.drop_index("ix_captures_sha256", table_name="captures")
    op.drop_table("captures")

"""Screened procurement lists kept for their owner (issue 16: results survive a restart).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04

Additive: one new table, empty. The downgrade drops it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "screenings",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "owner",
            sa.String(64),
            sa.ForeignKey("users.name", ondelete="CASCADE", name="fk_screenings_owner_users"),
            nullable=False,
        ),
        sa.Column("created", _WHEN, nullable=False),
        sa.Column("expires", _WHEN, nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("shown", sa.JSON(), nullable=False),
        sa.Column("csv", sa.LargeBinary(), nullable=False),
        sa.Column("xlsx", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_screenings_owner", "screenings", ["owner"])
    op.create_index("ix_screenings_expires", "screenings", ["expires"])


def downgrade() -> None:
    op.drop_table("screenings")

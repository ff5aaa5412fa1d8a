"""What a site's sensor is asked to do: a scan, a capture analysis or a discovery (issue 17).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04

Additive: ``scan_jobs.kind``, ``scan`` for every job sent before. The downgrade drops it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "scan_jobs",
        sa.Column("kind", sa.String(16), nullable=False, server_default="scan"),
    )


def downgrade() -> None:
    with op.batch_alter_table("scan_jobs") as batch:
        batch.drop_column("kind")

"""Contract 1.1: evidence ``detail`` and device ``phones_home``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

Both columns get a server default so that rows written by 0001 read back as valid 1.1
documents (no detail, no phone-home contacts). Batch mode lets SQLite add them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("evidence") as batch:
        batch.add_column(sa.Column("detail", sa.Text(), server_default="", nullable=False))
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("phones_home", sa.JSON(), server_default="[]", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("phones_home")
    with op.batch_alter_table("evidence") as batch:
        batch.drop_column("detail")

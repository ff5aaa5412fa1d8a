"""Contract 1.2: device ``vulnerabilities``, ``exposure`` and ``remediation`` (issue 6).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

JSON lists with a server default, so that rows written before read back as valid 1.2
documents with an empty posture. Batch mode lets SQLite add them. Credentials are never
part of these lists (nor of any other column).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("vulnerabilities", "exposure", "remediation")


def upgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        for name in _COLUMNS:
            batch.add_column(sa.Column(name, sa.JSON(), server_default="[]", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        for name in reversed(_COLUMNS):
            batch.drop_column(name)

"""Sites, sensors, scan jobs sent to sensors, and schedules (issue 17).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04

Additive: four new tables, empty. The downgrade drops them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sites",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("created", _WHEN, nullable=False),
    )
    op.create_table(
        "sensors",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("first_seen", _WHEN, nullable=False),
        sa.Column("last_heartbeat", _WHEN, nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("knowledge_version", sa.String(64), nullable=True),
        sa.Column("queue_depth", sa.Integer(), nullable=True),
        sa.Column("allow", sa.JSON(), nullable=False),
    )
    op.create_index("ix_sensors_site", "sensors", ["site"])
    op.create_table(
        "scan_jobs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("ports", sa.JSON(), nullable=True),
        sa.Column("policies", sa.JSON(), nullable=True),
        sa.Column("requested_by", sa.Text(), nullable=False),
        sa.Column("created", _WHEN, nullable=False),
        sa.Column("updated", _WHEN, nullable=False),
        sa.Column("sensor", sa.String(200), nullable=True),
        sa.Column("scan_id", sa.String(64), nullable=True),
        sa.Column("hosts", sa.Integer(), nullable=True),
        sa.Column("devices", sa.Integer(), nullable=True),
        sa.Column("restricted", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("schedule_id", sa.Integer(), nullable=True),
    )
    op.create_index("ix_scan_jobs_site", "scan_jobs", ["site"])
    op.create_index("ix_scan_jobs_state", "scan_jobs", ["state"])
    op.create_table(
        "schedules",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("ports", sa.JSON(), nullable=True),
        sa.Column("every_seconds", sa.Integer(), nullable=True),
        sa.Column("cron", sa.String(200), nullable=True),
        sa.Column("created", _WHEN, nullable=False),
        sa.Column("next_run", _WHEN, nullable=False),
        sa.Column("last_run", _WHEN, nullable=True),
        sa.Column("last_job", sa.String(64), nullable=True),
    )
    op.create_index("ix_schedules_site", "schedules", ["site"])
    op.create_index("ix_schedules_next_run", "schedules", ["next_run"])


def downgrade() -> None:
    op.drop_table("schedules")
    op.drop_table("scan_jobs")
    op.drop_table("sensors")
    op.drop_table("sites")

"""Where scans are kept: a SQLAlchemy database migrated by Alembic."""

from __future__ import annotations

"""An inventory device keeps the verdict of its newest sighting that identified it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06

Data only. Until this revision a device took its verdict, ``restricted``, ``confidence`` and
``findings`` from its newest sighting even when that sighting identified nothing (a capture
holding only the device's TCP resets, a scan of ports it answered nothing readable on): four
restricted cameras became ``unknown`` and the compliance report said none remained. Since
then a sighting that identified nothing keeps what was established (docs/inventory.md).

Only a device whose verdict is ``unknown`` can have been set so (a sighting that identified
something gives another verdict under both rules). The upgrade gives each such device the
values of its newest stored sighting that identified it (a maker claim or a restriction,
newest by its scan's start, as the inventory orders sightings), through
:func:`provscan.report.contract.verdict_of` like 0011; a device no stored sighting identified
stays ``unknown``. The downgrade changes nothing: the values are ones a sighting gave.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from provscan.report.contract import verdict_of

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Rows updated per statement.
_BATCH = 500
#: What the inventory keeps of each finding (store.inventory.compact_findings, frozen here).
_KEPT = ("policy", "measure", "jurisdiction", "family", "effect", "binding", "condition")

# Frozen copies of the tables the backfill reads (not the ORM models, which move on).
_inventory = sa.table(
    "inventory",
    sa.column("device_id", sa.String),
    sa.column("verdict", sa.String),
    sa.column("restricted", sa.Boolean),
    sa.column("confidence", sa.Float),
    sa.column("findings", sa.JSON),
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
    sa.column("document", sa.JSON),
)
_scans = sa.table("scans", sa.column("id", sa.String), sa.column("started_at", sa.DateTime))


def upgrade() -> None:
    connection = op.get_bind()
    maker = _devices.c.document["manufacturer"].as_string()
    restricted = _devices.c.document["restricted"].as_boolean()
    identifying = (
        sa.select(
            _sightings.c.device_id,
            restricted,
            _devices.c.document["notes"],
            maker,
            _devices.c.document["confidence"].as_float(),
            _devices.c.document["findings"],
        )
        .select_from(
            _inventory.join(_sightings, _sightings.c.device_id == _inventory.c.device_id)
            .join(
                _devices,
                sa.and_(
                    _devices.c.scan_id == _sightings.c.scan_id,
                    _devices.c.position == _sightings.c.position,
                ),
            )
            .join(_scans, _scans.c.id == _sightings.c.scan_id)
        )
        .where(
            _inventory.c.verdict == "unknown",
            sa.or_(maker.is_not(None), restricted.is_(True)),
        )
        .order_by(_sightings.c.device_id, _scans.c.started_at.desc(), _scans.c.id.desc())
    )
    change = (
        sa.update(_inventory)
        .where(_inventory.c.device_id == sa.bindparam("changed_id"))
        .values(
            verdict=sa.bindparam("changed_verdict"),
            restricted=sa.bindparam("changed_restricted"),
            confidence=sa.bindparam("changed_confidence"),
            findings=sa.bindparam("changed_findings"),
        )
    )
    rows: list[dict[str, Any]] = []
    done: set[str] = set()
    found = connection.execute(identifying).all()
    for device_id, is_restricted, notes, manufacturer, confidence, findings in found:
        if device_id in done:  # an older identifying sighting of a device already given one
            continue
        done.add(device_id)
        rows.append(
            {
                "changed_id": device_id,
                "changed_verdict": verdict_of(bool(is_restricted), notes or [], manufacturer),
                "changed_restricted": bool(is_restricted),
                "changed_confidence": float(confidence or 0.0),
                "changed_findings": [
                    {key: finding[key] for key in _KEPT if key in finding}
                    for finding in findings or []
                    if isinstance(finding, dict)
                ],
            }
        )
        if len(rows) >= _BATCH:
            connection.execute(change, rows)
            rows = []
    if rows:
        connection.execute(change, rows)


def downgrade() -> None:
    pass

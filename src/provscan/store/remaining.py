"""Restricted devices *remaining*: the one definition every count of them follows.

docs/reports.md ("How the numbers are defined"): a device remains when the newest sighting
judged it restricted, it is not ``gone`` from the inventory, and its restricted-maker case is
not ``verified`` (a complete scan covering its address after it was last seen proved it
absent, once the case said removed or replaced; decision 0013). ``provscan inventory`` (its
``remaining`` count), the console's dashboard and ``/api/v1/summary`` (totals, by site, by
maker, by jurisdiction, the trend's points) and the compliance report (headline, breakdowns,
priority list) all count with :func:`remains` or its SQL twin :func:`remaining_clause`, so
they cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, exists, not_, select
from sqlalchemy.orm import Session

from provscan.store.cases import RESTRICTED
from provscan.store.models import CaseRow, InventoryRow

#: The inventory status of a device that is no longer counted.
GONE = "gone"
#: The case status that proves a restricted device removed.
VERIFIED = "verified"


def remains(restricted: bool, status: str | None, restricted_case_status: str | None) -> bool:
    """Whether a device still counts as a restricted device remaining: ``restricted`` (its
    newest sighting's verdict, or under a report's selected policies), its inventory
    ``status``, and the status of its restricted-maker case (None: it has none)."""
    return bool(restricted) and status != GONE and restricted_case_status != VERIFIED


def verified_case(device_id: Any) -> ColumnElement[bool]:
    """SQL: the device ``device_id`` (a column) has a verified restricted-maker case."""
    return exists(
        select(CaseRow.id).where(
            CaseRow.device_id == device_id,
            CaseRow.subject == RESTRICTED,
            CaseRow.status == VERIFIED,
        )
    )


def remaining_clause(table: Any = None) -> ColumnElement[bool]:
    """:func:`remains` as a SQL condition on inventory rows (``table``: the inventory table
    or an alias of it; default :class:`InventoryRow`'s table)."""
    columns = (table if table is not None else InventoryRow.__table__).c
    return and_(
        columns.restricted.is_(True),
        columns.status != GONE,
        not_(verified_case(columns.device_id)),
    )


def remaining_devices(
    session: Session, *, site: str | None = None, status: str | None = None
) -> set[str]:
    """The ids of the inventory devices that remain (:func:`remaining_clause`), of ``site``
    and with ``status`` when given."""
    table = InventoryRow.__table__
    query = select(table.c.device_id).where(remaining_clause(table))
    if site is not None:
        query = query.where(table.c.site == site)
    if status is not None:
        query = query.where(table.c.status == status)
    return set(session.scalars(query))

"""One page of the inventory at a time, by keyset (site, ip_key, device_id), for the API.

A page is read with the same order as ``provscan inventory`` (devices with no site first)
and a cursor that names the last device of the page, so a device added or removed between
two pages neither repeats nor skips one that stayed. The cursor is opaque to clients:
URL-safe base64 of a JSON triple.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from provscan.errors import StoreRequestError
from provscan.store.models import CaseRow, InventoryRow
from provscan.store.views import cases_by_device, device_view

#: Most devices one page may hold.
MAX_PAGE = 1000
#: Columns ``q`` searches (a case-insensitive substring).
SEARCHED = ("ip", "mac", "hostname", "manufacturer", "brand", "model", "serial", "firmware")


@dataclass(frozen=True)
class PageFilters:
    restricted: bool | None = None
    site: str | None = None
    status: str | None = None
    #: A substring of the address, MAC, host name, maker, brand, model, serial or firmware.
    q: str | None = None


def encode_cursor(site: str | None, ip_key: str, device_id: str) -> str:
    raw = json.dumps([site, ip_key, device_id], separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[str | None, str, str]:
    """The position a cursor names; a damaged one is a :class:`StoreRequestError`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        site, ip_key, device_id = json.loads(raw)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise StoreRequestError("not a cursor this server gave out") from exc
    if not (
        (site is None or isinstance(site, str))
        and isinstance(ip_key, str)
        and isinstance(device_id, str)
    ):
        raise StoreRequestError("not a cursor this server gave out")
    return site, ip_key, device_id


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def inventory_page(
    session: Session, after: str | None, limit: int, filters: PageFilters
) -> tuple[list[dict[str, Any]], str | None]:
    """Up to ``limit`` inventory devices (their inventory JSON) after the cursor ``after``,
    and the cursor of the next page (None on the last page)."""
    if not 1 <= limit <= MAX_PAGE:
        raise StoreRequestError(f"limit must be between 1 and {MAX_PAGE}")
    table = InventoryRow.__table__
    site, ip_key, device_id = table.c.site, table.c.ip_key, table.c.device_id
    query = select(table).order_by(site.asc().nulls_first(), ip_key, device_id)
    if filters.restricted is not None:
        query = query.where(table.c.restricted.is_(filters.restricted))
    if filters.site is not None:
        query = query.where(site == filters.site)
    if filters.status is not None:
        query = query.where(table.c.status == filters.status)
    if filters.q:
        pattern = f"%{_escape_like(filters.q)}%"
        query = query.where(or_(*(table.c[name].ilike(pattern, escape="\\") for name in SEARCHED)))
    if after is not None:
        last_site, last_key, last_id = decode_cursor(after)
        within = or_(ip_key > last_key, and_(ip_key == last_key, device_id > last_id))
        if last_site is None:
            query = query.where(or_(and_(site.is_(None), within), site.is_not(None)))
        else:
            query = query.where(or_(site > last_site, and_(site == last_site, within)))
    rows = session.execute(query.limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    cases = cases_by_device(session, {row.device_id for row in rows}, len(rows))
    documents = [device_view(row, cases.get(row.device_id, ())).to_json() for row in rows]
    if not more:
        return documents, None
    last = rows[-1]
    return documents, encode_cursor(last.site, last.ip_key, last.device_id)


def dashboard(session: Session, today: str) -> dict[str, Any]:
    """The dashboard's numbers, counted by the database: devices by status, restricted
    devices by site and by maker, active and overdue cases (``today``: ISO date)."""
    table = InventoryRow.__table__
    restricted = table.c.restricted.is_(True)
    by_status: dict[str, int] = dict(
        session.execute(select(table.c.status, func.count()).group_by(table.c.status)).all()
    )
    by_site = session.execute(
        select(table.c.site, func.count()).where(restricted).group_by(table.c.site)
    ).all()
    by_maker = session.execute(
        select(table.c.manufacturer, func.count()).where(restricted).group_by(table.c.manufacturer)
    ).all()
    active = CaseRow.status != "verified"
    open_cases = session.scalar(select(func.count()).select_from(CaseRow).where(active))
    overdue = session.scalar(
        select(func.count())
        .select_from(CaseRow)
        .where(active, CaseRow.due.is_not(None), CaseRow.due < today)
    )
    return {
        "devices": sum(by_status.values()),
        "by_status": {str(k): int(v) for k, v in sorted(by_status.items())},
        "restricted": sum(int(n) for _, n in by_site),
        "restricted_by_site": [
            {"site": site, "devices": int(n)} for site, n in sorted(by_site, key=_by_count)
        ],
        "restricted_by_maker": [
            {"manufacturer": maker, "devices": int(n)}
            for maker, n in sorted(by_maker, key=_by_count)
        ],
        "open_cases": int(open_cases or 0),
        "overdue_cases": int(overdue or 0),
    }


def _by_count(pair: Any) -> tuple[int, str]:
    return (-int(pair[1]), str(pair[0] or ""))

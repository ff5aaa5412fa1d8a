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

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from provscan.errors import StoreRequestError
from provscan.store.models import CaseRow, InventoryRow
from provscan.store.views import cases_by_device, device_view

#: Most devices one page may hold.
MAX_PAGE = 1000
#: Columns ``q`` searches (a case-insensitive substring).
SEARCHED = ("ip", "mac", "hostname", "manufacturer", "brand", "model", "serial", "firmware")
#: Orders a page may be read in: name -> the column sorted on (then address, then id).
#: ``site`` (the default) is the inventory's own order; ``-name`` reverses one.
SORTS = {
    "site": "site",
    "ip": "ip_key",
    "maker": "manufacturer",
    "model": "model",
    "status": "status",
}


@dataclass(frozen=True)
class PageFilters:
    """Which devices a page holds, and in what order."""

    restricted: bool | None = None
    site: str | None = None
    status: str | None = None
    #: A substring of the address, MAC, host name, maker, brand, model, serial or firmware.
    q: str | None = None
    #: The maker exactly as the inventory names it.
    manufacturer: str | None = None
    #: A key of :data:`SORTS`, or one with a leading ``-`` (descending).
    sort: str = "site"


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


def _sorted_cursor(sort: str, values: list[str]) -> str:
    raw = json.dumps([sort, *values], separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode_sorted(cursor: str, sort: str) -> list[str]:
    """The (column, ip_key, device_id) values a cursor of order ``sort`` names."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        found = json.loads(raw)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise StoreRequestError("not a cursor this server gave out") from exc
    if (
        not isinstance(found, list)
        or len(found) != 4
        or found[0] != sort
        or not all(isinstance(value, str) for value in found[1:])
    ):
        raise StoreRequestError("not a cursor this server gave out for this order")
    return list(found[1:])


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def inventory_page(
    session: Session, after: str | None, limit: int, filters: PageFilters
) -> tuple[list[dict[str, Any]], str | None]:
    """Up to ``limit`` inventory devices (their inventory JSON) after the cursor ``after``,
    and the cursor of the next page (None on the last page)."""
    if not 1 <= limit <= MAX_PAGE:
        raise StoreRequestError(f"limit must be between 1 and {MAX_PAGE}")
    if filters.sort.removeprefix("-") not in SORTS:
        raise StoreRequestError(
            f"unknown order {filters.sort!r} (one of {', '.join(SORTS)}, or -name to reverse)"
        )
    if filters.sort != "site":
        return _sorted_page(session, after, limit, filters)
    table = InventoryRow.__table__
    site, ip_key, device_id = table.c.site, table.c.ip_key, table.c.device_id
    query = _filtered(select(table), filters).order_by(site.asc().nulls_first(), ip_key, device_id)
    if after is not None:
        last_site, last_key, last_id = decode_cursor(after)
        within = or_(ip_key > last_key, and_(ip_key == last_key, device_id > last_id))
        if last_site is None:
            query = query.where(or_(and_(site.is_(None), within), site.is_not(None)))
        else:
            query = query.where(or_(site > last_site, and_(site == last_site, within)))
    documents, last, more = _page_of(session, query, limit)
    if not more or last is None:
        return documents, None
    return documents, encode_cursor(last.site, last.ip_key, last.device_id)


def _filtered(query: Select[Any], filters: PageFilters) -> Select[Any]:
    table = InventoryRow.__table__
    if filters.restricted is not None:
        query = query.where(table.c.restricted.is_(filters.restricted))
    if filters.site is not None:
        query = query.where(table.c.site == filters.site)
    if filters.status is not None:
        query = query.where(table.c.status == filters.status)
    if filters.manufacturer is not None:
        query = query.where(table.c.manufacturer == filters.manufacturer)
    if filters.q:
        pattern = f"%{_escape_like(filters.q)}%"
        query = query.where(or_(*(table.c[name].ilike(pattern, escape="\\") for name in SEARCHED)))
    return query


def _page_of(
    session: Session, query: Select[Any], limit: int
) -> tuple[list[dict[str, Any]], Any, bool]:
    """The inventory JSON of up to ``limit`` rows of ``query``, the last row, and whether
    more follow."""
    rows = session.execute(query.limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    cases = cases_by_device(session, {row.device_id for row in rows}, len(rows))
    documents = [device_view(row, cases.get(row.device_id, ())).to_json() for row in rows]
    return documents, rows[-1] if rows else None, more


def _sorted_page(
    session: Session, after: str | None, limit: int, filters: PageFilters
) -> tuple[list[dict[str, Any]], str | None]:
    """A page in another order than the default: by a column (a missing value sorts as the
    empty text), then address, then id; a cursor is good only for the order it was made in."""
    table = InventoryRow.__table__
    name = SORTS[filters.sort.removeprefix("-")]
    descending = filters.sort.startswith("-")
    keys = [func.coalesce(table.c[name], ""), table.c.ip_key, table.c.device_id]
    query = _filtered(select(table), filters).order_by(
        *(key.desc() if descending else key.asc() for key in keys)
    )
    if after is not None:
        values = _decode_sorted(after, filters.sort)
        beyond = [
            (key < value) if descending else (key > value)
            for key, value in zip(keys, values, strict=True)
        ]
        query = query.where(
            or_(
                beyond[0],
                and_(keys[0] == values[0], beyond[1]),
                and_(keys[0] == values[0], keys[1] == values[1], beyond[2]),
            )
        )
    documents, last, more = _page_of(session, query, limit)
    if not more or last is None:
        return documents, None
    value = getattr(last, name) or ""
    return documents, _sorted_cursor(filters.sort, [str(value), last.ip_key, last.device_id])


def choices(session: Session) -> dict[str, list[str]]:
    """The sites and makers the inventory holds (for the console's filters)."""
    table = InventoryRow.__table__
    sites = session.scalars(
        select(table.c.site).where(table.c.site.is_not(None)).distinct().order_by(table.c.site)
    )
    makers = session.scalars(
        select(table.c.manufacturer)
        .where(table.c.manufacturer.is_not(None))
        .distinct()
        .order_by(table.c.manufacturer)
    )
    return {"sites": [str(s) for s in sites], "makers": [str(m) for m in makers]}


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

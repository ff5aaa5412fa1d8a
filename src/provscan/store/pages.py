"""One page of the inventory at a time, by keyset (site, ip_key, device_id), for the API.

A page is read with the same order as ``provscan inventory`` (devices with no site first)
and a cursor that names the last device of the page, so a device added or removed between
two pages neither repeats nor skips one that stayed. The cursor is opaque to clients:
URL-safe base64 of a JSON triple. The console also reads a page backwards from a cursor
(the same keyset, the order reversed), for its "previous" link.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import orjson
from sqlalchemy import Select, Text, and_, case, cast, func, or_, select
from sqlalchemy.orm import Session

from provscan.errors import StoreRequestError
from provscan.model import RESTRICTING_FINDING_EFFECTS, finding_restricts
from provscan.report.contract import VERDICTS
from provscan.store.cases import Case, to_case
from provscan.store.history import now_point_at
from provscan.store.models import CaseEventRow, CaseRow, InventoryRow, ScanRow, ScanTotalsRow
from provscan.store.remaining import remaining_clause
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
    #: The maker as the inventory names it, in any case (the whole value).
    manufacturer: str | None = None
    #: The brand (LTS, Lorex), in any case (the whole value).
    brand: str | None = None
    #: The corporate family (hikvision, dahua), in any case (the whole value).
    family: str | None = None
    #: A key of :data:`SORTS`, or one with a leading ``-`` (descending).
    sort: str = "site"
    #: The newest sighting's verdict: restricted, review, unknown or clear.
    verdict: str | None = None
    #: Only the restricted devices that remain (:func:`remaining_clause`: not gone, their
    #: restricted-maker case not verified): the ones the dashboard's headline counts.
    remaining: bool = False


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


@dataclass(frozen=True)
class PageWindow:
    """One page of devices and the cursors either side of it."""

    #: The inventory JSON of each device, in the page's order.
    devices: list[dict[str, Any]]
    #: The cursor after the last device (None: this is the last page).
    next: str | None
    #: The cursor before the first device (None: this is the first page).
    previous: str | None


def _check(limit: int, filters: PageFilters) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise StoreRequestError(f"limit must be between 1 and {MAX_PAGE}")
    if filters.sort.removeprefix("-") not in SORTS:
        raise StoreRequestError(
            f"unknown order {filters.sort!r} (one of {', '.join(SORTS)}, or -name to reverse)"
        )
    if filters.verdict is not None and filters.verdict not in VERDICTS:
        raise StoreRequestError(
            f"unknown verdict {filters.verdict!r} (one of {', '.join(VERDICTS)})"
        )


def inventory_page(
    session: Session, after: str | None, limit: int, filters: PageFilters
) -> tuple[list[dict[str, Any]], str | None]:
    """Up to ``limit`` inventory devices (their inventory JSON) after the cursor ``after``,
    and the cursor of the next page (None on the last page)."""
    window = inventory_window(session, limit, filters, after=after)
    return window.devices, window.next


def inventory_count(session: Session, filters: PageFilters) -> int:
    """How many inventory devices ``filters`` match (the order does not matter): the total
    the console's devices page shows beside a page of them."""
    _check(1, filters)
    table = InventoryRow.__table__
    query = _filtered(select(func.count()).select_from(table), filters)
    return int(session.scalar(query) or 0)


def inventory_window(
    session: Session,
    limit: int,
    filters: PageFilters,
    *,
    after: str | None = None,
    before: str | None = None,
) -> PageWindow:
    """The page after the cursor ``after`` or, going back, the one that ends just before the
    cursor ``before`` (either cursor of a page: its ``next`` or its ``previous``).

    Going back from a page whose earlier devices do not fill a whole page gives the first
    page (as read going forward), so the pages going back are the pages going forward.
    """
    _check(limit, filters)
    if after is not None and before is not None:
        raise StoreRequestError("a page is read after one cursor or before one, not both")
    if before is not None:
        rows = session.execute(_positioned(filters, before, backwards=True).limit(limit + 1)).all()
        if len(rows) <= limit:  # nothing before this page but these: the first page
            return inventory_window(session, limit, filters)
        rows = rows[:limit][::-1]
        return PageWindow(
            _documents(session, rows), _cursor_of(rows[-1], filters), _cursor_of(rows[0], filters)
        )
    rows = session.execute(_positioned(filters, after, backwards=False).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return PageWindow(
        _documents(session, rows),
        _cursor_of(rows[-1], filters) if more and rows else None,
        _cursor_of(rows[0], filters) if after is not None and rows else None,
    )


def _cursor_of(row: Any, filters: PageFilters) -> str:
    """The cursor that names ``row``'s position in the order of ``filters``."""
    if filters.sort == "site":
        return encode_cursor(row.site, row.ip_key, row.device_id)
    value = getattr(row, SORTS[filters.sort.removeprefix("-")]) or ""
    return _sorted_cursor(filters.sort, [str(value), row.ip_key, row.device_id])


def _positioned(filters: PageFilters, cursor: str | None, *, backwards: bool) -> Select[Any]:
    """The filtered devices after the cursor (``backwards``: before it, nearest first)."""
    if filters.sort != "site":
        return _sorted_positioned(filters, cursor, backwards=backwards)
    table = InventoryRow.__table__
    site, ip_key, device_id = table.c.site, table.c.ip_key, table.c.device_id
    query = _filtered(select(table), filters)
    if backwards:
        query = query.order_by(site.desc().nulls_last(), ip_key.desc(), device_id.desc())
    else:
        query = query.order_by(site.asc().nulls_first(), ip_key, device_id)
    if cursor is None:
        return query
    last_site, last_key, last_id = decode_cursor(cursor)
    if backwards:
        within = or_(ip_key < last_key, and_(ip_key == last_key, device_id < last_id))
        if last_site is None:
            return query.where(and_(site.is_(None), within))
        return query.where(or_(site.is_(None), site < last_site, and_(site == last_site, within)))
    within = or_(ip_key > last_key, and_(ip_key == last_key, device_id > last_id))
    if last_site is None:
        return query.where(or_(and_(site.is_(None), within), site.is_not(None)))
    return query.where(or_(site > last_site, and_(site == last_site, within)))


def _filtered(query: Select[Any], filters: PageFilters) -> Select[Any]:
    table = InventoryRow.__table__
    if filters.restricted is not None:
        query = query.where(table.c.restricted.is_(filters.restricted))
    if filters.site is not None:
        query = query.where(table.c.site == filters.site)
    if filters.status is not None:
        query = query.where(table.c.status == filters.status)
    if filters.verdict is not None:
        query = query.where(table.c.verdict == filters.verdict)
    if filters.remaining:
        query = query.where(remaining_clause(table))
    for name, wanted in (
        ("manufacturer", filters.manufacturer),
        ("brand", filters.brand),
        ("family", filters.family),
    ):
        if wanted is not None:  # case-insensitive: "hikvision" is the maker "Hikvision"
            query = query.where(func.lower(table.c[name]) == wanted.lower())
    if filters.q:
        pattern = f"%{_escape_like(filters.q)}%"
        query = query.where(or_(*(table.c[name].ilike(pattern, escape="\\") for name in SEARCHED)))
    return query


def _documents(session: Session, rows: Sequence[Any]) -> list[dict[str, Any]]:
    """The inventory JSON of the rows, with each device's case."""
    cases = cases_by_device(session, {row.device_id for row in rows}, len(rows))
    return [device_view(row, cases.get(row.device_id, ())).to_json() for row in rows]


def _sorted_positioned(filters: PageFilters, cursor: str | None, *, backwards: bool) -> Select[Any]:
    """Another order than the default: by a column (a missing value sorts as the empty
    text), then address, then id; a cursor is good only for the order it was made in."""
    table = InventoryRow.__table__
    name = SORTS[filters.sort.removeprefix("-")]
    descending = filters.sort.startswith("-") != backwards
    keys = [func.coalesce(table.c[name], ""), table.c.ip_key, table.c.device_id]
    query = _filtered(select(table), filters).order_by(
        *(key.desc() if descending else key.asc() for key in keys)
    )
    if cursor is None:
        return query
    values = _decode_sorted(cursor, filters.sort)
    beyond = [
        (key < value) if descending else (key > value)
        for key, value in zip(keys, values, strict=True)
    ]
    return query.where(
        or_(
            beyond[0],
            and_(keys[0] == values[0], beyond[1]),
            and_(keys[0] == values[0], keys[1] == values[1], beyond[2]),
        )
    )


#: Devices looked up in one query by :func:`device_places`.
_PLACES_CHUNK = 500


def device_places(session: Session, device_ids: set[str]) -> dict[str, tuple[str, str | None]]:
    """device id -> (address, site) of the given inventory devices."""
    table = InventoryRow.__table__
    ordered = sorted(device_ids)
    found: dict[str, tuple[str, str | None]] = {}
    for start in range(0, len(ordered), _PLACES_CHUNK):
        chunk = ordered[start : start + _PLACES_CHUNK]
        query = select(table.c.device_id, table.c.ip, table.c.site).where(
            table.c.device_id.in_(chunk)
        )
        found.update({d: (ip, site) for d, ip, site in session.execute(query)})
    return found


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
    devices remaining (:mod:`provscan.store.remaining`: the compliance report's headline) by
    site and by maker, active and overdue cases (``today``: ISO date)."""
    table = InventoryRow.__table__
    restricted = remaining_clause(table)
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


# --- the dashboard's jurisdictions and trend ---------------------------------------------


#: A row of :func:`restricted_by_jurisdiction`: jurisdiction, policy, binding, condition.
_MeasureKey = tuple[str, str, bool | None, str | None]


def restricted_by_jurisdiction(session: Session) -> list[dict[str, Any]]:
    """The restricted devices remaining in the inventory (:func:`remaining_clause`, as the
    compliance report counts them) by the jurisdiction and policy of each restricting
    finding, whether that finding binds the party the scan was judged for (``binding``:
    True, False, or None when every measure counted) and, for one that binds them, the
    ``condition`` it restricts only on (the UK statement's sensitive site; None: none). A
    device restricted by several measures counts once in each row that names it;
    ``devices`` of a jurisdiction counts each device once, by the findings that restrict it
    (:func:`~provscan.model.finding_restricts`, the one predicate: binding, on no condition),
    so a row restricts (its binding is not False and it has no condition) exactly when the
    devices it lists count there. Jurisdictions with the most devices first.

    Counted by groups of devices with the same findings (the database groups them; most
    restricted devices share a handful of finding lists), so the work here is per group."""
    table = InventoryRow.__table__
    as_text = cast(table.c.findings, Text)
    groups = session.execute(
        select(as_text, func.count()).where(remaining_clause(table)).group_by(as_text)
    )
    per_row: dict[_MeasureKey, int] = {}
    effects: dict[_MeasureKey, set[str]] = {}
    per_jurisdiction: dict[str, int] = {}
    for text, count in groups:
        keys: set[_MeasureKey] = set()
        restricting: set[str] = set()
        for finding in orjson.loads(text or "[]") or ():
            effect = str(finding.get("effect") or "restricts")
            if effect not in RESTRICTING_FINDING_EFFECTS:
                continue  # advice and context restrict nothing
            binding = finding.get("binding")
            # a measure that binds others restricts nothing here, whatever its condition
            condition = finding.get("condition") if binding is not False else None
            key = (
                str(finding.get("jurisdiction") or "(not recorded)"),
                str(finding.get("policy") or "?"),
                binding,
                str(condition) if condition else None,
            )
            keys.add(key)
            effects.setdefault(key, set()).add(effect)
            if finding_restricts(finding):
                restricting.add(key[0])
        for key in keys:  # each device once per row ...
            per_row[key] = per_row.get(key, 0) + int(count)
        # ... and per jurisdiction, where one of its measures restricts it for the user (not
        # one that binds others, nor one that restricts only on a condition: listed, no count)
        for jurisdiction in restricting:
            per_jurisdiction[jurisdiction] = per_jurisdiction.get(jurisdiction, 0) + int(count)
    grouped: dict[str, list[dict[str, Any]]] = {}
    for key in sorted(per_row, key=lambda k: (-per_row[k], k[1], str(k[2]), k[3] or "")):
        jurisdiction, policy, binding, condition = key
        grouped.setdefault(jurisdiction, []).append(
            {
                "policy": policy,
                "effects": sorted(effects[key]),
                "binding": binding,
                "condition": condition,
                "devices": per_row[key],
            }
        )
    rows = [
        {
            "jurisdiction": jurisdiction,
            "devices": per_jurisdiction.get(jurisdiction, 0),
            "measures": measures,
        }
        for jurisdiction, measures in grouped.items()
    ]
    return sorted(rows, key=lambda row: (-row["devices"], row["jurisdiction"]))


def current_by_jurisdiction(session: Session) -> list[dict[str, Any]]:
    """:func:`restricted_by_jurisdiction` as kept with the newest scan's totals (the
    inventory changes only when a scan is stored), counted afresh when that row has none or
    a person verified a case since (``provscan cases update --status verified`` with a
    scan's proof: the device no longer remains)."""
    kept = session.execute(
        select(ScanTotalsRow.by_jurisdiction, ScanTotalsRow.at)
        .order_by(ScanTotalsRow.at.desc(), ScanTotalsRow.scan_id.desc())
        .limit(1)
    ).first()
    # totals kept before the rows said a measure's condition (a measure on a condition
    # showed as binding) are counted afresh
    if kept is not None and kept[0] is not None and _says_conditions(kept[0]):
        verified_since = session.scalar(
            select(func.count())
            .select_from(CaseEventRow)
            .where(CaseEventRow.action == "verified", CaseEventRow.at > kept[1])
        )
        if not verified_since:
            return list(kept[0])
    return restricted_by_jurisdiction(session)


def _says_conditions(rows: Any) -> bool:
    """Whether kept jurisdiction rows say each measure's ``condition`` (kept since they do)."""
    return isinstance(rows, list) and all(
        isinstance(measure, dict) and "condition" in measure
        for row in rows
        if isinstance(row, dict)
        for measure in row.get("measures") or ()
    )


def _acting_as_text(document: dict[str, Any]) -> str:
    return ",".join(str(party) for party in document.get("acting_as") or [])


def record_totals(session: Session, scan: ScanRow, now: datetime) -> None:
    """Write the inventory's totals after ``scan`` was added (the caller's transaction):
    ``restricted`` counts the restricted devices remaining (:func:`remaining_clause`), the
    compliance report's trend point for that scan."""
    devices, restricted, open_cases, overdue = _totals(session, now.date().isoformat())
    session.merge(
        ScanTotalsRow(
            scan_id=scan.id,
            at=now,
            devices=devices,
            restricted=restricted,
            open_cases=open_cases,
            overdue_cases=overdue,
            acting_as=_acting_as_text(scan.document or {}),
            by_jurisdiction=restricted_by_jurisdiction(session),
        )
    )


def _totals(session: Session, today: str) -> tuple[int, int, int, int]:
    """The inventory's totals as they are: devices, restricted devices remaining, active
    cases and overdue ones (``today``: ISO date) -- the dashboard's headline numbers
    (:func:`dashboard` counts the same)."""
    table = InventoryRow.__table__
    devices, restricted = session.execute(
        select(
            func.count(), func.coalesce(func.sum(case((remaining_clause(table), 1), else_=0)), 0)
        )
    ).one()
    active = CaseRow.status != "verified"
    open_cases, overdue = session.execute(
        select(
            func.count(),
            func.coalesce(
                func.sum(case((and_(CaseRow.due.is_not(None), CaseRow.due < today), 1), else_=0)),
                0,
            ),
        ).where(active)
    ).one()
    return int(devices), int(restricted), int(open_cases), int(overdue)


@dataclass(frozen=True)
class TrendPoint:
    """The inventory's totals at one moment (after a scan was added; for the *now* point,
    after the last change since the newest scan)."""

    at: datetime
    #: None: the *now* point (:attr:`is_now`).
    scan_id: str | None
    devices: int
    #: Restricted devices remaining (:mod:`provscan.store.remaining`).
    restricted: int
    #: None: not known (a scan stored before the totals were kept).
    open_cases: int | None
    overdue_cases: int | None

    @property
    def is_now(self) -> bool:
        """The point after the newest scan: the totals as they are now (the dashboard's
        headline), added when changes made since that scan changed them."""
        return self.scan_id is None


#: Newest totals rows the trend reads (older ones fall off the chart).
TREND_ROWS = 5000


def trend_points(
    session: Session, points: int, now: datetime | None = None
) -> tuple[list[TrendPoint], list[str]]:
    """At most ``points`` of the newest :data:`TREND_ROWS` totals, oldest first: all of
    them when there are that few, else evenly spaced among them (the first and the newest
    always), so a burst of scans and a quiet year each keep their share; and every party the
    scans' verdicts were judged for (empty text: the default).

    ``now`` (the dashboard's trend, whose headline is the totals as they are at ``now``):
    when changes made since the newest scan (a case verified on request, a due date moved or
    passed) changed the totals, one more point follows with the totals as they are, the
    *now* point (:func:`provscan.store.history.now_point_at`, the compliance report's rule),
    so the chart ends on the headline's numbers."""
    chosen, parties = _sampled(session, points)
    if now is None or not chosen:
        return chosen, parties
    newest = chosen[-1]
    totals = _totals(session, now.date().isoformat())
    changed_at = session.scalar(
        select(func.max(CaseEventRow.at)).where(CaseEventRow.at > newest.at)
    )
    at = now_point_at(
        (newest.devices, newest.restricted, newest.open_cases, newest.overdue_cases),
        totals,
        _utc(changed_at) if changed_at is not None else None,
        now,
    )
    if at is not None:
        chosen.append(TrendPoint(max(at, newest.at), None, *totals))
    return chosen, parties


def _sampled(session: Session, points: int) -> tuple[list[TrendPoint], list[str]]:
    """:func:`trend_points` without the now point."""
    rows = list(
        session.execute(
            select(
                ScanTotalsRow.at,
                ScanTotalsRow.scan_id,
                ScanTotalsRow.devices,
                ScanTotalsRow.restricted,
                ScanTotalsRow.open_cases,
                ScanTotalsRow.overdue_cases,
            )
            .order_by(ScanTotalsRow.at.desc(), ScanTotalsRow.scan_id.desc())
            .limit(TREND_ROWS)
        )
    )[::-1]
    parties = sorted(
        str(value) for value in session.scalars(select(ScanTotalsRow.acting_as).distinct())
    )
    found = [TrendPoint(_utc(row[0]), *row[1:]) for row in rows]
    if len(found) <= points:
        return found, parties
    if points < 2:
        return found[-1:], parties
    chosen = sorted({round(index * (len(found) - 1) / (points - 1)) for index in range(points)})
    return [found[index] for index in chosen], parties


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- the cases board, a page at a time ---------------------------------------------------


@dataclass(frozen=True)
class CasePage:
    """One page of a state's cases (overdue first, then by due date, then by number)."""

    cases: list[Case]
    #: The cursor after the last case (None: the last page).
    next: str | None
    #: Every case of the state (and site), and how many of them are overdue.
    count: int
    overdue: int


def _case_filters(status: str, site: str | None) -> list[Any]:
    where: list[Any] = [CaseRow.status == status]
    if site is not None:
        known = select(InventoryRow.device_id).where(InventoryRow.site == site)
        where.append(CaseRow.device_id.in_(known))
    return where


def case_counts(
    session: Session, today: str, site: str | None = None
) -> dict[str, tuple[int, int]]:
    """status -> (cases, overdue cases), for every state with a case (of ``site``)."""
    overdue = and_(CaseRow.status != "verified", CaseRow.due.is_not(None), CaseRow.due < today)
    query = select(
        CaseRow.status, func.count(), func.coalesce(func.sum(case((overdue, 1), else_=0)), 0)
    ).group_by(CaseRow.status)
    if site is not None:
        query = query.where(
            CaseRow.device_id.in_(select(InventoryRow.device_id).where(InventoryRow.site == site))
        )
    return {str(status): (int(n), int(late)) for status, n, late in session.execute(query)}


def _case_cursor(values: tuple[int, str, int]) -> str:
    raw = json.dumps(["case", *values], separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode_case_cursor(cursor: str) -> tuple[int, str, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        kind, late, due, number = json.loads(raw)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise StoreRequestError("not a cursor this server gave out") from exc
    if not (
        kind == "case"
        and late in (0, 1)
        and isinstance(due, str)
        and isinstance(number, int)
        and not isinstance(number, bool)
    ):
        raise StoreRequestError("not a cursor this server gave out")
    return late, due, number


#: The due date a case without one sorts as (after every real date).
_NO_DUE = "9999-99-99"


def cases_page(
    session: Session,
    status: str,
    *,
    today: str,
    limit: int,
    after: str | None = None,
    site: str | None = None,
    counts: tuple[int, int] | None = None,
) -> CasePage:
    """Up to ``limit`` cases of ``status`` (of devices at ``site``) after the cursor, in the
    board's order: overdue first, then by due date (none last), then by number; a keyset
    over (not overdue, due, id), so a page costs the same at any depth. ``counts``: the
    state's (cases, overdue) when the caller already has them."""
    if not 1 <= limit <= MAX_PAGE:
        raise StoreRequestError(f"limit must be between 1 and {MAX_PAGE}")
    late = case(
        (and_(CaseRow.status != "verified", CaseRow.due.is_not(None), CaseRow.due < today), 0),
        else_=1,
    )
    due = func.coalesce(CaseRow.due, _NO_DUE)
    query = (
        select(CaseRow)
        .where(*_case_filters(status, site))
        .order_by(late, due, CaseRow.id)
        .limit(limit + 1)
    )
    if after is not None:
        was_late, was_due, number = _decode_case_cursor(after)
        query = query.where(
            or_(
                late > was_late,
                and_(late == was_late, due > was_due),
                and_(late == was_late, due == was_due, CaseRow.id > number),
            )
        )
    rows = list(session.scalars(query))
    more = len(rows) > limit
    found = [to_case(row, today=date.fromisoformat(today)) for row in rows[:limit]]
    last = found[-1] if found else None
    cursor = (
        _case_cursor((0 if last.overdue else 1, last.due or _NO_DUE, last.id))
        if more and last is not None
        else None
    )
    if counts is None:
        counts = case_counts(session, today, site).get(status, (0, 0))
    return CasePage(found, cursor, counts[0], counts[1])

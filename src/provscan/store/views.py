"""What the store hands out about the inventory: scans, devices, differences between scans.

Plain frozen values with a ``to_json`` each (the shapes documented in docs/inventory.md);
the commands, reports and API render these and never see a database row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Select, case, func, literal, select
from sqlalchemy.orm import Session

from provscan.errors import StoreError, StoreRequestError
from provscan.model import address_sort_key
from provscan.report.contract import SCHEMA_VERSION, DeviceEntry, ScanSection, upgrade_document
from provscan.store.cases import RESTRICTED, scan_candidates
from provscan.store.inventory import (
    _aware,
    address_key,
    compact_findings,
    covers,
    document_verdict,
    identified,
    identity_of,
    last_ports,
    moved_to,
    probed_ports,
    unprobed,
)
from provscan.store.models import CaseRow, DeviceRow, InventoryRow, ScanRow, SightingRow

#: Device fields a diff compares (besides the findings' policies and the CVEs).
DIFF_FIELDS = (
    "ip",
    "mac",
    "manufacturer",
    "brand",
    "family",
    "model",
    "firmware",
    "serial",
    "device_type",
    "restricted",
)


def _iso(moment: datetime | None) -> str | None:
    return _aware(moment).isoformat() if moment is not None else None


@dataclass(frozen=True)
class ScanSummary:
    id: str
    kind: str
    site: str | None
    targets: tuple[str, ...]
    started_at: datetime
    finished_at: datetime | None
    devices: int
    restricted: int
    complete: bool
    #: The address ranges the scan proves absence in (empty: captures, discovery, imports).
    coverage: tuple[tuple[str, str], ...]
    policies: tuple[str, ...] = ()

    @property
    def covering(self) -> bool:
        return self.complete and bool(self.coverage)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "site": self.site,
            "targets": list(self.targets),
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "devices": self.devices,
            "restricted": self.restricted,
            "complete": self.complete,
            "covering": self.covering,
            "policies": list(self.policies),
        }


def summary(row: ScanRow) -> ScanSummary:
    document = row.document
    return ScanSummary(
        id=row.id,
        kind=row.kind,
        site=row.site,
        targets=tuple(document.get("targets", [])),
        started_at=_aware(row.started_at),
        finished_at=_aware(row.finished_at) if row.finished_at else None,
        devices=row.devices_found,
        restricted=row.restricted_count,
        complete=row.complete,
        coverage=tuple((low, high) for low, high in row.coverage or []),
        policies=tuple(document.get("policies", [])),
    )


@dataclass(frozen=True, slots=True)
class CaseBrief:
    id: int
    status: str
    due: str | None
    subject: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "due": self.due}


@dataclass(frozen=True, slots=True)
class InventoryDevice:
    device_id: str
    site: str | None
    status: str
    first_seen: datetime
    last_seen: datetime
    last_scan_id: str
    missed: int
    match_rule: str
    ip: str
    mac: str | None
    hostname: str | None
    manufacturer: str | None
    brand: str | None
    family: str | None
    model: str | None
    firmware: str | None
    serial: str | None
    device_type: str | None
    confidence: float
    restricted: bool
    #: The newest sighting's verdict, as its scan report gives it: restricted, review,
    #: unknown (nothing identified the maker: not cleared) or clear.
    verdict: str
    findings: tuple[dict[str, Any], ...]
    #: The case shown with the device: its active restricted-maker case, else its active
    #: case due first, else its last verified one.
    case: CaseBrief | None
    open_cases: int

    def to_json(self) -> dict[str, Any]:
        return _device_json(self, self.case, self.open_cases)


#: The device fields of the inventory JSON (besides ``case`` and ``open_cases``), read by
#: name from an InventoryDevice or straight from a row of ``inventory``.
_DEVICE_FIELDS = tuple(
    name for name in InventoryDevice.__dataclass_fields__ if name not in ("case", "open_cases")
)
_JSON_NAMES = {"missed": "missed_scans"}
_TIMES = frozenset({"first_seen", "last_seen"})


def _device_json(source: Any, case: CaseBrief | None, open_cases: int) -> dict[str, Any]:
    """The inventory JSON of a device, from an InventoryDevice or a row of ``inventory``."""
    document: dict[str, Any] = {}
    for name in _DEVICE_FIELDS:
        value = getattr(source, name)
        if name in _TIMES:
            value = _iso(value)
        elif name == "findings":
            value = list(value or ())
        document[_JSON_NAMES.get(name, name)] = value
    document["case"] = case.to_json() if case else None
    document["open_cases"] = open_cases
    return document


def cases_by_device(
    session: Session, device_ids: set[str], count: int
) -> dict[str, list[CaseBrief]]:
    """Every case of the given devices, as briefs (all cases are read when there are many
    devices: one query instead of a huge IN list)."""
    query = select(CaseRow.device_id, CaseRow.id, CaseRow.status, CaseRow.due, CaseRow.subject)
    if count <= 500:
        query = query.where(CaseRow.device_id.in_(device_ids))
    found: dict[str, list[CaseBrief]] = defaultdict(list)
    for device_id, case_id, status, due, subject in session.execute(query):
        if device_id in device_ids:
            found[device_id].append(CaseBrief(case_id, status, due, subject))
    return found


def _shown_case(cases: Sequence[CaseBrief]) -> CaseBrief | None:
    active = [c for c in cases if c.status != "verified"]
    if active:
        return min(active, key=lambda c: (c.subject != RESTRICTED, c.due or "9999", c.id))
    return max(cases, key=lambda c: c.id) if cases else None


def device_view(row: Any, cases: Sequence[CaseBrief]) -> InventoryDevice:
    """An inventory device from its row (ORM object or a row of its columns)."""
    return InventoryDevice(
        device_id=row.device_id,
        site=row.site,
        status=row.status,
        first_seen=_aware(row.first_seen),
        last_seen=_aware(row.last_seen),
        last_scan_id=row.last_scan_id,
        missed=row.missed,
        match_rule=row.match_rule,
        ip=row.ip,
        mac=row.mac,
        hostname=row.hostname,
        manufacturer=row.manufacturer,
        brand=row.brand,
        family=row.family,
        model=row.model,
        firmware=row.firmware,
        serial=row.serial,
        device_type=row.device_type,
        confidence=row.confidence,
        restricted=row.restricted,
        verdict=row.verdict,
        findings=tuple(row.findings or ()),
        case=_shown_case(cases),
        open_cases=sum(c.status != "verified" for c in cases),
    )


def _inventory_query(restricted: bool | None, site: str | None, status: str | None) -> Select[Any]:
    table = InventoryRow.__table__
    query = select(table).order_by(table.c.site, table.c.ip_key, table.c.device_id)
    if restricted is not None:
        query = query.where(table.c.restricted.is_(restricted))
    if site is not None:
        query = query.where(table.c.site == site)
    if status is not None:
        query = query.where(table.c.status == status)
    return query


def inventory_rows(
    session: Session,
    *,
    restricted: bool | None = None,
    site: str | None = None,
    status: str | None = None,
) -> list[InventoryDevice]:
    rows = session.execute(_inventory_query(restricted, site, status)).all()
    cases = cases_by_device(session, {row.device_id for row in rows}, len(rows))
    return [device_view(row, cases.get(row.device_id, ())) for row in rows]


def _raw(session: Session, query: Select[Any]) -> tuple[dict[str, int], list[Any]]:
    """Run ``query`` through the driver without SQLAlchemy's result processing: the values
    come back as the database gives them (SQLite: timestamps and JSON as text, booleans as
    0/1), which :func:`inventory_json` converts itself, several times faster."""
    connection = session.connection()
    compiled = query.compile(dialect=connection.dialect)
    params: Any = compiled.params
    if compiled.positional and compiled.positiontup is not None:
        params = tuple(compiled.params[name] for name in compiled.positiontup)
    result = connection.exec_driver_sql(str(compiled), params)
    return {key: index for index, key in enumerate(result.keys())}, list(result.fetchall())


def _raw_time(value: Any) -> str:
    """ISO 8601 in UTC, as ``datetime.isoformat`` writes it, of a timestamp as the driver
    gave it: SQLite's stored text (UTC, ``2026-01-01 00:05:00.000000``) is rewritten as text,
    a driver's datetime (PostgreSQL) is formatted."""
    if isinstance(value, str) and len(value) == 26 and value[10] == " ":
        text = value[:19] if value.endswith(".000000") else value
        return f"{text[:10]}T{text[11:]}+00:00"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return _iso(moment) or ""


def _raw_json(value: Any, *, embed: bool) -> Any:
    if isinstance(value, (str, bytes)):
        return orjson.Fragment(value) if embed else orjson.loads(value)
    return list(value or ())


def inventory_json(
    session: Session,
    *,
    restricted: bool | None = None,
    site: str | None = None,
    status: str | None = None,
    embed_findings: bool = False,
) -> list[dict[str, Any]]:
    """The inventory JSON of the devices, built straight from the driver's rows (no
    InventoryDevice, no result processing: 100,000 devices in about a second).

    ``embed_findings`` leaves each device's findings as the stored JSON text
    (``orjson.Fragment``), for output written with orjson.
    """
    table = InventoryRow.__table__
    # The JSON fields, in order, under their JSON names: a row zips straight into a document.
    columns = [table.c[name].label(_JSON_NAMES.get(name, name)) for name in _DEVICE_FIELDS]
    query = _inventory_query(restricted, site, status).with_only_columns(*columns)
    position, rows = _raw(session, query)
    names = list(position)
    first, last, findings = position["first_seen"], position["last_seen"], position["findings"]
    ident, flag = position["device_id"], position["restricted"]
    cases = cases_by_device(session, {row[ident] for row in rows}, len(rows))
    documents = []
    for row in rows:
        document = dict(zip(names, row, strict=True))
        document["first_seen"] = _raw_time(row[first])
        document["last_seen"] = _raw_time(row[last])
        document["restricted"] = bool(row[flag])
        document["findings"] = _raw_json(row[findings], embed=embed_findings)
        found = cases.get(row[ident])
        if found:
            shown = _shown_case(found)
            document["case"] = shown.to_json() if shown else None
            document["open_cases"] = sum(c.status != "verified" for c in found)
        else:
            document["case"] = None
            document["open_cases"] = 0
        documents.append(document)
    return documents


def _sqlite_time(column: Any) -> Any:
    """SQL for :func:`_raw_time` on SQLite's stored text (UTC): ISO 8601 as isoformat()
    writes it (no ``.000000``)."""
    whole = case((func.substr(column, 20) == ".000000", func.substr(column, 1, 19)), else_=column)
    return func.replace(whole, " ", "T").op("||")("+00:00")


def inventory_json_fragments(
    session: Session,
    *,
    restricted: bool | None = None,
    site: str | None = None,
    status: str | None = None,
) -> tuple[list[orjson.Fragment], int] | None:
    """On SQLite, the inventory JSON of each device built by SQLite itself (``json_object``),
    as ``orjson.Fragment`` s to write with orjson, and how many are restricted; None on other
    databases (use :func:`inventory_json`). The same documents as :func:`inventory_json`
    (tests compare them), without a Python loop over every field of 100,000 rows."""
    if session.get_bind().dialect.name != "sqlite":
        return None
    table = InventoryRow.__table__
    pairs: list[Any] = []
    for name in _DEVICE_FIELDS:
        column = table.c[name]
        if name in _TIMES:
            value = _sqlite_time(column)
        elif name == "restricted":
            value = func.json(case((column.is_(True), "true"), else_="false"))
        elif name == "findings":
            value = func.json(column)
        else:
            value = column
        pairs += [literal(_JSON_NAMES.get(name, name)), value]
    query = _inventory_query(restricted, site, status).with_only_columns(
        table.c.device_id, table.c.restricted, func.json_object(*pairs)
    )
    rows = session.execute(query).all()
    cases = cases_by_device(session, {row[0] for row in rows}, len(rows))
    fragments = []
    for device_id, _restricted, text in rows:
        found = cases.get(device_id)
        if found:
            shown = _shown_case(found)
            case_text = orjson.dumps(shown.to_json() if shown else None).decode()
            opened = sum(c.status != "verified" for c in found)
            fragments.append(
                orjson.Fragment(f'{text[:-1]},"case":{case_text},"open_cases":{opened}}}')
            )
        else:
            fragments.append(orjson.Fragment(text[:-1] + ',"case":null,"open_cases":0}'))
    return fragments, sum(bool(row[1]) for row in rows)


# --- differences between scans ---------------------------------------------------------


@dataclass(frozen=True)
class ScanDiff:
    old: ScanSummary
    new: ScanSummary
    added: tuple[dict[str, Any], ...]
    removed: tuple[dict[str, Any], ...]
    changed: tuple[dict[str, Any], ...]
    #: Devices of the old scan the new one did not look for (outside its coverage).
    not_covered: tuple[dict[str, Any], ...]
    #: Devices of both scans with values the older read and the newer did not (not changes):
    #: ``{"device_id", "ip", "fields"}``.
    not_read: tuple[dict[str, Any], ...] = ()
    #: The new scan is the first of its scope: no earlier stored scan overlaps it, so it is
    #: compared with nothing (every device added; ``old`` is the new scan itself, never shown:
    #: the JSON's ``old`` is null). See :func:`first_scan_diff`.
    first: bool = False

    @property
    def note(self) -> str | None:
        """What a first scan's comparison means, in one line (None for two scans)."""
        if not self.first:
            return None
        shown = self.new.targets[:3]
        scope = ", ".join(shown) + (
            f" +{len(self.new.targets) - 3}" if self.new.targets[3:] else ""
        )
        where = f"site {self.new.site}: {scope}" if self.new.site else scope
        return (
            f"first scan of this scope ({where or 'no targets'}): nothing earlier to compare; "
            "every device counts as new"
        )

    @property
    def new_restricted(self) -> list[dict[str, Any]]:
        """Restricted devices the new scan found that the old one did not have as such."""
        became = [c for c in self.changed if c["changes"].get("restricted") == [False, True]]
        return [d for d in self.added if d["restricted"]] + [c["device"] for c in became]

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "old": None if self.first else self.old.to_json(),
            "new": self.new.to_json(),
            "added": list(self.added),
            "removed": list(self.removed),
            "changed": [
                {"device_id": c["device_id"], "changes": c["changes"]} for c in self.changed
            ],
            "not_covered": list(self.not_covered),
            "not_read": list(self.not_read),
        }
        if self.first:  # only then: a comparison of two scans keeps its documented keys
            document |= {"first_scan": True, "note": self.note}
        return document


def _overlap(a: ScanSummary, b: ScanSummary) -> bool:
    if a.site != b.site:
        return False
    if a.coverage and b.coverage:
        return any(
            low_a <= high_b and low_b <= high_a
            for low_a, high_a in a.coverage
            for low_b, high_b in b.coverage
        )
    return not a.coverage and not b.coverage and set(a.targets) & set(b.targets) != set()


#: The shortest scan id prefix accepted in place of a whole id (as `provscan scans` shows).
MIN_PREFIX = 6


def find_scan(session: Session, scan_id: str, where: str) -> ScanRow:
    """The scan with this id, or the one scan whose id starts with it (at least
    :data:`MIN_PREFIX` characters, as ``provscan scans`` shows them)."""
    row = session.get(ScanRow, scan_id)
    if row is not None:
        return row
    if len(scan_id) >= MIN_PREFIX:
        escaped = scan_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        matches = list(
            session.scalars(
                select(ScanRow).where(ScanRow.id.like(f"{escaped}%", escape="\\")).limit(2)
            )
        )
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise StoreRequestError(f"scan id {scan_id!r} is ambiguous in {where}: give more of it")
    else:  # too short to be looked up as a prefix: say so, not only that it is no scan's id
        raise StoreRequestError(
            f"no scan {scan_id!r} in {where}: a scan id prefix needs at least {MIN_PREFIX} "
            "characters; `provscan scans` lists them"
        )
    raise StoreRequestError(f"no scan {scan_id!r} in {where}")


def pick_pair(
    session: Session, old_id: str | None, new_id: str | None, where: str
) -> tuple[ScanSummary, ScanSummary]:
    def get(scan_id: str) -> ScanSummary:
        return summary(find_scan(session, scan_id, where))

    if old_id and new_id:
        return get(old_id), get(new_id)
    newest = [
        summary(row)
        for row in session.scalars(select(ScanRow).order_by(ScanRow.started_at.desc(), ScanRow.id))
    ]
    if new_id or old_id:
        anchor = get(new_id or old_id or "")
        others = [s for s in newest if s.id != anchor.id and _overlap(s, anchor)]
        if new_id:
            older = [s for s in others if s.started_at < anchor.started_at]
            if older:
                return older[0], anchor
        else:
            newer = [s for s in others if s.started_at > anchor.started_at]
            if newer:
                return anchor, newer[-1]
        raise StoreRequestError(f"no other stored scan overlaps the scope of scan {anchor.id}")
    for index, new in enumerate(newest):
        for old in newest[index + 1 :]:
            if _overlap(old, new):
                return old, new
    raise StoreRequestError(
        f"{where} has no two scans whose scopes overlap; name them: provscan diff OLD NEW"
    )


def newest_first_scan(session: Session) -> ScanSummary | None:
    """The newest stored scan when no earlier stored scan overlaps its scope (the first scan
    of that scope, which :func:`first_scan_diff` compares with nothing), else None (also for
    a store with no scan). "Earlier" as :func:`pick_pair` orders scans."""
    rows = session.scalars(select(ScanRow).order_by(ScanRow.started_at.desc(), ScanRow.id))
    scans = [summary(row) for row in rows]
    if not scans or any(_overlap(older, scans[0]) for older in scans[1:]):
        return None
    return scans[0]


def first_scan_diff(session: Session, new: ScanSummary) -> ScanDiff:
    """``new`` compared with an empty baseline: every device it saw is added (so a restricted
    one counts as new); nothing removed, changed or outside coverage."""
    after = _sighted(session, new.id)
    added = sorted(
        (_diff_view(device_id, document) for device_id, document in after.items()),
        key=lambda view: address_sort_key(view.get("ip") or ""),
    )
    return ScanDiff(new, new, tuple(added), (), (), (), (), first=True)


def _diff_view(device_id: str, document: dict[str, Any]) -> dict[str, Any]:
    view: dict[str, Any] = {"device_id": device_id}
    view.update({name: document.get(name) for name in DIFF_FIELDS})
    view["verdict"] = document_verdict(document)
    view["findings"] = compact_findings(document)
    return view


def _policies(document: dict[str, Any]) -> list[str]:
    return sorted({f["policy"] for f in document.get("findings", [])})


def _cves(document: dict[str, Any]) -> list[str]:
    return sorted({v["cve"] for v in document.get("vulnerabilities", [])})


def _sighted(session: Session, scan_id: str) -> dict[str, dict[str, Any]]:
    rows = session.execute(
        select(SightingRow.device_id, DeviceRow.document)
        .join(
            DeviceRow,
            (DeviceRow.scan_id == SightingRow.scan_id)
            & (DeviceRow.position == SightingRow.position),
        )
        .where(SightingRow.scan_id == scan_id)
    )
    return {device_id: document for device_id, document in rows}


def diff(session: Session, old: ScanSummary, new: ScanSummary) -> ScanDiff:
    before, after = _sighted(session, old.id), _sighted(session, new.id)
    old_cover = old.coverage if old.complete else ()
    new_cover = new.coverage if new.complete else ()
    added = tuple(_diff_view(d, after[d]) for d in after if d not in before)
    removed: list[dict[str, Any]] = []
    not_covered: list[dict[str, Any]] = []
    for device_id, document in before.items():
        if device_id in after:
            continue
        key = address_key(document["ip"])
        both = covers(old_cover, key) and covers(new_cover, key)
        (removed if both else not_covered).append(_diff_view(device_id, document))
    changed: list[dict[str, Any]] = []
    not_read: list[dict[str, Any]] = []
    for device_id, document in after.items():
        previous = before.get(device_id)
        if previous is None:
            continue
        changes, unread = _changes(previous, document)
        if changes:
            changed.append(
                {
                    "device_id": device_id,
                    "changes": changes,
                    "device": _diff_view(device_id, document),
                }
            )
        if unread:
            not_read.append({"device_id": device_id, "ip": document.get("ip"), "fields": unread})

    def ordered(items: Iterable[dict[str, Any]]) -> tuple[dict[str, Any], ...]:
        return tuple(
            sorted(items, key=lambda d: address_sort_key(d.get("ip") or d["device"]["ip"]))
        )

    return ScanDiff(
        old,
        new,
        ordered(added),
        ordered(removed),
        ordered(changed),
        ordered(not_covered),
        ordered(not_read),
    )


def _changes(
    previous: dict[str, Any], document: dict[str, Any]
) -> tuple[dict[str, list[Any]], list[str]]:
    """What changed from ``previous`` to ``document`` (two sightings of one device), and
    the fields the newer sighting did not read that the older one had: not read is not a
    change. A value the newer lacks (no firmware this time) was not read; the verdict, the
    restriction and the policies of a newer sighting that identified nothing (its verdict
    ``unknown``: a capture of resets) were not read; nor were the CVEs when it read no model
    or no firmware to compare (as a case is verified only by a sighting that read both). A
    value the older lacked and the newer has is a change, as is any value of a sighting that
    identified the device (a rule fix that clears it: ``restricted: [true, false]``)."""
    identified_now = identified(document)
    changes: dict[str, list[Any]] = {}
    unread: list[str] = []
    for name, read in (
        *((name, _field(name)) for name in DIFF_FIELDS),
        ("verdict", document_verdict),
        ("policies", _policies),
        ("vulnerabilities", _cves),
    ):
        old_value, new_value = read(previous), read(document)
        if old_value == new_value:
            continue
        if new_value is None or (
            (name in ("restricted", "verdict", "policies") and not identified_now)
            or (
                name == "vulnerabilities"
                and not (document.get("model") and document.get("firmware"))
                and not new_value
            )
        ):
            unread.append(name)
        else:
            changes[name] = [old_value, new_value]
    return changes, unread


def _field(name: str) -> Any:
    return lambda document: document.get(name)


# --- one stored device ------------------------------------------------------------------


@dataclass(frozen=True)
class SightingSource:
    """One stored sighting of an inventory device: the scan that saw it, when and how."""

    scan_id: str
    #: The device's place in the scan's device list.
    position: int
    started_at: datetime
    #: The scan's kind in the contract: ``active``, ``passive`` (a capture) or ``import``.
    kind: str
    #: What the scan was given: addresses, a capture file, an imported file.
    targets: tuple[str, ...]
    site: str | None

    @property
    def source(self) -> str:
        """How the device was seen, in a few words: ``passive capture resets.pcap``."""
        what = {"active": "active scan", "passive": "passive capture", "import": "import"}
        listed = ", ".join(self.targets[:3]) + (", …" if len(self.targets) > 3 else "")
        return " ".join(part for part in (what.get(self.kind, self.kind), listed) if part)

    def to_json(self) -> dict[str, Any]:
        return {
            "scan_id": self.scan_id,
            "started_at": _iso(self.started_at),
            "kind": self.kind,
            "targets": list(self.targets),
            "site": self.site,
        }


@dataclass(frozen=True)
class VerdictSighting:
    """The sighting an inventory device's verdict comes from, with its full document: the
    newest sighting that identified the device, which gave it its verdict, ``restricted``,
    confidence and findings (docs/inventory.md); the newest sighting when none did."""

    source: SightingSource
    #: Its device document (the contract's ``DeviceEntry`` as stored; {} when it is lost).
    document: dict[str, Any]
    #: The device's newest sighting when it identified nothing and the verdict comes from an
    #: older one (a capture of the device's TCP resets); None: the newest gave the verdict.
    newer: SightingSource | None = None
    #: How many sightings newer than ``source`` identified nothing (0 without ``newer``).
    unidentified: int = 0


def _sighting_source(session: Session, scan_id: str, position: int) -> SightingSource:
    scan = session.execute(
        select(ScanRow.kind, ScanRow.started_at, ScanRow.site, ScanRow.document).where(
            ScanRow.id == scan_id
        )
    ).one()
    targets = scan.document.get("targets") if isinstance(scan.document, dict) else None
    return SightingSource(
        scan_id,
        position,
        _aware(scan.started_at),
        scan.kind,
        tuple(str(target) for target in targets or ()),
        scan.site,
    )


def _document(session: Session, scan_id: str, position: int) -> dict[str, Any]:
    document = session.scalar(
        select(DeviceRow.document).where(
            DeviceRow.scan_id == scan_id, DeviceRow.position == position
        )
    )
    return dict(document or {})


def verdict_sighting(session: Session, row: InventoryRow) -> VerdictSighting:
    """The sighting ``row``'s verdict comes from: its newest sighting when that identified it
    (:func:`~provscan.store.inventory.identified`) or nothing ever did, else the newest one
    that identified it, newest by its scan's start as the inventory orders sightings (as
    migration 0012 finds it). Reads the documents of the device's sightings one at a time,
    newest first, up to that one."""
    newest_key = (row.last_scan_id, row.last_position)
    newest = _document(session, *newest_key)
    if identified(newest) or row.verdict == "unknown":
        return VerdictSighting(_sighting_source(session, *newest_key), newest)
    sightings = session.execute(
        select(SightingRow.scan_id, SightingRow.position)
        .join(ScanRow, ScanRow.id == SightingRow.scan_id)
        .where(SightingRow.device_id == row.device_id)
        .order_by(ScanRow.started_at.desc(), ScanRow.id.desc())
    ).all()
    # every sighting before the one found identified nothing (the newest among them)
    for newer, (scan_id, position) in enumerate(sightings):
        if (scan_id, position) == newest_key:
            continue
        document = _document(session, scan_id, position)
        if identified(document):
            return VerdictSighting(
                _sighting_source(session, scan_id, position),
                document,
                _sighting_source(session, *newest_key),
                max(newer, 1),
            )
    # no stored sighting identified it (its scans were deleted): the newest one, as it is
    return VerdictSighting(_sighting_source(session, *newest_key), newest)


@dataclass(frozen=True)
class Absence:
    """How an inventory device has gone unseen: the stored scans that covered it since it was
    last seen and did not see it."""

    #: Its inventory status: ``present``, ``missing`` or ``gone``.
    status: str
    last_seen: datetime
    #: Those scans, oldest first, as (scan id, started at): complete scans of its site that
    #: covered its address and probed the ports it was last seen on, and saw no device it
    #: may have moved to (the inventory's own rule, store/inventory.py). They go on after it
    #: is ``gone``, when the inventory stops counting them (``missed`` stays where it went).
    scans: tuple[tuple[str, datetime], ...]
    #: The inventory's own count (``missed``).
    missed: int

    @property
    def count(self) -> int:
        """How many covering scans did not see it: those still stored, or the inventory's
        count when scans it counted were deleted since."""
        return max(len(self.scans), self.missed)


def absence(session: Session, row: InventoryRow) -> Absence:
    """The :class:`Absence` of inventory device ``row`` (no scan for a device seen by the
    newest scan that covered it). Reads the scans of its site since it was last seen (their
    sections, not their devices) and, for a restricted device, those scans' devices of its
    maker (whether it may have moved to one)."""
    last_seen = _aware(row.last_seen)
    if row.status == "present":
        return Absence(row.status, last_seen, (), row.missed)
    same_site = ScanRow.site.is_(None) if row.site is None else ScanRow.site == row.site
    key = address_key(row.ip)
    ports: tuple[int, ...] | None = None
    missed: list[tuple[str, datetime]] = []
    for scan in session.scalars(
        select(ScanRow)
        .where(same_site, ScanRow.complete.is_(True), ScanRow.started_at > row.last_seen)
        .order_by(ScanRow.started_at, ScanRow.id)
    ):
        started = _aware(scan.started_at)
        if started <= last_seen or not covers(scan.coverage or [], key):
            continue
        if ports is None:
            ports = last_ports(session, [row]).get(row.device_id, ())
        if unprobed(ports, probed_ports(scan.document)):
            continue  # the scan did not look where the device was
        if row.restricted and moved_to(
            identity_of(row),
            key,
            row.last_seen,
            scan_candidates(session, scan.id, row.manufacturer or ""),
        ):
            continue  # it may have moved to a device the scan saw
        missed.append((scan.id, started))
    return Absence(row.status, last_seen, tuple(missed), row.missed)


@dataclass(frozen=True)
class StoredSighting:
    """One device of a stored scan, read without the rest of the scan: its contract entry
    and its scan's section, as :meth:`~provscan.store.db.Store.load` would give them (a
    document of an earlier schema version upgraded as ``from_contract`` upgrades it)."""

    #: The scan's section (its counts are the whole scan's).
    scan: ScanSection
    #: The first device of the scan at the address (contract order); None: the scan holds
    #: none there.
    device: DeviceEntry | None
    #: The device's place in the scan's device list (None with ``device``).
    position: int | None
    #: The site the scan was stored for.
    site: str | None
    #: The other sites the inventory holds the address at (the newest sighting's excluded).
    other_sites: tuple[str, ...] = ()
    #: The device's newest sighting, when it identified nothing and ``device`` is the older
    #: sighting its verdict comes from (:func:`verdict_sighting`); None: ``device`` is the
    #: newest sighting, or the one of the scan asked for.
    newer: SightingSource | None = None
    #: How many sightings newer than ``device`` identified nothing (0 without ``newer``).
    unidentified: int = 0
    #: How the inventory device of this sighting has gone unseen since (:func:`absence`),
    #: when the inventory marks it missing or gone; None: present, or no inventory device.
    absence: Absence | None = None


def stored_sighting(
    session: Session,
    address: str,
    where: str,
    *,
    scan_id: str | None = None,
    site: str | None = None,
) -> StoredSighting | None:
    """The device at ``address`` (an address as ``str(ip_address(...))`` writes it) as the
    store keeps it: the inventory device newest seen there (of ``site`` when given), by the
    sighting its verdict comes from (:func:`verdict_sighting`: its newest, unless that
    identified nothing), or the one scan ``scan_id`` (an id or a prefix, as
    :func:`find_scan`) stored. Reads the inventory rows of that address, the scan's row and
    the device's rows, never the scan's other devices. None: the inventory holds no device
    at the address (of ``site``)."""
    others: tuple[str, ...] = ()
    verdict: VerdictSighting | None = None
    if scan_id is None:
        table = InventoryRow.__table__
        query = (
            select(table.c.site, table.c.last_seen, table.c.last_scan_id, table.c.device_id)
            .where(table.c.ip_key == address_key(address))
            .order_by(table.c.site, table.c.ip_key, table.c.device_id)
        )
        if site is not None:
            query = query.where(table.c.site == site)
        rows = session.execute(query).all()
        if not rows:
            return None
        # the newest sighting; of equals, the first in inventory order (as max() keeps it)
        newest = max(rows, key=lambda row: _aware(row.last_seen))
        others = tuple(sorted({row.site or "(no site)" for row in rows if row.site != newest.site}))
        device_row = session.get(InventoryRow, newest.device_id)
        if device_row is not None:
            verdict = verdict_sighting(session, device_row)
        if verdict is not None and verdict.newer is not None:
            scan_row = find_scan(session, verdict.source.scan_id, where)
        else:
            scan_row = find_scan(session, newest.last_scan_id, where)
    else:
        scan_row = find_scan(session, scan_id, where)
    position: int | None
    document: dict[str, Any] | None
    if verdict is not None and verdict.newer is not None:
        # the older sighting the device's verdict comes from (at this address or another)
        position, document = verdict.source.position, verdict.document
    else:
        position, document = _device_at(session, scan_row.id, address)
    upgraded = upgrade_document(
        {
            "schema_version": scan_row.schema_version,
            "scan": scan_row.document,
            "devices": [] if document is None else [document],
        }
    )
    if upgraded["schema_version"] != SCHEMA_VERSION:
        raise StoreError(
            f"scan {scan_row.id} in {where} has schema version {scan_row.schema_version}, "
            "which this provscan does not read"
        )
    # validated with the contract's JSON rules (ISO timestamps), as from_contract does
    scan = ScanSection.model_validate_json(orjson.dumps(upgraded["scan"]))
    device = (
        DeviceEntry.model_validate_json(orjson.dumps(upgraded["devices"][0]))
        if document is not None
        else None
    )
    unseen = _absence_of(session, scan_row.id, position) if position is not None else None
    if verdict is None or verdict.newer is None:
        return StoredSighting(scan, device, position, scan_row.site, others, absence=unseen)
    return StoredSighting(
        scan,
        device,
        position,
        scan_row.site,
        others,
        verdict.newer,
        verdict.unidentified,
        absence=unseen,
    )


def _absence_of(session: Session, scan_id: str, position: int) -> Absence | None:
    """The :class:`Absence` of the inventory device sighted at ``position`` of scan
    ``scan_id``, when the inventory marks it missing or gone (None otherwise)."""
    device_id = session.scalar(
        select(SightingRow.device_id).where(
            SightingRow.scan_id == scan_id, SightingRow.position == position
        )
    )
    row = session.get(InventoryRow, device_id) if device_id is not None else None
    if row is None or row.status == "present":
        return None
    return absence(session, row)


def _device_at(
    session: Session, scan_id: str, address: str
) -> tuple[int | None, dict[str, Any] | None]:
    """The position and document of the first device of the scan at ``address``: by the
    indexed address column; an address stored in another notation (a document written by
    hand) by the scan's address column alone, without reading any document."""
    found = session.execute(
        select(DeviceRow.position, DeviceRow.document)
        .where(DeviceRow.scan_id == scan_id, DeviceRow.ip == address)
        .order_by(DeviceRow.position)
        .limit(1)
    ).first()
    if found is not None:
        return found.position, found.document
    wanted = address_key(address)
    addresses = session.execute(
        select(DeviceRow.position, DeviceRow.ip)
        .where(DeviceRow.scan_id == scan_id)
        .order_by(DeviceRow.position)
    )
    match = next(
        (position for position, ip in addresses if address_key(ip.strip()) == wanted), None
    )
    addresses.close()
    if match is None:
        return None, None
    document = session.scalar(
        select(DeviceRow.document).where(DeviceRow.scan_id == scan_id, DeviceRow.position == match)
    )
    return match, document

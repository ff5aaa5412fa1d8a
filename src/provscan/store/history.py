"""The inventory's past, for reports that show it over time (the compliance report's trend
and its count of addresses that did not answer).

The inventory keeps only its present state; its past is in what was stored with each scan:
which inventory device each device of a scan was matched to (``sightings``), the address and
verdict that scan gave it (``devices``), when the scan's changes reached the inventory
(``scan_totals``), and each restricted-maker case's status changes (``case_events``).
:func:`inventory_history` reads them as plain values; the report replays them
(:mod:`provscan.compliance.facts`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from provscan.store.cases import RESTRICTED
from provscan.store.inventory import (
    Identity,
    _aware,
    address_key,
    compact_findings,
    port_list,
    probed_ports,
)
from provscan.store.models import (
    CaseEventRow,
    CaseRow,
    DeviceRow,
    ScanRow,
    ScanTotalsRow,
    SightingRow,
)


@dataclass(frozen=True, slots=True)
class Seen:
    """One device of a stored scan, as that scan saw it."""

    device_id: str
    ip: str
    #: :func:`provscan.store.inventory.address_key` of ``ip``.
    ip_key: str
    restricted: bool
    #: Compact findings (policy, jurisdiction, family, effect, binding); only for restricted
    #: devices and only when asked for.
    findings: tuple[dict[str, Any], ...] = ()
    #: The ports the scan saw open on it; only for restricted devices (None: not read).
    ports: tuple[int, ...] | None = None
    #: Maker, brand, model, MAC and serial as the scan read them
    #: (:data:`provscan.store.inventory.Identity`).
    identity: Identity = (None, None, None, None, None)


@dataclass(frozen=True)
class History:
    #: scan id -> the devices it saw, in contract order (scans in the inventory only).
    seen: dict[str, list[Seen]]
    #: scan id -> when its changes reached the inventory (absent: not recorded).
    stored_at: dict[str, datetime]
    #: device id -> the status changes of its restricted-maker case, oldest first:
    #: ``(when, new status)``.
    restricted_case: dict[str, list[tuple[datetime, str]]]
    #: scan id -> the ports it probed (:func:`provscan.store.inventory.probed_ports`).
    probed: dict[str, frozenset[int]] = field(default_factory=dict)


def now_point_at(
    newest: Sequence[int | None],
    headline: Sequence[int | None],
    changed_at: datetime | None,
    otherwise: datetime,
) -> datetime | None:
    """The rule both trends end on, the compliance report's
    (:func:`provscan.compliance.facts.trend`) and the console's dashboard
    (:func:`provscan.store.pages.trend_points`): a trend's newest point is the inventory as
    that scan left it, so when changes made since (a case verified or reopened on request, a
    due date moved) make the headline's numbers (``headline``) differ from that point's
    (``newest``, the same numbers in the same order), one more point follows with the
    headline's numbers, the *now* point. Its time: ``changed_at``, the last change since the
    newest point that moved them, or ``otherwise`` when none is recorded (a due date passed:
    nothing changed but the day). None: no now point, the newest point is the headline."""
    if tuple(newest) == tuple(headline):
        return None
    return changed_at or otherwise


def _key(ip: str) -> str:
    """:func:`address_key`, without parsing a plain dotted IPv4 address through ipaddress
    (a report reads hundreds of thousands of sightings)."""
    parts = ip.split(".")
    if (
        ip.isascii()
        and len(parts) == 4
        and all(p.isdigit() and len(p) <= 3 and (p == "0" or p[0] != "0") for p in parts)
    ):
        values = [int(p) for p in parts]
        if max(values) <= 255:
            return f"4{(values[0] << 24) | (values[1] << 16) | (values[2] << 8) | values[3]:08x}"
    return address_key(ip)


def inventory_history(session: Session, with_findings: bool = False) -> History:
    """What every inventoried scan saw, when it was stored, and the restricted-maker cases'
    status changes. ``with_findings``: also each restricted sighting's compact findings (a
    report under selected policies needs them)."""
    joined = and_(
        DeviceRow.scan_id == SightingRow.scan_id, DeviceRow.position == SightingRow.position
    )
    base = (
        select(
            SightingRow.scan_id,
            SightingRow.position,
            SightingRow.device_id,
            DeviceRow.ip,
            DeviceRow.restricted,
            DeviceRow.manufacturer,
            DeviceRow.brand,
            DeviceRow.model,
            DeviceRow.mac,
            DeviceRow.serial,
        )
        .join(DeviceRow, joined)
        .join(ScanRow, ScanRow.id == SightingRow.scan_id)
        .where(ScanRow.inventoried.is_(True))
        .order_by(SightingRow.scan_id, SightingRow.position)
    )
    findings: dict[tuple[str, int], tuple[dict[str, Any], ...]] = {}
    if with_findings:
        documents = (
            select(SightingRow.scan_id, SightingRow.position, DeviceRow.document)
            .join(DeviceRow, joined)
            .where(DeviceRow.restricted.is_(True))
        )
        for scan_id, position, document in session.execute(documents):
            findings[(scan_id, position)] = tuple(compact_findings(dict(document or {})))
    # The ports of restricted sightings (the trend asks whether a scan probed where a
    # restricted device was last seen): that one field of their documents, not the documents.
    ports: dict[tuple[str, int], tuple[int, ...] | None] = {}
    opened = (
        select(SightingRow.scan_id, SightingRow.position, DeviceRow.document["open_ports"])
        .join(DeviceRow, joined)
        .where(DeviceRow.restricted.is_(True))
    )
    for scan_id, position, listed in session.execute(opened):
        ports[(scan_id, position)] = port_list(listed)
    # One object per distinct value: a report reads hundreds of thousands of sightings, and
    # makers, models, MACs and serials repeat across them.
    values: dict[str, str] = {}

    def kept(value: str | None) -> str | None:
        return None if value is None else values.setdefault(value, value)

    nothing: Identity = (None, None, None, None, None)
    seen: dict[str, list[Seen]] = {}
    for (
        scan_id,
        position,
        device_id,
        ip,
        restricted,
        maker,
        brand,
        model,
        mac,
        serial,
    ) in session.execute(base):
        identity: Identity = (kept(maker), kept(brand), kept(model), kept(mac), kept(serial))
        seen.setdefault(scan_id, []).append(
            Seen(
                device_id,
                ip,
                _key(ip),
                bool(restricted),
                findings.get((scan_id, position), ()),
                ports.get((scan_id, position)),
                nothing if identity == nothing else identity,
            )
        )
    probed = {
        scan_id: probed_ports({"ports": listed})
        for scan_id, listed in session.execute(
            select(ScanRow.id, ScanRow.document["ports"]).where(ScanRow.inventoried.is_(True))
        )
    }
    stored_at = {
        scan_id: _aware(at)
        for scan_id, at in session.execute(select(ScanTotalsRow.scan_id, ScanTotalsRow.at))
    }
    changes: dict[str, list[tuple[datetime, str]]] = {}
    trail = (
        select(CaseRow.device_id, CaseEventRow.at, CaseEventRow.changes)
        .join(CaseRow, CaseRow.id == CaseEventRow.case_id)
        .where(CaseRow.subject == RESTRICTED)
        .order_by(CaseEventRow.id)
    )
    for device_id, at, changed in session.execute(trail):
        status = (changed or {}).get("status")
        if isinstance(status, list) and len(status) == 2:
            changes.setdefault(device_id, []).append((_aware(at), str(status[1])))
    return History(seen, stored_at, changes, probed)

"""The outbox: events for people and other systems, written with the change that causes them.

An event is appended in the same transaction as the inventory or case change it reports, so
an event exists exactly when its change does: a new restricted device (``device.restricted``),
a case opened, reopened or verified (``case.opened``, ``case.reopened``, ``case.verified``),
a person's change to a case's status, owner or due date, or a note (``case.updated``, with
who changed what in ``change``), and a case past its due date (``case.overdue``, once per
due date). Senders (syslog, file,
webhook) read the events after their sink's cursor and move the cursor only after a receiver
took them, so a receiver that is down loses nothing and each event reaches each sink once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import literal, select
from sqlalchemy.orm import Session

from provscan.store.inventory import _aware, compact_findings
from provscan.store.models import (
    CaseEventRow,
    CaseRow,
    EventRow,
    InventoryRow,
    SinkCursorRow,
)

KINDS = (
    "device.restricted",
    "case.opened",
    "case.reopened",
    "case.overdue",
    "case.verified",
    "case.updated",
)
OVERDUE_ACTION = "overdue"


@dataclass(frozen=True)
class Event:
    id: int
    at: datetime
    kind: str
    device_id: str | None
    case_id: int | None
    scan_id: str | None
    payload: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "kind": self.kind,
            "device_id": self.device_id,
            "case_id": self.case_id,
            "scan_id": self.scan_id,
            **self.payload,
        }


def device_payload(row: InventoryRow, document: dict[str, Any] | None = None) -> dict[str, Any]:
    findings = compact_findings(document) if document is not None else list(row.findings or [])
    return {
        "device_id": row.device_id,
        "site": row.site,
        "ip": row.ip,
        "mac": row.mac,
        "manufacturer": row.manufacturer,
        "brand": row.brand,
        "model": row.model,
        "firmware": row.firmware,
        "restricted": row.restricted,
        "findings": findings,
    }


def case_payload(case: CaseRow) -> dict[str, Any]:
    return {
        "id": case.id,
        "subject": case.subject,
        "reason": case.reason,
        "status": case.status,
        "owner": case.owner,
        "due": case.due,
    }


def entry(
    kind: str,
    when: datetime,
    *,
    device: InventoryRow | None = None,
    case: CaseRow | None = None,
    scan_id: str | None = None,
    change: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``events`` row of an event, as column values (:func:`append` adds it; the many
    events of a scan are written together with one insert). ``change``: a person's change
    to a case (``case.updated``): ``actor``, ``changes`` (field -> [before, after]), ``note``."""
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    payload: dict[str, Any] = {}
    if device is not None:
        payload["device"] = device_payload(device)
    if case is not None:
        payload["case"] = case_payload(case)
    if change is not None:
        payload["change"] = change
    return {
        "at": when,
        "kind": kind,
        "device_id": device.device_id if device is not None else case.device_id if case else None,
        "case_id": case.id if case is not None else None,
        "scan_id": scan_id,
        "payload": payload,
    }


def append(
    session: Session,
    kind: str,
    when: datetime,
    *,
    device: InventoryRow | None = None,
    case: CaseRow | None = None,
    scan_id: str | None = None,
    change: dict[str, Any] | None = None,
) -> None:
    session.add(
        EventRow(**entry(kind, when, device=device, case=case, scan_id=scan_id, change=change))
    )


def record_overdue(session: Session, now: datetime | None = None) -> int:
    """Append ``case.overdue`` for each active case past its due date that has not had one
    for that date, in the order of the cases; the case's trail gets an ``overdue`` entry
    too. Returns how many.

    Every scan saved checks: the cases that need an event are found by one query (a case
    whose trail already notes its due date is left out there), not one query per case."""
    now = now or datetime.now(UTC)
    today = now.date().isoformat()
    noted = (
        select(CaseEventRow.id)
        .where(
            CaseEventRow.case_id == CaseRow.id,
            CaseEventRow.action == OVERDUE_ACTION,
            CaseEventRow.note == literal("due ") + CaseRow.due,
        )
        .exists()
    )
    due = (
        select(CaseRow)
        .where(CaseRow.status != "verified", CaseRow.due.is_not(None), CaseRow.due < today)
        .where(~noted)
        .order_by(CaseRow.id)
    )
    cases = list(session.scalars(due))
    if not cases:
        return 0
    devices = {
        row.device_id: row
        for row in session.scalars(
            select(InventoryRow).where(InventoryRow.device_id.in_({c.device_id for c in cases}))
        )
    }
    for case in cases:
        session.add(
            CaseEventRow(
                case_id=case.id,
                at=now,
                actor="provscan",
                action=OVERDUE_ACTION,
                changes={},
                note=f"due {case.due}",
                scan_id=None,
            )
        )
        append(session, "case.overdue", now, device=devices.get(case.device_id), case=case)
    return len(cases)


def pending(session: Session, sink: str, limit: int = 1000) -> list[Event]:
    """Events after ``sink``'s cursor, oldest first (at most ``limit``)."""
    cursor = session.get(SinkCursorRow, sink)
    after = cursor.last_id if cursor else 0
    rows = session.scalars(
        select(EventRow).where(EventRow.id > after).order_by(EventRow.id).limit(limit)
    )
    return [
        Event(r.id, _aware(r.at), r.kind, r.device_id, r.case_id, r.scan_id, dict(r.payload))
        for r in rows
    ]


def acknowledge(session: Session, sink: str, last_id: int) -> None:
    """Move ``sink``'s cursor to ``last_id`` (never backwards)."""
    cursor = session.get(SinkCursorRow, sink)
    if cursor is None:
        session.add(SinkCursorRow(sink=sink, last_id=last_id))
    elif last_id > cursor.last_id:
        cursor.last_id = last_id

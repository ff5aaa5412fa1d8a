"""Remediation cases as tickets for a service desk: a generic JSON payload per case, and a
CSV for the bulk import most service desks offer (every cell guarded against formulas).

A ticket carries the case, the device, a summary of the evidence, the measure that binds
(with its citation) and the remediation steps, read from the full document of the sighting
the device's verdict comes from (``Store.device_evidence``: the newest that identified it,
as the console's device page and ``GET /api/v1/devices/ID`` show it), and says which one
that is. Pure: values in, text out.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import orjson

from provscan.model import finding_restricts
from provscan.report.files import guard_formula
from provscan.store.cases import Case
from provscan.store.views import InventoryDevice, SightingSource

TICKETS_SCHEMA_VERSION = "1.0"
#: Evidence lines kept per ticket (the strongest first); the scan document has all of them.
MAX_EVIDENCE = 8
#: Service-desk priority from the case: a restricted maker is 2 (plan it), a priority-1
#: posture finding 1 (do first), unless the remediation says otherwise.
DEFAULT_PRIORITY = {"restricted": 2}
CSV_COLUMNS = (
    "ticket_id",
    "title",
    "priority",
    "case_id",
    "case_status",
    "subject",
    "due",
    "overdue",
    "owner",
    "device_id",
    "site",
    "ip",
    "mac",
    "hostname",
    "manufacturer",
    "brand",
    "model",
    "serial",
    "firmware",
    "jurisdiction",
    "measure",
    "citation",
    "remediation",
    "evidence",
    "description",
)


@dataclass(frozen=True)
class TicketSource:
    """One case with its device, as the store gives them."""

    case: Case
    device: InventoryDevice
    #: The full document of the sighting the device's verdict comes from.
    document: dict[str, Any]
    #: That sighting (None: not said).
    sighting: SightingSource | None = None
    #: The device's newest sighting when it identified nothing and ``document`` is an older
    #: one's (a capture of its resets, an asset register's record); None otherwise.
    newer: SightingSource | None = None


def _restricting(finding: dict[str, Any]) -> bool:
    return finding_restricts(finding)


def binding_measure(document: dict[str, Any]) -> dict[str, Any] | None:
    """The measure that makes the device restricted for the user: one that binds them
    (``binding`` true) first, else any restricting one (the user did not say who they are)."""
    restricting = [f for f in document.get("findings", []) if _restricting(f)]
    restricting.sort(key=lambda f: f.get("binding") is not True)
    return restricting[0] if restricting else None


def _subject_items(case: Case, document: dict[str, Any]) -> dict[str, Any]:
    """The vulnerability or exposure a posture case is about, and its remediation steps."""
    kind, _, name = case.subject.partition(":")
    remediation = document.get("remediation", [])
    if kind == "vulnerability":
        found = [v for v in document.get("vulnerabilities", []) if v.get("cve") == name]
        steps = [r for r in remediation if name in r.get("reason", "")] or [
            r for r in remediation if r.get("action") == "patch"
        ]
        return {"vulnerability": found[0] if found else None, "remediation": steps}
    if kind == "exposure":
        found = [e for e in document.get("exposure", []) if e.get("kind") == name]
        steps = [r for r in remediation if r.get("action") in ("reconfigure", "isolate")]
        return {"exposure": found[0] if found else None, "remediation": steps}
    steps = [r for r in remediation if r.get("action") in ("replace", "isolate")]
    return {"remediation": steps or list(remediation)}


def _evidence(document: dict[str, Any]) -> list[dict[str, Any]]:
    entries = sorted(
        (e for e in document.get("evidence", []) if e.get("rule_id")),
        key=lambda e: -float(e.get("certainty", 0.0)),
    )
    return [
        {
            "protocol": e.get("protocol"),
            "port": e.get("port"),
            "field": e.get("field"),
            "observed": e.get("observed"),
            "rule_id": e.get("rule_id"),
            "certainty": e.get("certainty"),
        }
        for e in entries[:MAX_EVIDENCE]
    ]


def _title(case: Case, device: InventoryDevice) -> str:
    maker = device.brand or device.manufacturer or "unknown maker"
    kind = device.device_type or "device"
    where = device.ip + (f" ({device.site})" if device.site else "")
    if case.subject == "restricted":
        return f"Remove restricted {maker} {kind} at {where}"
    _, _, name = case.subject.partition(":")
    return f"Fix {name} on {maker} {kind} at {where}"


def _priority(case: Case, steps: Sequence[dict[str, Any]]) -> int:
    priorities = [int(s["priority"]) for s in steps if isinstance(s.get("priority"), int)]
    if priorities:
        return min(priorities)
    return DEFAULT_PRIORITY.get(case.subject, 1)


def ticket(source: TicketSource) -> dict[str, Any]:
    """The generic JSON ticket of one case."""
    case, device, document = source.case, source.device, source.document
    items = _subject_items(case, document)
    measure = binding_measure(document)
    evidence = _evidence(document)
    steps = items["remediation"]
    description = [case.reason + "."]
    if measure is not None:
        description.append(
            f"Measure: {measure.get('jurisdiction')}: {measure.get('measure')} "
            f"({measure.get('citation')})."
        )
    description.extend(f"{s.get('action')}: {s.get('detail') or s.get('reason')}" for s in steps)
    if source.sighting is not None and source.newer is not None:
        description.append(_evidence_from(source.sighting, source.newer))
    return {
        "ticket_id": f"provscan-case-{case.id}",
        "title": _title(case, device),
        "priority": _priority(case, steps),
        "description": "\n".join(description),
        "case": {
            "id": case.id,
            "subject": case.subject,
            "reason": case.reason,
            "status": case.status,
            "owner": case.owner,
            "due": case.due,
            "overdue": case.overdue,
            "opened_at": case.opened_at.isoformat(),
            "updated_at": case.updated_at.isoformat(),
        },
        "device": {
            "device_id": device.device_id,
            "site": device.site,
            "status": device.status,
            "ip": device.ip,
            "mac": device.mac,
            "hostname": device.hostname,
            "manufacturer": device.manufacturer,
            "brand": device.brand,
            "family": device.family,
            "model": device.model,
            "firmware": device.firmware,
            "serial": device.serial,
            "device_type": device.device_type,
            "confidence": device.confidence,
            "last_seen": device.last_seen.isoformat(),
            "last_scan_id": device.last_scan_id,
            "notes": list(document.get("notes", [])),
        },
        "evidence": evidence,
        # the sighting the evidence, measures and remediation are read from, and the newer
        # one that identified nothing when there is one
        "evidence_from": source.sighting.to_json() if source.sighting is not None else None,
        "newer_sighting": source.newer.to_json() if source.newer is not None else None,
        "binding_measure": measure,
        "measures": [f for f in document.get("findings", []) if _restricting(f)],
        **{k: v for k, v in items.items() if k != "remediation"},
        "remediation": steps,
    }


def _evidence_from(sighting: SightingSource, newer: SightingSource) -> str:
    """Which sighting a ticket's evidence is from, when a newer one identified nothing."""
    first, then = sighting.started_at.astimezone(UTC), newer.started_at.astimezone(UTC)
    return (
        f"Evidence from scan {sighting.scan_id} of {first:%Y-%m-%d %H:%M} UTC "
        f"({sighting.source}), the newest sighting that identified the device; a newer "
        f"sighting identified nothing ({newer.source}, scan {newer.scan_id} of "
        f"{then:%Y-%m-%d %H:%M} UTC): not hearing the maker proves nothing."
    )


def tickets_json(sources: Sequence[TicketSource], generated_at: str) -> str:
    document = {
        "schema_version": TICKETS_SCHEMA_VERSION,
        "generated_at": generated_at,
        "tickets": [ticket(source) for source in sources],
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode("utf-8") + "\n"


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def ticket_row(payload: dict[str, Any]) -> list[str]:
    """One CSV row (columns :data:`CSV_COLUMNS`) of a ticket payload."""
    case, device = payload["case"], payload["device"]
    measure = payload["binding_measure"] or {}
    values: dict[str, object] = {
        "ticket_id": payload["ticket_id"],
        "title": payload["title"],
        "priority": payload["priority"],
        "case_id": case["id"],
        "case_status": case["status"],
        "subject": case["subject"],
        "due": case["due"],
        "overdue": case["overdue"],
        "owner": case["owner"],
        **{
            k: device[k]
            for k in (
                "device_id",
                "site",
                "ip",
                "mac",
                "hostname",
                "manufacturer",
                "brand",
                "model",
                "serial",
                "firmware",
            )
        },
        "jurisdiction": measure.get("jurisdiction"),
        "measure": measure.get("measure"),
        "citation": measure.get("citation"),
        "remediation": " | ".join(
            f"{s.get('action')}: {s.get('detail') or s.get('reason')}"
            for s in payload["remediation"]
        ),
        "evidence": " | ".join(f"{e['field']}={e['observed']}" for e in payload["evidence"]),
        "description": payload["description"],
    }
    return [guard_formula(_text(values[column])) for column in CSV_COLUMNS]


def tickets_csv(sources: Sequence[TicketSource]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for source in sources:
        writer.writerow(ticket_row(ticket(source)))
    return buffer.getvalue()

"""Remediation cases: opened by the scans, moved by people, verified only by a scan.

Every restricted device and every priority-1 posture finding (an actively exploited
vulnerability, a priority-1 exposure) opens one case, once: the case is keyed by device and
*subject* (``restricted``, ``vulnerability:CVE-…``, ``exposure:KIND``) and a later sighting
reopens it rather than opening another. Advice that applies only if a maker the evidence
leaves open made the device (a remediation item's ``condition``, "if made by Hikvision: ...")
opens none: the device's restricted case, or its review, already tracks it.

States: ``open`` → ``planned`` → ``mitigated`` (isolated) → ``removed`` or ``replaced`` →
``verified``. People may move a case to any state but ``verified``, which needs proof from a
scan:

- a restricted-maker case is verified by a complete scan that covered the device's address
  after its last sighting (so it was not there, or another device was), once the case says
  ``removed`` or ``replaced`` — at ingest automatically, or on request when such a scan
  already exists. The scan must also have probed every port the device was last seen on
  (:func:`provscan.store.inventory.unprobed`): one that did not looked elsewhere, and the
  case says so (``scan … did not probe ports 554, 8000``). Nor is it proof when the same
  scan saw, at another address, a device first seen since that nothing tells apart from it
  (:func:`provscan.store.inventory.moved_to`): the case notes it *possibly moved* there, and
  that device's case names this one;
- a posture case is verified by a sighting of the device without that finding (patched,
  reconfigured); for a vulnerability, only by a sighting that read the device's model and
  firmware (one that read neither shows nothing was compared, not that it was patched); for
  an exposure seen on a port, only by a sighting whose scan probed that port (one that
  scanned other ports did not look); for a UPnP port mapping, which is seen on the gateway
  and not on the device, only by a scan that read that gateway's mapping table again.

The facts this needs are the contract's (1.7): an exposure's ``port`` and ``source``, a
device's ``alternatives``. A document that does not carry them (stored before 1.7, or an
older sensor's report upgraded on arrival) is read from posture's words instead, as before.

A device that is seen again reopens its removed, replaced or verified restricted case; a
posture finding that comes back reopens its case. Every change appends to the case's audit
trail (who, when, what, which scan); nothing in the trail is ever changed or deleted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from provscan.errors import StoreRequestError
from provscan.knowledge.exposure import load_exposure_rules
from provscan.model import finding_restricts
from provscan.observations.upnp import MAPPINGS_READ_FIELD
from provscan.report.contract import advice_condition
from provscan.store import events
from provscan.store.inventory import (
    Candidate,
    IngestOutcome,
    _aware,
    address_key,
    covers,
    identity_of,
    last_ports,
    moved_to,
    probed_ports,
    unprobed,
)
from provscan.store.models import (
    CaseEventRow,
    CaseRow,
    DeviceRow,
    EventRow,
    InventoryRow,
    ScanRow,
    SightingRow,
    insert_rows,
)

STATES = ("open", "planned", "mitigated", "removed", "replaced", "verified")
#: States a person may set (``verified`` needs a scan's proof).
SETTABLE = ("open", "planned", "mitigated", "removed", "replaced", "verified")
#: Restricted-maker cases a new sighting reopens.
_REOPEN_WHEN_SEEN = frozenset({"removed", "replaced", "verified"})
RESTRICTED = "restricted"
SCAN_ACTOR = "provscan"
_CVE = re.compile(r"CVE-\d{4}-\d{4,}")
#: Documents without the structured facts (contract 1.6 and earlier): the candidate makers
#: posture names in a restricted device's ``replace`` reason when the evidence allows several
#: (posture.assess._restricted_reason); 1.7 carries them as the device's ``alternatives``.
_EITHER_MAKER = re.compile(r"^maker (?P<makers>.+?) \(the evidence does not say which")
#: Documents without the structured facts: where posture's exposure texts name the port the
#: exposure was seen on ("port 80 serves a login page", "RTSP on port 554", "telnet is open
#: on TCP 23", "... on port 80"); 1.7 carries it as the exposure's ``port``.
_EXPOSURE_PORT = re.compile(r"\b(?:port|TCP) (\d{1,5})\b")
#: Documents without the structured facts: the gateway a UPnP mapping was read from, in the
#: exposure's evidence ("upnp.port_mapping read from 192.168.1.1"); 1.7: its ``source``.
_MAPPING_SOURCE = re.compile(r"^upnp\.port_mapping read from (\S+)$")
#: The exposure whose case only a scan that read the gateway's port mappings can verify.
UPNP_MAPPING = "internet_upnp_mapping"
#: Attempt outcomes that show what is on a port now (a timeout or an error shows nothing).
_ANSWERED = frozenset({"ok", "refused", "closed", "malformed", "truncated"})


@dataclass(frozen=True)
class CaseSettings:
    """Organisation defaults for due dates (days after the case opens)."""

    sla_days_restricted: int = 90
    sla_days_priority1: int = 30


@dataclass(frozen=True)
class CaseEvent:
    at: datetime
    actor: str
    action: str
    changes: dict[str, Any]
    note: str
    scan_id: str | None


@dataclass(frozen=True)
class Case:
    id: int
    device_id: str
    subject: str
    reason: str
    status: str
    owner: str | None
    due: str | None
    opened_at: datetime
    updated_at: datetime
    overdue: bool
    events: tuple[CaseEvent, ...] = field(default=())

    def brief(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "due": self.due}


def subjects(document: dict[str, Any]) -> dict[str, str]:
    """The case subjects a device document calls for, with the reason in words."""
    found: dict[str, str] = {}
    if document.get("restricted"):
        restricting = [f for f in document.get("findings", []) if finding_restricts(f)]
        makers = candidate_makers(document)
        policies = ", ".join(_cited(restricting, several=len(makers) > 1)) or "a measure"
        maker = " or ".join(makers) or "unknown maker"
        found[RESTRICTED] = f"restricted maker {maker} ({policies})"
    exposures = {e.get("detail"): e.get("kind") for e in document.get("exposure", [])}
    for item in document.get("remediation", []):
        if item.get("priority") != 1 or conditional(item):
            # Advice that applies only if a maker the evidence leaves open made the device
            # ("if made by Hikvision: ...") is not the device's own finding: the device's
            # restricted case or its review tracks it, and the report shows the advice there.
            continue
        action, reason = item.get("action"), str(item.get("reason", ""))
        if action in ("patch", "replace") and (cve := _CVE.search(reason)):
            found.setdefault(f"vulnerability:{cve.group(0)}", f"{action}: {reason}")
        elif action == "reconfigure" and exposures.get(reason):
            found.setdefault(f"exposure:{exposures[reason]}", f"reconfigure: {reason}")
    return found


def conditional(item: dict[str, Any]) -> str | None:
    """The condition a remediation item depends on ("made by Hikvision"), None when it is
    the device's own: the item's ``condition`` (contract 1.7); a document without it (stored
    before 1.7, or an older sensor's report upgraded on arrival) is read from posture's words
    ("if made by Hikvision: ...", remediation.yaml ``if_maker_not_established``)."""
    condition = item.get("condition")
    return advice_condition(str(condition) if condition else None, str(item.get("reason", "")))


def _cited(restricting: list[dict[str, Any]], *, several: bool) -> list[str]:
    """The policies a restricted-maker case cites: with several candidate makers, those that
    restrict each candidate's family (whichever made it), when any does; else every one."""
    every = list(dict.fromkeys(f["policy"] for f in restricting))
    by_family: dict[str, set[str]] = {}
    for finding in restricting:
        by_family.setdefault(str(finding.get("family")), set()).add(finding["policy"])
    if not several or len(by_family) < 2:
        return every
    common = [policy for policy in every if all(policy in ids for ids in by_family.values())]
    return common or every


def candidate_makers(document: dict[str, Any]) -> tuple[str, ...]:
    """Every maker the evidence allows for a device document: its manufacturer, then its
    ``alternatives`` when the evidence does not say which ("Hikvision or Dahua"); only the
    manufacturer (or nothing) otherwise. A document without alternatives (stored before
    contract 1.7) is read from the makers posture named in its ``replace`` remediation."""
    maker = document.get("manufacturer")
    if not maker:
        return ()
    alternatives = [
        str(item["maker"])
        for item in document.get("alternatives") or []
        if isinstance(item, dict) and item.get("maker")
    ]
    if alternatives:
        return tuple(dict.fromkeys([maker, *alternatives]))
    for item in document.get("remediation", []):
        if item.get("action") != "replace":
            continue
        match = _EITHER_MAKER.match(str(item.get("reason", "")))
        if match is None:
            continue
        named = [name.strip() for name in match.group("makers").split(" or ") if name.strip()]
        if len(named) > 1 and maker in named:
            return tuple(dict.fromkeys([maker, *named]))
    return (maker,)


def _due(subject: str, document: dict[str, Any], opened: datetime, settings: CaseSettings) -> str:
    # A binding measure's own deadline wins when the knowledge gives one.
    deadlines = sorted(
        str(f["deadline"])
        for f in document.get("findings", [])
        if subject == RESTRICTED and f.get("deadline") and f.get("binding") is not False
    )
    if deadlines:
        return deadlines[0]
    days = settings.sla_days_restricted if subject == RESTRICTED else settings.sla_days_priority1
    return (opened.date() + timedelta(days=days)).isoformat()


def _trail_entry(
    case: CaseRow,
    when: datetime,
    actor: str,
    action: str,
    changes: dict[str, Any],
    note: str = "",
    scan_id: str | None = None,
) -> dict[str, Any]:
    """The ``case_events`` row of a change to ``case``, as column values."""
    return {
        "case_id": case.id,
        "at": when,
        "actor": actor,
        "action": action,
        "changes": changes,
        "note": note,
        "scan_id": scan_id,
    }


def _event(
    session: Session,
    case: CaseRow,
    when: datetime,
    actor: str,
    action: str,
    changes: dict[str, Any],
    note: str = "",
    scan_id: str | None = None,
) -> None:
    session.add(CaseEventRow(**_trail_entry(case, when, actor, action, changes, note, scan_id)))


@dataclass
class _Appended:
    """The trail entries and events a scan appends, in order, written when its changes are
    done with one bulk insert per table (a capture opens thousands of cases at once)."""

    trail: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def write(self, session: Session) -> None:
        insert_rows(session, CaseEventRow, self.trail)
        insert_rows(session, EventRow, self.events)


def after_ingest(
    session: Session,
    scan: ScanRow,
    outcome: IngestOutcome,
    settings: CaseSettings,
    now: datetime | None = None,
) -> None:
    """Open, reopen and verify cases from what a scan saw and did not see.

    The cases a scan opens are written first, together (their ids are in their trail
    entries and events); then every case the scan changes gets its trail entry and event,
    in the order of the scan's devices."""
    now = now or datetime.now(UTC)
    appended = _Appended()
    for device in outcome.newly_restricted:
        appended.events.append(
            events.entry("device.restricted", now, device=device, scan_id=scan.id)
        )
    if outcome.seen or outcome.unseen or outcome.not_probed or outcome.moved:
        _open_reopen_verify(session, scan, outcome, settings, now, appended)
    appended.write(session)


def _open_reopen_verify(
    session: Session,
    scan: ScanRow,
    outcome: IngestOutcome,
    settings: CaseSettings,
    now: datetime,
    appended: _Appended,
) -> None:
    touched = set(outcome.seen) | set(outcome.unseen) | set(outcome.not_probed)
    touched |= set(outcome.moved) | {twin.device_id for twin in outcome.moved.values()}
    existing: dict[str, dict[str, CaseRow]] = {}
    for row in session.scalars(select(CaseRow).where(CaseRow.device_id.in_(touched))):
        existing.setdefault(row.device_id, {})[row.subject] = row
    wanted = {device_id: subjects(document) for device_id, document in outcome.seen.items()}
    opened: dict[tuple[str, str], CaseRow] = {}
    for device_id, document in outcome.seen.items():
        for subject, reason in wanted[device_id].items():
            if subject not in existing.get(device_id, {}):
                opened[device_id, subject] = CaseRow(
                    device_id=device_id,
                    subject=subject,
                    reason=reason,
                    status="open",
                    owner=None,
                    due=_due(subject, document, now, settings),
                    opened_at=now,
                    updated_at=now,
                )
    session.add_all(opened.values())
    session.flush()
    for device_id, document in outcome.seen.items():
        device = outcome.rows[device_id]
        cases = existing.get(device_id, {})
        for subject, reason in wanted[device_id].items():
            case = cases.get(subject)
            if case is None:
                case = opened[device_id, subject]
                changes = {"status": [None, "open"], "due": [None, case.due]}
                note = f"{reason}; seen at {document.get('ip')}"
                appended.trail.append(
                    _trail_entry(case, now, SCAN_ACTOR, "opened", changes, note, scan.id)
                )
                appended.events.append(
                    events.entry("case.opened", now, device=device, case=case, scan_id=scan.id)
                )
            elif (
                (subject == RESTRICTED and case.status in _REOPEN_WHEN_SEEN)
                or (subject != RESTRICTED and case.status == "verified")
            ) and not _seen_before_change(session, scan, case):
                note = f"seen again at {document.get('ip')}"
                _by_scan(appended, case, device, "open", "reopened", note, scan, now)
        for subject, case in cases.items():
            if (
                subject != RESTRICTED
                and subject not in wanted[device_id]
                and case.status != "verified"
                and _finding_could_be_told(subject, document)
                and _exposure_could_be_told(session, scan, case)
            ):
                note = f"the device was seen at {document.get('ip')} without this finding"
                _by_scan(appended, case, device, "verified", "verified", note, scan, now)
    # What the scan saw at each address: a removal is no proof while a device of the same
    # maker answers where the removed one was (another record of the same camera, e.g. one
    # a sensor stored without a serial, matched by serial to a record of another site).
    seen_at: dict[str, list[InventoryRow]] = {}
    for device_id in outcome.seen:
        seen_at.setdefault(outcome.rows[device_id].ip, []).append(outcome.rows[device_id])
    for device_id in outcome.unseen:
        case = existing.get(device_id, {}).get(RESTRICTED)
        if case is not None and case.status in ("removed", "replaced"):
            gone = outcome.rows[device_id]
            there = [other for other in seen_at.get(gone.ip, ()) if _same_maker(gone, other)]
            if there:
                other = there[0]
                note = (
                    f"not verified: scan {scan.id[:12]} saw a {other.manufacturer} device at "
                    f"{gone.ip} (device {other.device_id}), where this one was; it may be the "
                    "same device recorded twice, so this is no proof of removal"
                )
                appended.trail.append(
                    _trail_entry(case, now, SCAN_ACTOR, "note", {}, note, scan.id)
                )
                continue
            note = (
                "a complete scan covering the device's address and the ports it was last "
                "seen on did not see it"
            )
            _by_scan(
                appended, case, outcome.rows[device_id], "verified", "verified", note, scan, now
            )
    for device_id, gap in outcome.not_probed.items():
        case = existing.get(device_id, {}).get(RESTRICTED)
        if case is not None and case.status in ("removed", "replaced"):
            note = f"not verified: {not_probed_reason(scan.id, outcome.rows[device_id].ip, gap)}"
            appended.trail.append(_trail_entry(case, now, SCAN_ACTOR, "note", {}, note, scan.id))
    cases_of = {
        device_id: case
        for device_id, cases in existing.items()
        if (case := cases.get(RESTRICTED)) is not None
    }
    cases_of |= {
        device_id: case for (device_id, subject), case in opened.items() if subject == RESTRICTED
    }
    for device_id, twin in outcome.moved.items():
        _note_move(session, scan, outcome.rows[device_id], twin, cases_of, appended, now)


def _same_maker(device: InventoryRow, other: InventoryRow) -> bool:
    """Whether two records name the same maker (or, without one, the same family)."""
    for mine, theirs in ((device.manufacturer, other.manufacturer), (device.family, other.family)):
        if mine and theirs:
            return mine.casefold() == theirs.casefold()
    return False


def not_probed_reason(scan_id: str, ip: str, gap: tuple[int, ...]) -> str:
    """Why a scan that covered a device's address is no proof it is gone, in words."""
    ports = ", ".join(str(port) for port in gap)
    label = "port" if len(gap) == 1 else "ports"
    return (
        f"scan {scan_id[:12]} covered {ip} but did not probe {label} {ports}, where the "
        f"device was last seen; a scan that probes {'it' if len(gap) == 1 else 'them'} "
        "can show it gone"
    )


def _alike(device: InventoryRow, twin: InventoryRow) -> str:
    """What a device and the one it may have moved to share, and what does not tell them
    apart, in words ("the same maker Hikvision and brand LTS; no MAC or serial")."""
    same = [
        f"{name} {mine}"
        for name, mine, theirs in (
            ("maker", device.manufacturer, twin.manufacturer),
            ("brand", device.brand, twin.brand),
            ("model", device.model, twin.model),
        )
        if mine and theirs and mine.casefold() == theirs.casefold()
    ]
    missing = [
        name
        for name, mine, theirs in (
            ("MAC", device.mac, twin.mac),
            ("serial", device.serial, twin.serial),
        )
        if not (mine and theirs)
    ]
    if not same:
        shared = "nothing that differs"
    elif len(same) == 1:
        shared = f"the same {same[0]}"
    else:
        shared = f"the same {', '.join(same[:-1])} and {same[-1]}"
    return f"{shared}; no {' or '.join(missing)} to tell them apart" if missing else shared


def _note_move(
    session: Session,
    scan: ScanRow,
    device: InventoryRow,
    twin: InventoryRow,
    cases_of: dict[str, CaseRow],
    appended: _Appended,
    now: datetime,
) -> None:
    """Note on the restricted cases of ``device`` (not seen by ``scan``) and ``twin`` (seen
    at another address) that one may be the other, moved: once for each pair of devices."""
    mine, theirs = cases_of.get(device.device_id), cases_of.get(twin.device_id)
    alike = _alike(device, twin)
    if mine is not None and not _noted(session, mine, twin.device_id):
        where = f"device {twin.device_id}" + (f", case #{theirs.id}" if theirs else "")
        moved = (
            f"possibly moved to {twin.ip} ({where}): scan {scan.id[:12]} did not see it at "
            f"{device.ip} and saw at {twin.ip} a device first seen since, with {alike}"
        )
        if mine.status == "verified":
            # its removal was proven before; the device seen elsewhere has its own record
            tracked = f"case #{theirs.id}" if theirs else f"device {twin.device_id}'s record"
            note = (
                f"{moved}; this case stays verified, and if it is the same device, "
                f"{tracked} tracks it"
            )
        else:
            note = (
                f"{moved}; not counted missing, and no proof of removal while a scan sees "
                "that device"
            )
        appended.trail.append(_trail_entry(mine, now, SCAN_ACTOR, "note", {}, note, scan.id))
    if theirs is not None and not _noted(session, theirs, device.device_id):
        where = f"device {device.device_id}" + (f" (case #{mine.id})" if mine else "")
        note = (
            f"possibly {where}, last seen at {device.ip} on "
            f"{_aware(device.last_seen):%Y-%m-%d}, moved here: {alike}"
        )
        appended.trail.append(_trail_entry(theirs, now, SCAN_ACTOR, "note", {}, note, scan.id))


def _noted(session: Session, case: CaseRow, device_id: str) -> bool:
    """Whether a scan already noted on ``case`` a possible move naming ``device_id``."""
    notes = session.scalars(
        select(CaseEventRow.note).where(
            CaseEventRow.case_id == case.id,
            CaseEventRow.actor == SCAN_ACTOR,
            CaseEventRow.action == "note",
        )
    )
    return any(note.startswith("possibly ") and device_id in note for note in notes)


def _finding_could_be_told(subject: str, document: dict[str, Any]) -> bool:
    """Whether a sighting without a posture finding shows the finding gone, not only unread.

    A vulnerability is judged from the device's model and firmware: a sighting that read
    neither (the web interface did not answer, credentials were not given this time) has no
    vulnerability because nothing could be compared, which proves no patch. Such a sighting
    leaves the case as it is; one that read both (the firmware now past the fixed version)
    verifies it. A sighting that still lists the CVE (now only "if made by" a maker the
    evidence leaves open, or with firmware it could not place) shows it not gone either. An
    exposure is observed directly: see :func:`_exposure_could_be_told`."""
    if not subject.startswith("vulnerability:"):
        return True
    cve = subject.removeprefix("vulnerability:")
    if any(v.get("cve") == cve for v in document.get("vulnerabilities") or []):
        return False
    return bool(document.get("model")) and bool(document.get("firmware"))


def _exposure_could_be_told(session: Session, scan: ScanRow, case: CaseRow) -> bool:
    """Whether ``scan``, which saw the case's device without the case's exposure, looked
    where the exposure was: an exposure seen on a port (a login page, RTSP, telnet, a
    factory account) is shown gone only by a scan that probed that port and had an answer
    there (from a probe that observes that kind, when only some do: exposure.yaml
    ``observed_by``), or that swept the port and found it closed. A scan of other ports
    (``--ports 22``), or whose probes there timed out, shows nothing and leaves the case as it
    is. A UPnP port mapping is seen on the gateway, not on the device: only a scan that read
    that gateway's mapping table again shows it gone (:func:`_mappings_read_again`). An
    exposure tied to no port (a public address) is judged from any sighting, as before."""
    kind = case.subject.removeprefix("exposure:")
    if kind == case.subject:
        return True
    seen = _last_seen(session, case, kind)
    if kind == UPNP_MAPPING:
        return _mappings_read_again(session, scan, _sources(seen))
    ports = _ports(seen, case)
    if not ports:
        return True
    document = _scan_document(session, scan.id, case.device_id)
    if document is None:  # pragma: no cover - the sighting was written before the cases
        return False
    probes = load_exposure_rules().observed_by.get(kind)
    for attempt in document.get("attempts") or []:
        if (
            attempt.get("port") in ports
            and attempt.get("status") in _ANSWERED
            and (probes is None or attempt.get("probe") in probes)
        ):
            return True
    # Swept and closed: the service the exposure was on is off. (A closed port has no
    # attempts; the scan's ports say it was looked at.)
    swept = set((scan.document or {}).get("ports") or []) if scan.kind == "active" else set()
    open_now = set(document.get("open_ports") or [])
    return any(port in swept and port not in open_now for port in ports)


def _last_seen(session: Session, case: CaseRow, kind: str) -> list[dict[str, Any]] | None:
    """The case's exposures (of ``kind``) in the device's document in the scan that last
    opened or reopened the case; None when that scan is no longer stored."""
    last = session.scalars(
        select(CaseEventRow.scan_id)
        .where(
            CaseEventRow.case_id == case.id,
            CaseEventRow.action.in_(("opened", "reopened")),
            CaseEventRow.scan_id.is_not(None),
        )
        .order_by(CaseEventRow.at.desc(), CaseEventRow.id.desc())
        .limit(1)
    ).first()
    document = None if last is None else _scan_document(session, last, case.device_id)
    if document is None:
        return None
    return [
        exposure
        for exposure in document.get("exposure") or []
        if isinstance(exposure, dict) and exposure.get("kind") == kind
    ]


def _ports(seen: list[dict[str, Any]] | None, case: CaseRow) -> set[int]:
    """The ports the case's exposure was last seen on: each exposure's ``port``; for one
    without (stored before contract 1.7), the port its words name, as the case's reason does
    when the scan that saw it is no longer stored."""
    ports: set[int] = set()
    texts = [case.reason] if not seen else []
    for exposure in seen or []:
        port = exposure.get("port")
        if isinstance(port, int) and not isinstance(port, bool):
            ports.add(port)
        else:
            texts += [str(exposure.get("detail", "")), str(exposure.get("evidence", ""))]
    ports |= {int(match) for text in texts for match in _EXPOSURE_PORT.findall(text)}
    return {port for port in ports if 1 <= port <= 65535}


def _sources(seen: list[dict[str, Any]] | None) -> set[str]:
    """The gateways the case's UPnP mappings were read from: each exposure's ``source``; for
    one without (stored before contract 1.7), the address its evidence names. Empty when
    none is known (the scan that saw it is no longer stored)."""
    found: set[str] = set()
    for exposure in seen or []:
        source = exposure.get("source")
        if isinstance(source, str) and source:
            found.add(source)
        elif match := _MAPPING_SOURCE.match(str(exposure.get("evidence", ""))):
            found.add(match.group(1))
    return found


def _mappings_read_again(session: Session, scan: ScanRow, gateways: set[str]) -> bool:
    """Whether ``scan`` read the UPnP IGD port mapping table of one of ``gateways`` to its end
    (the gateway's document in that scan has an ``upnp.port_mappings_read`` evidence item:
    discovery asked for every entry and the gateway answered). With no gateway known, any
    gateway whose table the scan read will do. A scan that did not reach the gateway, read
    no table (no discovery, a passive capture) or was cut short reading it shows nothing."""
    if scan.kind != "active":  # only an active scan's discovery asks a gateway
        return False
    query = select(DeviceRow.document).where(DeviceRow.scan_id == scan.id)
    if gateways:
        query = query.where(DeviceRow.ip.in_(sorted(gateways)))
    for document in session.scalars(query):
        evidence = (document or {}).get("evidence") or []
        if any(
            isinstance(item, dict) and item.get("field") == MAPPINGS_READ_FIELD for item in evidence
        ):
            return True
    return False


def _scan_document(session: Session, scan_id: str, device_id: str) -> dict[str, Any] | None:
    """The device's whole document (attempts included) as the scan stored it."""
    found: dict[str, Any] | None = session.scalars(
        select(DeviceRow.document)
        .join(
            SightingRow,
            (SightingRow.scan_id == DeviceRow.scan_id)
            & (SightingRow.position == DeviceRow.position),
        )
        .where(SightingRow.scan_id == scan_id, SightingRow.device_id == device_id)
        .limit(1)
    ).first()
    return found


def _by_scan(
    appended: _Appended,
    case: CaseRow,
    device: InventoryRow,
    status: str,
    action: str,
    note: str,
    scan: ScanRow,
    now: datetime,
) -> None:
    """A change a scan made to a case: its trail entry and its event (``case.<action>``)."""
    changes = {"status": [case.status, status]}
    case.status = status
    case.updated_at = now
    appended.trail.append(_trail_entry(case, now, SCAN_ACTOR, action, changes, note, scan.id))
    appended.events.append(
        events.entry(f"case.{action}", now, device=device, case=case, scan_id=scan.id)
    )


def _seen_before_change(session: Session, scan: ScanRow, case: CaseRow) -> bool:
    """Whether ``scan`` was over before the change that gave ``case`` its status (a person's
    ``removed`` or ``replaced``; a ``verified`` from a scan counts from that scan's start): a
    capture of last month, stored today, shows the device was there then, not that it is
    back, and reopens nothing. A scan still running when the change was made may have seen
    the device after it: it reopens the case, as any newer sighting does."""
    trail = session.execute(
        select(CaseEventRow.at, CaseEventRow.scan_id, CaseEventRow.changes)
        .where(CaseEventRow.case_id == case.id)
        .order_by(CaseEventRow.at.desc(), CaseEventRow.id.desc())
    )
    for at, scan_id, changes in trail:
        if "status" not in (changes or {}):
            continue
        proof = session.get(ScanRow, scan_id) if scan_id else None
        changed = proof.started_at if proof is not None else at
        seen = max(_aware(scan.started_at), _aware(scan.finished_at or scan.started_at))
        return seen < _aware(changed)
    return False


def _device(session: Session, case: CaseRow) -> InventoryRow | None:
    return session.get(InventoryRow, case.device_id)


def proof_scan(session: Session, device: InventoryRow) -> ScanRow | None:
    """A complete scan of the device's site, after its last sighting, that covered its
    address and probed the ports it was last seen on, and saw no device it may have moved to:
    proof it is no longer there."""
    return _proof(session, device)[0]


def _proof(session: Session, device: InventoryRow) -> tuple[ScanRow | None, list[str]]:
    """:func:`proof_scan`, and why each scan that covered the device's address since is
    none (the ports it did not probe, the device it may have moved to), oldest first."""
    same_site = ScanRow.site.is_(None) if device.site is None else ScanRow.site == device.site
    key = address_key(device.ip)
    ports: tuple[int, ...] | None = None
    reasons: list[str] = []
    for scan in session.scalars(
        select(ScanRow)
        .where(same_site, ScanRow.complete.is_(True), ScanRow.started_at > device.last_seen)
        .order_by(ScanRow.started_at)
    ):
        if not (_aware(scan.started_at) > _aware(device.last_seen) and covers(scan.coverage, key)):
            continue
        if ports is None:
            ports = last_ports(session, [device]).get(device.device_id, ())
        gap = unprobed(ports, probed_ports(scan.document))
        if gap:
            reasons.append(not_probed_reason(scan.id, device.ip, gap))
            continue
        twin = (
            moved_to(identity_of(device), key, device.last_seen, scan_candidates(session, scan.id))
            if device.restricted
            else None
        )
        if twin is not None:
            reasons.append(
                f"scan {scan.id[:12]} saw at {_ip_of(session, scan, twin[0])} device {twin[0]}, "
                "first seen since, that nothing tells apart from it: it may have moved there"
            )
            continue
        return scan, reasons
    return None, reasons


def scan_candidates(session: Session, scan_id: str, maker: str | None = None) -> list[Candidate]:
    """The devices scan ``scan_id`` saw (only those of ``maker`` when given: the only ones a
    device of that maker may have moved to), as :func:`provscan.store.inventory.moved_to`
    reads them."""
    if maker is not None and not maker.strip():
        return []
    query = (
        select(
            SightingRow.device_id,
            DeviceRow.ip,
            InventoryRow.first_seen,
            DeviceRow.manufacturer,
            DeviceRow.brand,
            DeviceRow.model,
            DeviceRow.mac,
            DeviceRow.serial,
        )
        .join(
            DeviceRow,
            (DeviceRow.scan_id == SightingRow.scan_id)
            & (DeviceRow.position == SightingRow.position),
        )
        .join(InventoryRow, InventoryRow.device_id == SightingRow.device_id)
        .where(SightingRow.scan_id == scan_id)
        .order_by(SightingRow.position)
    )
    if maker is not None:
        query = query.where(func.lower(func.trim(DeviceRow.manufacturer)) == maker.strip().lower())
    return [
        (device_id, address_key(ip), first_seen, (maker_, brand, model, mac, serial))
        for device_id, ip, first_seen, maker_, brand, model, mac, serial in session.execute(query)
    ]


def _ip_of(session: Session, scan: ScanRow, device_id: str) -> str:
    """The address ``scan`` saw inventory device ``device_id`` at."""
    found = session.scalars(
        select(DeviceRow.ip)
        .join(
            SightingRow,
            (SightingRow.scan_id == DeviceRow.scan_id)
            & (SightingRow.position == DeviceRow.position),
        )
        .where(SightingRow.scan_id == scan.id, SightingRow.device_id == device_id)
        .limit(1)
    ).first()
    return found or "another address"


def update(
    session: Session,
    case_id: int,
    *,
    actor: str,
    status: str | None = None,
    owner: str | None = None,
    due: str | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> None:
    """A person's change to a case; refused (StoreError) when it is not allowed. A due date
    before the day the case was opened is refused whoever asks (:func:`check_due`): the
    command line, the API, the console and any other caller of the store."""
    now = now or datetime.now(UTC)
    case = session.get(CaseRow, case_id)
    if case is None:
        raise StoreRequestError(f"no case {case_id}")
    changes: dict[str, Any] = {}
    proof: str | None = None
    if status is not None and status != case.status:
        if status not in SETTABLE:
            raise StoreRequestError(f"unknown case status {status!r} (one of {', '.join(STATES)})")
        if status == "verified":
            proof = _verification(session, case)
        changes["status"] = [case.status, status]
        case.status = status
    new_owner = owner if owner is None or owner.strip() else None  # "" clears the owner
    if owner is not None and new_owner != case.owner:
        changes["owner"] = [case.owner, new_owner]
        case.owner = new_owner
    new_due = due.strip() or None if due is not None else None  # "" clears the due date
    if due is not None and new_due != case.due:
        if new_due is not None:
            check_due(case, new_due)
        changes["due"] = [case.due, new_due]
        case.due = new_due
    if not changes and not note:
        # say what already is, for a change that asked for it (an owner cleared twice)
        already = [
            f"its {name} is already {value or 'unset'}"
            for name, asked, value in (
                ("status", status, case.status),
                ("owner", owner, case.owner),
                ("due date", due, case.due),
            )
            if asked is not None
        ]
        raise StoreRequestError(
            f"nothing to change in case {case_id}" + (f": {', '.join(already)}" if already else "")
        )
    case.updated_at = now
    action = "verified" if proof else ("updated" if changes else "note")
    _event(session, case, now, actor, action, changes, note or "", proof)
    if proof:
        events.append(
            session,
            "case.verified",
            now,
            device=_device(session, case),
            case=case,
            scan_id=proof,
        )
    else:  # a person's change goes to the sinks too, with who changed what
        events.append(
            session,
            "case.updated",
            now,
            device=_device(session, case),
            case=case,
            change={"actor": actor, "action": action, "changes": changes, "note": note or None},
        )


def check_due(case: CaseRow, due: str) -> date:
    """``due`` as a date: YYYY-MM-DD and not before the day ``case`` was opened (a deadline
    before the case existed is a typo, not a plan); refused with StoreRequestError. A date
    already past but after the opening is accepted: the case is then overdue, which the
    caller may say."""
    try:
        when = date.fromisoformat(due)
    except ValueError:
        raise StoreRequestError(f"due date must be YYYY-MM-DD, not {due!r}") from None
    opened = _aware(case.opened_at).date()
    if when < opened:
        raise StoreRequestError(
            f"due date {due} is before case {case.id} was opened ({opened.isoformat()})"
        )
    return when


@dataclass(frozen=True)
class CaseDevice:
    """What a list of cases shows of each case's device: where it is and who made it."""

    ip: str
    site: str | None
    manufacturer: str | None
    brand: str | None


#: Devices looked up in one query by :func:`case_devices`.
_DEVICES_CHUNK = 500


def case_devices(session: Session, device_ids: set[str]) -> dict[str, CaseDevice]:
    """device id -> address, site, maker and brand of the given inventory devices."""
    table = InventoryRow.__table__
    ordered = sorted(device_ids)
    found: dict[str, CaseDevice] = {}
    for start in range(0, len(ordered), _DEVICES_CHUNK):
        query = select(
            table.c.device_id, table.c.ip, table.c.site, table.c.manufacturer, table.c.brand
        ).where(table.c.device_id.in_(ordered[start : start + _DEVICES_CHUNK]))
        found.update({row[0]: CaseDevice(*row[1:]) for row in session.execute(query)})
    return found


@dataclass(frozen=True)
class ReopenedCase:
    """A case a scan reopened (its device seen again, or its finding back), for the line
    that says so after the scan is stored."""

    id: int
    subject: str
    #: the status the scan reopened it from: removed, replaced or verified
    was: str
    device: CaseDevice


def reopened_by(session: Session, scan_id: str) -> list[ReopenedCase]:
    """The cases the scan ``scan_id`` reopened when it was stored (its trail entries), by
    number: one query."""
    query = (
        select(
            CaseEventRow.case_id,
            CaseEventRow.changes,
            CaseRow.subject,
            InventoryRow.ip,
            InventoryRow.site,
            InventoryRow.manufacturer,
            InventoryRow.brand,
        )
        .join(CaseRow, CaseRow.id == CaseEventRow.case_id)
        .join(InventoryRow, InventoryRow.device_id == CaseRow.device_id)
        .where(CaseEventRow.scan_id == scan_id, CaseEventRow.action == "reopened")
        .order_by(CaseEventRow.case_id, CaseEventRow.id)
    )
    return [
        ReopenedCase(
            case_id,
            subject,
            str(((changes or {}).get("status") or [None])[0]),
            CaseDevice(ip, site, manufacturer, brand),
        )
        for case_id, changes, subject, ip, site, manufacturer, brand in session.execute(query)
    ]


def _verification(session: Session, case: CaseRow) -> str:
    device = session.get(InventoryRow, case.device_id)
    if device is None:  # pragma: no cover - the foreign key keeps it
        raise StoreRequestError(f"case {case.id} has no device")
    if case.subject != RESTRICTED:
        raise StoreRequestError(
            f"case {case.id} is verified by a scan that sees {device.ip} without the finding, "
            "not by hand"
        )
    if case.status not in ("removed", "replaced"):
        raise StoreRequestError(
            f"case {case.id} is {case.status}: mark it removed or replaced before verifying"
        )
    scan, reasons = _proof(session, device)
    if scan is None:
        since = f"{_aware(device.last_seen):%Y-%m-%d %H:%M} UTC"
        if not reasons:
            raise StoreRequestError(
                f"case {case.id} cannot be verified: no complete scan has covered {device.ip} "
                f"since the device was last seen ({since}); scan that address, and the case "
                "is verified if the device is gone"
            )
        raise StoreRequestError(
            f"case {case.id} cannot be verified: no complete scan since the device was last "
            f"seen ({since}) proves it gone: {reasons[-1]}"
            + (
                f"; {len(reasons) - 1} earlier {'scan' if len(reasons) == 2 else 'scans'} "
                "did not either"
                if len(reasons) > 1
                else ""
            )
        )
    return scan.id


def _overdue(row: CaseRow, today: date) -> bool:
    return row.status != "verified" and row.due is not None and row.due < today.isoformat()


def to_case(
    row: CaseRow, events: list[CaseEventRow] | None = None, today: date | None = None
) -> Case:
    return Case(
        id=row.id,
        device_id=row.device_id,
        subject=row.subject,
        reason=row.reason,
        status=row.status,
        owner=row.owner,
        due=row.due,
        opened_at=_aware(row.opened_at),
        updated_at=_aware(row.updated_at),
        overdue=_overdue(row, today or datetime.now(UTC).date()),
        events=tuple(
            CaseEvent(_aware(e.at), e.actor, e.action, dict(e.changes), e.note, e.scan_id)
            for e in events or []
        ),
    )

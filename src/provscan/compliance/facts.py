"""The facts a compliance report states, gathered from the store in one pass.

Everything here is plain data (no markup): :mod:`provscan.compliance.report` renders it as
HTML, PDF, XLSX or Markdown, so every format says the same numbers. The definitions the
numbers follow are in docs/reports.md:

- a device is *restricted* when the scan judged it so (with ``policies``: when one of its
  findings comes from a selected policy and is not known to be non-binding), for the party
  the scan was judged for (its ``acting_as``: ``--as`` at scan time, by default a national
  government body; :attr:`ReportFacts.judged_for`);
- a restricted device *remains* until it is gone from the inventory or its restricted-maker
  case is verified (a later covering scan proved it absent);
- a device is *priority 1* when it has an active case for a priority-1 posture finding
  (an actively exploited vulnerability, a priority-1 exposure);
- the trend point after each scan is the restricted count of the newest scan of each scope
  (site and targets) so far, summed over the scopes.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from provscan import __version__
from provscan.errors import InputError, KnowledgeError, StoreError
from provscan.knowledge.policies import NON_RESTRICTING_EFFECTS
from provscan.model import address_sort_key
from provscan.policy.evaluate import DEFAULT_PARTY, describe_parties
from provscan.report.contract import ScanSection
from provscan.store.cases import RESTRICTED, Case
from provscan.store.db import Store
from provscan.store.views import InventoryDevice, ScanSummary

#: Per-device pages in the HTML and PDF (the rest are counted and listed in the XLSX).
DEFAULT_DEVICE_PAGES = 100
#: Rows of the priority list in the HTML and PDF (the XLSX has them all).
DEFAULT_PRIORITY_ROWS = 500
#: Scans listed in the methodology of the HTML and PDF, newest first (the XLSX has them all).
DEFAULT_SCAN_ROWS = 100
#: Unknown-maker devices listed by address in the methodology.
UNKNOWN_LISTED = 50
#: Longest observed text shown on a device page (evidence can be a whole web page).
OBSERVED_SHOWN = 300


class ReportScopeError(InputError):
    """The report was asked for something the store does not hold (exit 2)."""


@dataclass(frozen=True)
class TrendPoint:
    scan_id: str
    started_at: datetime
    site: str | None
    #: Restricted devices that scan found.
    scan_restricted: int
    scan_devices: int
    #: The restricted count of the newest scan of every scope (site and targets) so far,
    #: summed.
    estate_restricted: int


@dataclass(frozen=True)
class PriorityRow:
    #: 1: a priority-1 posture finding; 2: a restricted maker (the posture priorities).
    priority: int
    device_id: str
    ip: str
    site: str | None
    device: str
    reason: str
    case_id: int | None
    case_status: str | None
    owner: str | None
    due: str | None
    overdue: bool


@dataclass(frozen=True)
class DevicePage:
    device: InventoryDevice
    #: The contract document of the device (newest sighting, or the reported scan's).
    document: dict[str, Any]
    cases: tuple[Case, ...]
    why: str


def judged_for_text(acting_as: Sequence[str]) -> str:
    """Whom a stored scan's verdicts were judged for, in words: its ``acting_as`` (``--as``
    at scan time), empty for the default reading."""
    return describe_parties(acting_as) if acting_as else f"{DEFAULT_PARTY} (default)"


@dataclass(frozen=True)
class ScanLine:
    summary: ScanSummary
    hosts_scanned: int | None
    hosts_responding: int | None
    notes: tuple[str, ...]
    #: Whom the scan judged its verdicts for (``--as`` at scan time; empty: the default).
    acting_as: tuple[str, ...] = ()

    @property
    def judged_for(self) -> str:
        return judged_for_text(self.acting_as)

    @property
    def silent_hosts(self) -> int | None:
        if self.hosts_scanned is None or self.hosts_responding is None:
            return None
        return max(self.hosts_scanned - self.hosts_responding, 0)


@dataclass(frozen=True)
class Knowledge:
    version: str
    as_of: str | None
    source: str
    tool_version: str
    policies: tuple[tuple[str, str, str], ...]  # (id, jurisdiction, name)


@dataclass(frozen=True)
class ReportFacts:
    title: str
    organisation: str | None
    generated_at: datetime
    #: "inventory" or "scan"
    scope: str
    scan_id: str | None
    site: str | None
    policy_ids: tuple[str, ...]
    as_of: datetime | None
    devices_total: int
    restricted_total: int
    remaining: int
    by_jurisdiction: tuple[tuple[str, int], ...]
    by_site: tuple[tuple[str, int], ...]
    by_maker: tuple[tuple[str, int], ...]
    trend: tuple[TrendPoint, ...]
    cases: tuple[Case, ...]
    cases_open: int
    cases_overdue: int
    cases_by_status: tuple[tuple[str, int], ...]
    priority: tuple[PriorityRow, ...]
    pages: tuple[DevicePage, ...]
    pages_left_out: int
    #: Every device in scope as its inventory JSON document (docs/inventory.md).
    devices: tuple[dict[str, Any], ...]
    scans: tuple[ScanLine, ...]
    unknown_maker: tuple[dict[str, Any], ...]
    knowledge: Knowledge

    @property
    def incomplete_scans(self) -> list[ScanLine]:
        return [line for line in self.scans if not line.summary.complete]

    @property
    def silent_hosts(self) -> int:
        return sum(line.silent_hosts or 0 for line in self.scans)

    @property
    def priority_one(self) -> int:
        return len({row.device_id for row in self.priority if row.priority == 1})

    @property
    def judged_for(self) -> tuple[tuple[str, int], ...]:
        """Whom the verdicts of the scans in scope were judged for, each with its number of
        scans, most scans first (one entry unless the scans were judged for different
        parties)."""
        counts = Counter(line.judged_for for line in self.scans)
        return tuple(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    @property
    def judged_for_sentence(self) -> str:
        """``"ca:federal-institution"``, or every party with its scans when they differ."""
        parties = self.judged_for
        if not parties:
            return "no scans stored"
        if len(parties) == 1:
            return parties[0][0]
        return "different parties: " + "; ".join(
            f"{party} ({count} scan{'s' if count != 1 else ''})" for party, count in parties
        )

    @property
    def remaining_sentence(self) -> str:
        when = (self.as_of or self.generated_at).astimezone(UTC).date().isoformat()
        noun = "device remains" if self.remaining == 1 else "devices remain"
        return f"As of {when}, {self.remaining} restricted {noun}."


def device_label(device: InventoryDevice | dict[str, Any]) -> str:
    """``Maker (Brand) Model`` of an inventory device or its document."""
    values = device.to_json() if isinstance(device, InventoryDevice) else device
    manufacturer, brand, model = (
        values.get("manufacturer"),
        values.get("brand"),
        values.get("model"),
    )
    maker = manufacturer or "unknown maker"
    if brand and brand != manufacturer:
        maker = f"{maker} ({brand})"
    return f"{maker} {model}" if model else maker


def restricting(finding: dict[str, Any], policies: frozenset[str] | None = None) -> bool:
    """Whether a finding restricts (not context or advisory, not known to be non-binding),
    under the selected policies when there is a selection. Scans stored as contract 1.2 say
    ``effect: restricts``."""
    return (
        finding.get("effect") not in NON_RESTRICTING_EFFECTS
        and finding.get("binding") is not False
        and (policies is None or finding.get("policy") in policies)
    )


def _restricted_under(device: dict[str, Any], policies: frozenset[str] | None) -> bool:
    if not device["restricted"]:
        return False
    return policies is None or any(restricting(f, policies) for f in device["findings"])


def _jurisdictions(device: dict[str, Any], policies: frozenset[str] | None) -> set[str]:
    found = {
        str(f.get("jurisdiction") or f.get("policy"))
        for f in device["findings"]
        if restricting(f, policies)
    }
    return found or {"(jurisdiction not recorded)"}


def _ranked(counter: Counter[str]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(counter.items(), key=lambda item: (-item[1], item[0])))


def scope_key(scan: ScanSummary) -> tuple[str | None, tuple[str, ...]]:
    """What a scan looked at: its site and targets (a later scan of the same scope replaces
    it in the trend)."""
    return scan.site, tuple(sorted(scan.targets))


def trend(scans: Iterable[ScanSummary]) -> tuple[TrendPoint, ...]:
    """The restricted devices after each scan, oldest first (see the module docstring)."""
    newest_by_scope: dict[tuple[str | None, tuple[str, ...]], int] = {}
    points = []
    for scan in sorted(scans, key=lambda s: (s.started_at, s.id)):
        newest_by_scope[scope_key(scan)] = scan.restricted
        points.append(
            TrendPoint(
                scan.id,
                scan.started_at,
                scan.site,
                scan.restricted,
                scan.devices,
                sum(newest_by_scope.values()),
            )
        )
    return tuple(points)


def _knowledge(chosen: Sequence[str], seen: Iterable[str]) -> Knowledge:
    """The knowledge in use and the policies the report applies: those chosen, else the
    ones the scans applied (ids the knowledge no longer has are left out)."""
    from provscan.knowledge.loader import load_knowledge

    try:
        from provscan.knowledge.packs import active_pack

        pack = active_pack()
        version, as_of, source = pack.version, pack.as_of, f"{pack.source} knowledge"
    except (ImportError, KnowledgeError):
        version, as_of, source = __version__, None, "bundled knowledge"
    known = load_knowledge().policies
    try:
        selected = load_knowledge().select_policies(list(chosen) or None)
    except KnowledgeError as exc:
        raise ReportScopeError(str(exc)) from exc
    wanted = set(chosen) or {p for p in seen if p in known}
    policies = tuple(
        (p.id, p.jurisdiction, p.name) for p in selected if not wanted or p.id in wanted
    )
    return Knowledge(version, as_of, source, __version__, policies)


#: Device values a scan report takes from the reported scan rather than the inventory.
_SCAN_VALUES = (
    "ip",
    "mac",
    "hostname",
    "manufacturer",
    "brand",
    "family",
    "model",
    "firmware",
    "serial",
    "device_type",
    "restricted",
    "findings",
)


def _scan_devices(store: Store, scan_id: str) -> dict[str, dict[str, Any]]:
    """device_id -> the scan's contract document of that device, for one stored scan."""
    document = store.load(scan_id)
    sightings = store.sightings(scan_id)
    found = {}
    for position, entry in enumerate(document.devices):
        device_id = sightings.get(position, (None, ""))[0]
        if device_id is not None:  # None: not yet inventoried (an interrupted save)
            found[device_id] = entry.model_dump(mode="json")
    return found


def _scan_lines(store: Store, summaries: Sequence[ScanSummary]) -> tuple[ScanLine, ...]:
    sections: dict[str, ScanSection] = {s.id: s for s in store.list_scans(None)}
    lines = []
    for summary in summaries:
        section = sections.get(summary.id)
        lines.append(
            ScanLine(
                summary,
                section.hosts_scanned if section else None,
                section.hosts_responding if section else None,
                tuple(section.notes) if section else (),
                tuple(section.acting_as) if section else (),
            )
        )
    return tuple(lines)


def gather(
    store: Store,
    *,
    scan_id: str | None = None,
    site: str | None = None,
    policies: Sequence[str] | None = None,
    title: str | None = None,
    organisation: str | None = None,
    max_device_pages: int = DEFAULT_DEVICE_PAGES,
    now: datetime | None = None,
) -> ReportFacts:
    """Everything a report says, for the whole inventory or one stored scan."""
    selected = frozenset(policies) if policies else None
    all_scans = store.scans(None)
    documents: dict[str, dict[str, Any]] = {}
    if scan_id is not None:
        try:
            reported = store.scan_summary(scan_id)
        except StoreError as exc:
            raise ReportScopeError(str(exc)) from exc
        documents = _scan_devices(store, reported.id)  # the id itself, not the prefix given
        devices = [
            device | {name: documents[device["device_id"]].get(name) for name in _SCAN_VALUES}
            for device in store.inventory_documents()
            if device["device_id"] in documents
        ]
        scope_scans = [reported]
        history = [
            s for s in all_scans if s.site == reported.site and s.started_at <= reported.started_at
        ]
        as_of: datetime | None = reported.started_at
    else:
        devices = store.inventory_documents(site=site)
        scope_scans = [s for s in all_scans if site is None or s.site == site]
        history = scope_scans
        as_of = max((s.started_at for s in scope_scans), default=None)
    in_scope = {device["device_id"] for device in devices}
    cases = [case for case in store.cases() if case.device_id in in_scope]
    restricted_case: dict[str, Case] = {}
    posture_cases: dict[str, list[Case]] = {}
    for case in cases:
        if case.subject == RESTRICTED:
            restricted_case[case.device_id] = case  # cases come by id: the newest wins
        elif case.status != "verified":
            posture_cases.setdefault(case.device_id, []).append(case)

    # One pass over the devices: every count and who gets a priority row and a page.
    by_jurisdiction: Counter[str] = Counter()
    by_site: Counter[str] = Counter()
    by_maker: Counter[str] = Counter()
    restricted_total = remaining = 0
    unknown: list[dict[str, Any]] = []
    rows: list[PriorityRow] = []
    flagged: list[tuple[str, str]] = []
    for device in devices:
        device_id = device["device_id"]
        if not device["manufacturer"]:
            unknown.append(device)
        restricted = _restricted_under(device, selected)
        tracking = restricted_case.get(device_id)
        remains = (
            restricted
            and (scan_id is not None or device["status"] != "gone")
            and (scan_id is not None or tracking is None or tracking.status != "verified")
        )
        restricted_total += restricted
        why: list[str] = []
        label = device_label(device)
        if remains:
            remaining += 1
            for jurisdiction in _jurisdictions(device, selected):
                by_jurisdiction[jurisdiction] += 1
            by_site[device["site"] or "(no site)"] += 1
            by_maker[device["manufacturer"] or "unknown maker"] += 1
            rows.append(_row(2, device, label, _restricted_reason(device, selected), tracking))
            why.append("restricted maker")
        for posture in posture_cases.get(device_id, ()):
            rows.append(_row(1, device, label, posture.reason, posture))
        if device_id in posture_cases:
            why.append("priority-1 posture finding")
        if why:
            flagged.append((device_id, " and ".join(why)))

    rows.sort(
        key=lambda r: (r.priority, r.due or "9999-12-31", address_sort_key(r.ip), r.device_id)
    )
    order = {row.device_id: index for index, row in reversed(list(enumerate(rows)))}
    flagged.sort(key=lambda item: order.get(item[0], len(order)))
    pages = []
    for device_id, reasons in flagged[:max_device_pages]:
        known, newest, device_cases = store.device(device_id)
        document = documents.get(device_id, newest)
        if device_id in documents:  # a scan report shows the device as that scan saw it
            known = dataclasses.replace(
                known,
                ip=str(document["ip"]),
                mac=document.get("mac"),
                hostname=document.get("hostname"),
                manufacturer=document.get("manufacturer"),
                brand=document.get("brand"),
                family=document.get("family"),
                model=document.get("model"),
                firmware=document.get("firmware"),
                serial=document.get("serial"),
                device_type=document.get("device_type"),
                restricted=bool(document.get("restricted")),
                findings=tuple(document.get("findings", [])),
            )
        pages.append(DevicePage(known, document, tuple(device_cases), reasons))
    active = [case for case in cases if case.status != "verified"]
    policy_ids = tuple(policies) if policies else ()
    return ReportFacts(
        title=title or "Restricted-vendor equipment: compliance report",
        organisation=organisation,
        generated_at=now or datetime.now(UTC),
        scope="scan" if scan_id else "inventory",
        scan_id=scan_id,
        site=site,
        policy_ids=policy_ids,
        as_of=as_of,
        devices_total=len(devices),
        restricted_total=restricted_total,
        remaining=remaining,
        by_jurisdiction=_ranked(by_jurisdiction),
        by_site=_ranked(by_site),
        by_maker=_ranked(by_maker),
        trend=trend(history),
        cases=tuple(cases),
        cases_open=len(active),
        cases_overdue=sum(case.overdue for case in cases),
        cases_by_status=tuple(Counter(case.status for case in cases).items()),
        priority=tuple(rows),
        pages=tuple(pages),
        pages_left_out=max(len(flagged) - max_device_pages, 0),
        devices=tuple(devices),
        scans=_scan_lines(store, scope_scans),
        unknown_maker=tuple(unknown),
        knowledge=_knowledge(policy_ids, {p for scan in scope_scans for p in scan.policies}),
    )


def _restricted_reason(device: dict[str, Any], policies: frozenset[str] | None) -> str:
    names = dict.fromkeys(
        str(f.get("policy")) for f in device["findings"] if restricting(f, policies)
    )
    return f"restricted maker ({', '.join(names)})" if names else "restricted maker"


def _row(
    priority: int, device: dict[str, Any], label: str, reason: str, case: Case | None
) -> PriorityRow:
    return PriorityRow(
        priority=priority,
        device_id=device["device_id"],
        ip=device["ip"],
        site=device["site"],
        device=label,
        reason=reason,
        case_id=case.id if case else None,
        case_status=case.status if case else None,
        owner=case.owner if case else None,
        due=case.due if case else None,
        overdue=case.overdue if case else False,
    )

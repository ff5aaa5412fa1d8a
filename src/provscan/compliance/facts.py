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
- the trend point after each scan is the number of restricted devices that remained in the
  inventory once that scan was stored: the inventory's history replayed scan by scan
  (:func:`trend`), so each device counts once however many scans saw it, and the newest point
  is the headline's number;
- an address *did not answer* when, at its site, the newest scan that set out to probe it
  heard nothing from it (:func:`silent_addresses`): each address counts once.
"""

from __future__ import annotations

import dataclasses
from bisect import bisect_left, bisect_right
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
from provscan.store.history import History, Seen
from provscan.store.inventory import DEFAULT_GONE_AFTER
from provscan.store.remaining import GONE, VERIFIED, remains
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
    #: Restricted devices remaining in the inventory (in the report's scope) once that scan
    #: was stored: each device once, as the headline counts them.
    inventory_restricted: int


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
    #: Addresses that did not answer the newest scan (in scope) that probed them, each once.
    silent_hosts: int = 0

    @property
    def incomplete_scans(self) -> list[ScanLine]:
        return [line for line in self.scans if not line.summary.complete]

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


def _restricted_seen(seen: Seen, policies: frozenset[str] | None) -> bool:
    if not seen.restricted:
        return False
    return policies is None or any(restricting(f, policies) for f in seen.findings)


@dataclass
class _Known:
    """One inventory device as the replay has it so far."""

    site: str | None
    ip_key: str
    last_seen: datetime
    restricted: bool
    missed: int = 0
    gone: bool = False
    verified: bool = False

    @property
    def remaining(self) -> bool:
        return remains(
            self.restricted, GONE if self.gone else None, VERIFIED if self.verified else None
        )


def trend(
    scans: Iterable[ScanSummary],
    history: History,
    *,
    shown: Iterable[str],
    site: str | None = None,
    every_site: bool = True,
    policies: frozenset[str] | None = None,
    gone_after: int = DEFAULT_GONE_AFTER,
) -> tuple[TrendPoint, ...]:
    """The restricted devices remaining in the inventory after each scan in ``shown``, oldest
    first: every stored scan replayed in the order it ran, as the store's ingest applied it
    (store/inventory.py: the newest sighting sets a device's verdict, site and address; a
    complete scan covering its address that misses it counts towards ``gone``), with the
    restricted-maker cases' status changes up to the time each scan was stored. A device
    counts once, at its site (only ``site`` unless ``every_site``), when it is restricted
    (under ``policies``), not gone and its case not verified: the headline's definition."""
    ordered = sorted(scans, key=lambda s: (s.started_at, s.id))
    wanted = set(shown)
    # Where restricted devices were ever seen, per site, sorted: a covering scan looks up
    # the addresses in its ranges instead of every device.
    places: dict[str | None, set[str]] = {}
    for scan in ordered:
        for seen in history.seen.get(scan.id, ()):
            if seen.restricted:
                places.setdefault(scan.site, set()).add(seen.ip_key)
    addresses = {where: sorted(keys) for where, keys in places.items()}
    case_changes = sorted(
        (at, device_id, status)
        for device_id, changes in history.restricted_case.items()
        for at, status in changes
    )
    known: dict[str, _Known] = {}
    at_address: dict[tuple[str | None, str], set[str]] = {}
    count = 0

    def counted(device: _Known | None) -> bool:
        return device is not None and device.remaining and (every_site or device.site == site)

    def place(device_id: str, device: _Known, add: bool) -> None:
        key = (device.site, device.ip_key)
        if add and device.restricted and not device.gone:
            at_address.setdefault(key, set()).add(device_id)
        elif key in at_address:
            at_address[key].discard(device_id)

    next_change = 0
    clock: datetime | None = None
    points = []
    for scan in ordered:
        stored = history.stored_at.get(scan.id) or scan.finished_at or scan.started_at
        clock = stored if clock is None else max(clock, stored)
        while next_change < len(case_changes) and case_changes[next_change][0] <= clock:
            _, device_id, status = case_changes[next_change]
            next_change += 1
            device = known.get(device_id)
            if device is not None:
                count -= counted(device)
                device.verified = status == "verified"
                count += counted(device)
        seen_now = set()
        for seen in history.seen.get(scan.id, ()):
            seen_now.add(seen.device_id)
            device = known.get(seen.device_id)
            if device is not None and device.last_seen > scan.started_at:
                continue  # an older scan stored late: the newer sighting stands
            restricted = _restricted_seen(seen, policies)
            if device is None:
                device = known[seen.device_id] = _Known(
                    scan.site, seen.ip_key, scan.started_at, restricted
                )
                count += counted(device)
            else:
                count -= counted(device)
                place(seen.device_id, device, add=False)
                device.site, device.ip_key = scan.site, seen.ip_key
                device.last_seen, device.restricted = scan.started_at, restricted
                device.missed, device.gone = 0, False
                count += counted(device)
            place(seen.device_id, device, add=True)
        if scan.covering:
            keys = addresses.get(scan.site, [])
            for low, high in scan.coverage:
                for key in keys[bisect_left(keys, low) : bisect_right(keys, high)]:
                    for device_id in list(at_address.get((scan.site, key), ())):
                        device = known[device_id]
                        if device_id in seen_now or device.last_seen >= scan.started_at:
                            continue
                        device.missed += 1
                        if device.missed >= gone_after:
                            count -= counted(device)
                            device.gone = True
                            place(device_id, device, add=False)
        if scan.id in wanted:
            points.append(
                TrendPoint(
                    scan.id, scan.started_at, scan.site, scan.restricted, scan.devices, count
                )
            )
    return tuple(points)


def _line(key: str) -> int:
    """An address key (``4``/``6`` + hex) as one integer; IPv6 after every IPv4 address."""
    return int(key[1:], 16) + (1 << 130 if key[0] == "6" else 0)


def _merged(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for low, high in sorted(spans):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def _less(
    spans: Iterable[tuple[int, int]], taken: Sequence[tuple[int, int]]
) -> list[tuple[int, int]]:
    """``spans`` without the addresses of ``taken`` (merged, sorted)."""
    left = []
    for low, high in spans:
        for first, last in taken:
            if last < low or first > high:
                continue
            if first > low:
                left.append((low, first - 1))
            low = last + 1
            if low > high:
                break
        if low <= high:
            left.append((low, high))
    return left


def silent_addresses(lines: Sequence[ScanLine], history: History) -> int:
    """Scanned addresses that did not answer, each once: at each site, an address counts
    when the newest scan in ``lines`` that set out to probe it heard nothing from it. A scan
    counts at most its own silent hosts (an interrupted scan probed less than it set out
    to); a scan whose targets were names (no address ranges) counts when it is the newest of
    its site and targets."""
    taken: dict[str | None, list[tuple[int, int]]] = {}
    scopes: set[tuple[str | None, tuple[str, ...]]] = set()
    total = 0
    for line in sorted(lines, key=lambda x: (x.summary.started_at, x.summary.id), reverse=True):
        scan = line.summary
        silent = line.silent_hosts or 0
        if not scan.coverage:
            scope = (scan.site, tuple(sorted(scan.targets)))
            if scope not in scopes:
                total += silent
            scopes.add(scope)
            continue
        spans = [(_line(low), _line(high)) for low, high in scan.coverage]
        before = taken.get(scan.site, [])
        if silent:
            fresh = _merged(_less(spans, before))
            size = sum(high - low + 1 for low, high in fresh)
            heard = sum(
                1
                for seen in {s.ip_key for s in history.seen.get(scan.id, ())}
                if seen[:1] in ("4", "6") and any(low <= _line(seen) <= high for low, high in fresh)
            )
            total += min(silent, max(size - heard, 0))
        taken[scan.site] = _merged([*before, *spans])
    return total


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
    if scan_id is None:
        store.require_site(site)  # a mistyped --site is refused, not reported as clean
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
    past = store.history(with_findings=selected is not None)
    remaining_ids = store.remaining(site=site) if scan_id is None else set()
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
        # Remaining: the store's one definition (store/remaining.py), which the inventory
        # and the console count with too; under --policy, of the devices restricted by them.
        still = restricted and (scan_id is not None or device_id in remaining_ids)
        restricted_total += restricted
        why: list[str] = []
        label = device_label(device)
        if still:
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
    scan_lines = _scan_lines(store, scope_scans)
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
        trend=trend(
            all_scans,
            past,
            shown=(s.id for s in history),
            site=history[-1].site if scan_id is not None and history else site,
            every_site=scan_id is None and site is None,
            policies=selected,
            gone_after=store.settings.gone_after,
        ),
        cases=tuple(cases),
        cases_open=len(active),
        cases_overdue=sum(case.overdue for case in cases),
        cases_by_status=tuple(Counter(case.status for case in cases).items()),
        priority=tuple(rows),
        pages=tuple(pages),
        pages_left_out=max(len(flagged) - max_device_pages, 0),
        devices=tuple(devices),
        scans=scan_lines,
        unknown_maker=tuple(unknown),
        knowledge=_knowledge(policy_ids, {p for scan in scope_scans for p in scan.policies}),
        silent_hosts=silent_addresses(scan_lines, past),
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

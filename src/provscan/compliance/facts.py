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
- a restricted device is *unaccounted for* when it is gone but its restricted-maker case
  records no removal (neither removed, replaced nor verified): not remaining, named apart
  (:class:`UnaccountedRow`) and counted beside the headline;
- a device is *priority 1* when it has an active case for a priority-1 posture finding
  (an actively exploited vulnerability, a priority-1 exposure);
- the trend point after each scan is the number of restricted devices that remained in the
  inventory once that scan was stored: the inventory's history replayed scan by scan
  (:func:`trend`), so each device counts once however many scans saw it; when changes made
  since the newest scan (a case verified on request) moved the count, a *now* point follows
  it, so the newest point is the headline's number (not in a scan report);
- an address *did not answer* when, at its site, the newest scan that set out to probe it
  heard nothing from it (:func:`silent_addresses`): each address counts once, and a device
  present in the inventory never does;
- a device is *to review* when the inventory keeps the verdict ``review`` for it (its newest
  sighting's verdict, :func:`provscan.report.contract.verdict_of`: a restricted maker is
  possible, not established; in a scan report, the verdict that scan gave it) and it is not
  gone: the same verdict ``provscan inventory`` counts "to review" by;
- a case is *closed in the period* when it is verified and the scan that verified it (a
  covering scan that no longer saw the device, or a sighting without the finding) is one of
  the scans the report covers.
"""

from __future__ import annotations

import dataclasses
import re
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from itertools import pairwise
from typing import Any

from provscan import __version__
from provscan.compliance.render import SHOWN_ID
from provscan.errors import InputError, KnowledgeError, StoreError
from provscan.model import Device, MakerCandidate, address_sort_key, finding_restricts
from provscan.policy.evaluate import (
    CONTEXT_NOTE_PREFIX,
    DEFAULT_PARTY,
    REVIEW_NOTE_PREFIX,
    FindingsMemo,
    assess,
    binds_once_in_force,
    describe_parties,
    judge,
    maker_countries,
    without_cli_advice,
)
from provscan.report.contract import ScanSection, advice_condition, verdict_of
from provscan.report.formats import not_binding_you
from provscan.store.cases import RESTRICTED, SCAN_ACTOR, Case, CaseEvent
from provscan.store.db import Store
from provscan.store.history import History, Seen, now_point_at
from provscan.store.inventory import (
    DEFAULT_GONE_AFTER,
    Candidate,
    Identity,
    address_key,
    document_verdict,
    moved_to,
    unprobed,
)
from provscan.store.remaining import GONE, VERIFIED, remains
from provscan.store.views import InventoryDevice, ScanSummary, SightingSource
from provscan.transport.limits import DEFAULT_PORTS

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
#: Devices to review whose reasons are read (each one's newest document) and listed in the
#: HTML and PDF; the others are counted, and listed in the XLSX without their reasons.
DEFAULT_REVIEW_ROWS = 200
#: Devices of makers named by measures that do not bind the user whose remediation is read
#: for a "replace" item (each read costs a look at its sighting in an inventory report).
DEFAULT_NOT_BINDING_READ = 200
#: What marks a priority row of such a device (its measures do not bind the user).
NOT_BINDING_YOU = "not binding you"
#: Closed cases shown with their evidence (each one's audit trail read), newest first.
DEFAULT_CLOSED_ROWS = 200
#: The verdict of a device to review (:data:`provscan.report.contract.VERDICTS`).
REVIEW = "review"
#: The data is old when the newest scan in scope started more than this many days before
#: the report was made: the first page and the summary then say how old it is.
STALE_AFTER_DAYS = 30
#: Incomplete scans named in the warning on the first page and under the headline (the
#: methodology lists more).
UNFINISHED_NAMED = 5
#: Between the steps of a case's history on one line (notes may hold semicolons).
STEP_SEPARATOR = " → "
#: Sites with old data named in the warning of an all-sites report (the rest are counted).
STALE_SITES_NAMED = 5
#: Trails read beyond the closed cases and device pages, for the Cases sheet's history of
#: restricted-maker cases reopened (their status history shows it).
REOPENED_TRAILS_READ = 500


class ReportScopeError(InputError):
    """The report was asked for something the store does not hold (exit 2)."""


@dataclass(frozen=True)
class TrendPoint:
    #: None: the *now* point (:attr:`is_now`).
    scan_id: str | None
    #: When the scan started; for the now point, when the last change it shows was made.
    started_at: datetime
    site: str | None
    #: Restricted devices that scan found (0 for the now point, which is no scan).
    scan_restricted: int
    scan_devices: int
    #: Restricted devices remaining in the inventory (in the report's scope) once that scan
    #: was stored: each device once, as the headline counts them.
    inventory_restricted: int

    @property
    def is_now(self) -> bool:
        """The point after the last scan: the inventory as the headline counts it, added
        when changes made since the newest scan (a restricted-maker case verified or reopened
        on request) changed the count; its time is the last such change."""
        return self.scan_id is None


@dataclass(frozen=True)
class PriorityRow:
    #: 1: a priority-1 posture finding; 2: a restricted maker (the posture priorities); a
    #: device of a maker named by measures that do not bind the user: its replace item's.
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
    #: When a scan last saw the device (its inventory ``last_seen``): a row of a site not
    #: scanned for months is told apart from a current one.
    last_seen: datetime | None = None
    #: False: a device no measure binding the user restricts, of a maker measures that bind
    #: others name, whose remediation says replace (its reason says "not binding you").
    binding: bool = True


#: The restricted-maker case statuses in which a person recorded the device taken away.
_REMOVAL_RECORDED = ("removed", "replaced")


@dataclass(frozen=True)
class UnaccountedRow:
    """A restricted device *unaccounted for*: ``gone`` from the inventory (complete scans
    covering its address stopped seeing it), its restricted-maker case neither verified nor
    saying removed or replaced. It is not *remaining* (decision 0013), yet nobody said it
    was taken away: switched off, or out of the sensor's reach, it may still be there."""

    device_id: str
    ip: str
    site: str | None
    device: str
    mac: str | None
    serial: str | None
    last_seen: datetime | None
    case_id: int | None
    case_status: str | None
    owner: str | None
    due: str | None
    overdue: bool

    @property
    def to_close(self) -> str:
        """What would close it: find it, or record its removal and have a scan prove it."""
        found = (
            "Find it. Still there (switched off, out of the sensor's reach): a scan that sees "
            "it counts it again."
        )
        if self.case_id is None:
            return f"{found} Taken away: no case tracks it to record the removal in."
        return (
            f"{found} Taken away: record the removal (provscan cases update {self.case_id} "
            "--status removed, then --status verified); the complete scans that stopped "
            f"seeing it at {self.ip} are the proof."
        )


@dataclass(frozen=True)
class StaleSite:
    """A site whose newest scan in scope is old (an all-sites report): its devices are
    counted as that scan saw them."""

    site: str | None
    newest: datetime
    age_days: int
    #: Restricted devices remaining there (the headline's, by the inventory's site).
    remaining: int

    @property
    def name(self) -> str:
        return self.site if self.site is not None else "(no site)"

    @property
    def text(self) -> str:
        """``Warehouse, last scanned 335 days ago (2026-01-05): 28 restricted devices``."""
        noun = "device" if self.remaining == 1 else "devices"
        return (
            f"{self.name}, last scanned {self.age_days} days ago ({_day_of(self.newest)}): "
            f"{self.remaining} restricted {noun}"
        )


@dataclass(frozen=True)
class CaseStep:
    """A step of a case's trail an auditor follows a case's life by: a removal or
    replacement a person recorded, a verification, a reopening."""

    #: ``removed``, ``replaced``, ``verified`` or ``reopened``.
    action: str
    at: datetime
    actor: str
    note: str
    scan_id: str | None

    def who(self, *, compact: bool = True) -> str:
        """``by scan 26c31660-a1b``, ``by alice``, ``on request of bob (proof scan …)``."""
        scan = (self.scan_id or "")[:SHOWN_ID] if compact else (self.scan_id or "")
        if self.actor == SCAN_ACTOR and scan:
            return f"by scan {scan}"
        if self.action == VERIFIED and scan:
            return f"on request of {self.actor} (proof scan {scan})"
        return f"by {self.actor}"

    def shown_note(self, *, compact: bool = True) -> str:
        """The note; ``compact``: none for a scan's verification (its standard note says
        what a covering scan proves)."""
        if compact and self.actor == SCAN_ACTOR and self.action == VERIFIED:
            return ""
        return self.note

    def text(self, *, compact: bool = True) -> str:
        """``reopened 2026-12-07 03:30 UTC by scan 26c31660-a1b: seen again at 127.77.1.10``;
        ``compact``: the scan by the first characters of its id (as the CLI shows it), and
        a scan's verification without its standard note."""
        when = self.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        note = self.shown_note(compact=compact)
        return f"{self.action} {when} {self.who(compact=compact)}" + (f": {note}" if note else "")


def case_steps(events: Sequence[CaseEvent]) -> tuple[CaseStep, ...]:
    """The removals, replacements, verifications and reopenings of a case's trail, oldest
    first (a reopening: a scan that saw the device again or the finding come back, or a
    person who moved a verified case back to another status)."""
    steps = []
    for event in events:
        status = _status_from_to(event)
        if event.action == "reopened" or (status is not None and status[0] == VERIFIED):
            action = "reopened"
        elif status is not None and status[1] in (*_DONE, VERIFIED):
            action = status[1]
        else:
            continue
        steps.append(CaseStep(action, event.at, event.actor, event.note, event.scan_id))
    return tuple(steps)


def _reopened(steps: Sequence[CaseStep]) -> bool:
    """Whether the steps hold a reopening or more than one verification (a history worth
    showing beside a case's current state)."""
    return any(s.action == "reopened" for s in steps) or (
        sum(s.action == VERIFIED for s in steps) > 1
    )


@dataclass(frozen=True)
class DevicePage:
    device: InventoryDevice
    #: The contract document of the device: the reported scan's, else the sighting its
    #: verdict comes from (:func:`provscan.store.views.verdict_sighting`: the newest that
    #: identified it), as the console's device page and ``GET /api/v1/devices/ID`` show it.
    document: dict[str, Any]
    cases: tuple[Case, ...]
    why: str
    #: The sighting ``document`` is of (None: the reported scan's).
    sighting: SightingSource | None = None
    #: The device's newest sighting when it identified nothing and ``document`` is an older
    #: one's (a capture of its resets); None otherwise.
    newer: SightingSource | None = None
    #: How many sightings newer than ``sighting`` identified nothing (0 without ``newer``).
    unidentified: int = 0


@dataclass(frozen=True)
class ReviewRow:
    """A device to review: a restricted maker is possible, not established."""

    device_id: str
    ip: str
    site: str | None
    #: Inventory status: present or missing (gone devices are not to review).
    status: str
    brand: str | None
    model: str | None
    manufacturer: str | None
    last_seen: str | None
    #: The makers the evidence allows, in the order the reasons name them.
    candidates: tuple[str, ...]
    #: What a confirmed maker would mean, one line each ("Hikvision: restricted by us, uk").
    if_confirmed: tuple[str, ...]
    #: Why the device is to review: its ``review:`` notes, without the prefix.
    reasons: tuple[str, ...]
    #: What would settle it, one line per reason.
    settle: tuple[str, ...]
    #: False when the device's reasons were not read (more than the rows listed).
    read: bool = True
    #: Advice that applies only if a maker the evidence leaves open made the device (its
    #: remediation's ``condition``: "if made by Hikvision: affected by CVE-…"), most urgent
    #: first: it opens no case (store.cases), so this is where it is shown.
    if_made_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClosedCase:
    """A case closed (verified) in the report's period, with the evidence of its closing."""

    case: Case
    ip: str
    site: str | None
    device: str
    #: What was done: removed or replaced (as a person recorded it), fixed (a posture finding
    #: the device was seen without), or "not recorded".
    action: str
    #: Who recorded the action, and when (None: a scan's sighting, no person).
    actor: str | None
    acted_at: datetime | None
    #: The note recorded with the action (a disposal note, a ticket), or the last note a
    #: person wrote before the case was verified; empty when there is none.
    note: str
    verified_at: datetime
    #: ``provscan`` (at the proof scan's ingest) or the person who asked for verification.
    verified_by: str
    #: The scan that proved it, its start, and what it proved.
    proof_scan: str | None
    proof_started: datetime | None
    proof_note: str
    #: The case's earlier life, oldest first, when it was reopened before this closing: its
    #: earlier removals, verifications and reopenings (empty otherwise).
    history: tuple[CaseStep, ...] = ()

    @property
    def history_text(self) -> str:
        """:attr:`history` on one line, scans by their short id (empty without one)."""
        return STEP_SEPARATOR.join(step.text() for step in self.history)


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
    #: The knowledge the scan judged its devices with, as it recorded it (None: not recorded).
    knowledge_version: str | None = None
    knowledge_as_of: str | None = None
    #: The TCP ports the scan probed on each address (its section's ``ports``; a capture's:
    #: the ports it heard); None: its section could not be read.
    ports: tuple[int, ...] | None = None
    #: Who ran it: :data:`HERE` (the command line or the console: the store does not record
    #: which), or the sensor that ran it, from the job the central sent (``sensor hq-1 (site
    #: hq), schedule 3``).
    origin: str = "command line or console"

    @property
    def judged_for(self) -> str:
        return judged_for_text(self.acting_as)

    @property
    def ports_text(self) -> str:
        """The probed ports as the methodology says them (:func:`ports_text`)."""
        return ports_text(self.ports, self.summary.kind)

    @property
    def silent_hosts(self) -> int | None:
        if self.hosts_scanned is None or self.hosts_responding is None:
            return None
        return max(self.hosts_scanned - self.hosts_responding, 0)


#: Who ran a scan that no sensor job names: the store does not record which of the two.
HERE = "command line or console"
#: Ports listed one by one before the rest are counted (the XLSX lists them all).
PORTS_LISTED = 12


def ports_text(ports: Sequence[int] | None, kind: str = "active") -> str:
    """``default 19 ports``, ``default 19 ports + 5000, 49152``, ``80, 443``, or the first
    :data:`PORTS_LISTED` ``… and 40 more``; a capture's ports were heard, not probed."""
    if ports is None:
        return "not recorded"
    if not ports:
        return "none"
    chosen = sorted(set(ports))
    default = set(DEFAULT_PORTS)
    extra = [port for port in chosen if port not in default]
    if default <= set(chosen) and len(extra) <= PORTS_LISTED:
        text = f"default {len(default)} ports" + (
            " + " + ", ".join(map(str, extra)) if extra else ""
        )
    elif len(chosen) > PORTS_LISTED:
        shown = ", ".join(map(str, chosen[:PORTS_LISTED]))
        text = f"{shown} and {len(chosen) - PORTS_LISTED} more"
    else:
        text = ", ".join(map(str, chosen))
    return f"heard (not probed): {text}" if kind == "passive" else text


def scan_origin(job: Any) -> str:
    """Who ran a stored scan, from the sensor job whose id is the scan's (None: no job, so
    the command line or the console ran it, :data:`HERE`)."""
    if job is None:
        return HERE
    sensor = job.sensor if job.sensor and job.sensor != "-" else "a sensor"
    origin = f"sensor {sensor} (site {job.site})"
    asked = str(job.requested_by or "")
    if asked.startswith("schedule:"):
        return f"{origin}, schedule {asked.removeprefix('schedule:')}"
    return f"{origin}, sent by {asked}" if asked else origin


def every_scan(total: int) -> str:
    """Every one of ``total`` scans, in words: "the scan", "both scans", "all 3 scans"."""
    if total == 1:
        return "the scan"
    return "both scans" if total == 2 else f"all {total} scans"


@dataclass(frozen=True)
class Knowledge:
    #: The knowledge active now (what the report was made with), and where it comes from.
    version: str
    as_of: str | None
    source: str
    tool_version: str
    policies: tuple[tuple[str, str, str], ...]  # (id, jurisdiction, name)
    #: The knowledge the scans in scope recorded (version, as-of), each once, oldest first.
    recorded: tuple[tuple[str, str | None], ...] = ()
    #: Scans in scope that recorded their knowledge, and that did not (stored before it was).
    recording: int = 0
    unrecorded: int = 0

    @property
    def summary(self) -> str:
        """The report's knowledge line: what the scans it covers were judged with (as they
        recorded it), and the knowledge active now when that differs."""
        now = f"{self.source} {self.version}" + (f", as of {self.as_of}" if self.as_of else "")
        if not self.recorded:
            why = "the scans did not record theirs" if self.unrecorded else "no scan in scope"
            return f"{now} (active now; {why})"
        total = self.recording + self.unrecorded
        older = "an older scan" if self.unrecorded == 1 else f"{self.unrecorded} older scans"
        if len(self.recorded) == 1:
            ((version, as_of),) = self.recorded
            by = every_scan(total)
            if self.unrecorded:
                by = f"{self.recording} of the {total} scans; {older} recorded none"
            text = version + (f", as of {as_of}" if as_of else "") + f" (recorded by {by})"
        else:
            versions = ", ".join(version for version, _ in self.recorded)
            dates = sorted({as_of for _, as_of in self.recorded if as_of})
            span = (
                f"as of {dates[0]} to {dates[-1]}"
                if len(dates) > 1
                else (f"as of {dates[0]}" if dates else "as-of dates not recorded")
            )
            text = f"{len(self.recorded)} versions across the scans: {versions} ({span})"
            if self.unrecorded:
                text += f"; {older} recorded none"
        if self.recorded != ((self.version, self.as_of),):
            text += f"; active now: {now}"
        return text


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
    #: Devices to review (verdict ``review``, not gone), by site and address.
    review: tuple[ReviewRow, ...] = ()
    #: Devices with the verdict ``review`` that are gone from the inventory (not counted).
    review_gone: int = 0
    #: Cases closed (verified) in the period, newest first, with their evidence.
    closed: tuple[ClosedCase, ...] = ()
    #: Closed cases beyond :data:`DEFAULT_CLOSED_ROWS` (counted, not shown).
    closed_left_out: int = 0
    #: In a report of every site: the sites whose newest scan is old, oldest first.
    stale_sites: tuple[StaleSite, ...] = ()
    #: case id -> its removals, verifications and reopenings, for the cases that were
    #: reopened or verified more than once (of the trails read: closed cases, device pages'
    #: cases, and restricted-maker cases whose status history shows a reopening).
    case_history: dict[int, tuple[CaseStep, ...]] = field(default_factory=dict)
    #: Devices in scope of makers named by measures that do not bind the user (not
    #: restricted, not to review, not gone), by maker, most first.
    not_binding: tuple[tuple[str, int], ...] = ()
    #: Such devices whose remediation was not read for a replace item (more than the report
    #: reads: :data:`DEFAULT_NOT_BINDING_READ`).
    not_binding_unread: int = 0
    #: The party this report judged every device for (``report --as``); None: the verdicts
    #: stored, each judged at scan time for the party its scan names.
    acting_as: tuple[str, ...] | None = None
    #: With ``acting_as``: open restricted-maker cases of devices not restricted for it
    #: (opened for the party their scan was judged for), left out of the case figures.
    cases_other_party: int = 0
    #: Restricted devices gone from the inventory with no removal recorded (not counted as
    #: remaining, never dropped from the report), by site and address; empty in a scan
    #: report (a scan's devices are the ones it saw).
    unaccounted: tuple[UnaccountedRow, ...] = ()

    @property
    def to_review(self) -> int:
        return len(self.review)

    @property
    def review_listed(self) -> tuple[ReviewRow, ...]:
        """The devices to review whose reasons were read (those the HTML and PDF list)."""
        return tuple(row for row in self.review if row.read)

    @property
    def closed_total(self) -> int:
        return len(self.closed) + self.closed_left_out

    @property
    def incomplete_scans(self) -> list[ScanLine]:
        return [line for line in self.scans if not line.summary.complete]

    @property
    def priority_one(self) -> int:
        return len({row.device_id for row in self.priority if row.priority == 1 and row.binding})

    @property
    def not_binding_total(self) -> int:
        return sum(count for _, count in self.not_binding)

    @property
    def not_binding_replace(self) -> int:
        """Devices of makers named by measures that do not bind the user, whose remediation
        says replace (each on the priority list, marked "not binding you")."""
        return len({row.device_id for row in self.priority if not row.binding})

    @property
    def not_binding_sentence(self) -> str | None:
        """What the summary says of the devices of makers named by measures that do not bind
        the user (None when there are none): how many, by maker, and how many of them the
        priority list carries for a replace remediation."""
        total = self.not_binding_total
        if not total:
            return None
        makers = ", ".join(f"{name} {count}" for name, count in self.not_binding)
        are = "device is" if total == 1 else "devices are"
        made = "a maker" if total == 1 else "makers"
        sentence = (
            f"{total} {are} made by {made} named by measures that do not bind you "
            f"({self.judged_for_sentence}): {makers}. No measure binding you restricts "
            f"{'it' if total == 1 else 'them'}, so this report's counts of restricted "
            f"devices leave {'it' if total == 1 else 'them'} out."
        )
        replace = self.not_binding_replace
        if replace:
            sentence += (
                f" {replace} of them {'has' if replace == 1 else 'have'} a remediation that "
                f'says replace: on the priority list, marked "{NOT_BINDING_YOU}".'
            )
        if self.not_binding_unread:
            sentence += (
                f" The remediation of {self.not_binding_unread} of them was not read (more "
                "than the report reads): see each device."
            )
        return sentence

    @property
    def judged_for(self) -> tuple[tuple[str, int], ...]:
        """Whom the verdicts of the scans in scope were judged for, each with its number of
        scans, most scans first (one entry unless the scans were judged for different
        parties)."""
        counts = Counter(line.judged_for for line in self.scans)
        return tuple(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    @property
    def judged_for_sentence(self) -> str:
        """``"ca:federal-institution"``, or every party with its scans when they differ; with
        ``report --as``, the party this report judged every device for."""
        if self.acting_as is not None:
            return f"{describe_parties(self.acting_as)} (this report's --as)"
        parties = self.judged_for
        if not parties:
            return "no scans stored"
        if len(parties) == 1:
            return parties[0][0]
        return "different parties: " + "; ".join(
            f"{party} ({count} scan{'s' if count != 1 else ''})" for party, count in parties
        )

    @property
    def other_party_scans(self) -> tuple[ScanLine, ...]:
        """With ``report --as``: the scans in scope judged for another party."""
        if self.acting_as is None:
            return ()
        return tuple(line for line in self.scans if line.acting_as != self.acting_as)

    @property
    def other_party_note(self) -> str | None:
        """With ``report --as``, when scans in scope were judged for another party: one line
        saying so, and what the report did about their verdicts, trend and cases."""
        others = self.other_party_scans
        if not others:
            return None
        parties = Counter(line.judged_for for line in others)
        named = "; ".join(
            f"{party} ({count} scan{'s' if count != 1 else ''})"
            for party, count in sorted(parties.items(), key=lambda item: (-item[1], item[0]))
        )
        cases = ""
        if self.cases_other_party:
            many = self.cases_other_party != 1
            cases = (
                f"; {self.cases_other_party} open restricted-maker case{'s' if many else ''} "
                f"of devices not restricted for {describe_parties(self.acting_as or ())} "
                f"{'are' if many else 'is'} left out of the case figures (still open in the "
                "store: provscan cases)"
            )
        return (
            f"{len(others)} of the {len(self.scans)} scans in scope were judged for another "
            f"party ({named}): every device is judged again here for "
            f"{describe_parties(self.acting_as or ())} with the knowledge active now, and the "
            "trend replays their sightings with each device's verdict for it" + cases + "."
        )

    @property
    def remaining_sentence(self) -> str:
        """The headline: the restricted devices remaining, and beside them the ones
        unaccounted for (gone, no removal recorded), which the remaining leave out."""
        when = (self.as_of or self.generated_at).astimezone(UTC).date().isoformat()
        noun = "device remains" if self.remaining == 1 else "devices remain"
        lost = len(self.unaccounted)
        if not lost:
            return f"As of {when}, {self.remaining} restricted {noun}."
        return (
            f"As of {when}, {self.remaining} restricted {noun}; {lost} more "
            f"{'is' if lost == 1 else 'are'} unaccounted for (no longer seen, no removal "
            "recorded)."
        )

    @cached_property
    def unfinished(self) -> tuple[ScanLine, ...]:
        """The incomplete scans the figures rest on (:func:`unfinished_scans`), newest first:
        in a scan report, the scan itself when it did not finish."""
        return unfinished_scans(self.scans)

    @property
    def unfinished_warning(self) -> str | None:
        """What the first page and the summary say when the figures rest on a scan that did
        not finish (None when they do not): which scans, that the counts may be too low, and
        what to do. Plain text; the formats add their own "Warning:" mark."""
        lines = self.unfinished
        if not lines:
            return None
        named = "; ".join(_scan_named(line) for line in lines[:UNFINISHED_NAMED])
        if len(lines) > UNFINISHED_NAMED:
            named += f"; and {len(lines) - UNFINISHED_NAMED} more (see 7. Methodology)"
        if self.scope == "scan":
            return (
                f"this scan did not finish. Scan {named} was interrupted or cut short: devices "
                "it did not reach are not in this report, so its counts may be too low. Run "
                "the scan again and let it finish, then report on the new scan."
            )
        # what a scan did not reach: counted as an older scan of its site saw it, if any
        older = any(
            other.summary.site == line.summary.site
            and other.summary.started_at < line.summary.started_at
            for line in lines
            for other in self.scans
        )
        as_before = ", or are counted as an older scan last saw them" if older else ""
        if len(lines) == 1:
            return (
                f"these figures rest on a scan that did not finish. Scan {named} was "
                "interrupted or cut short, and no complete scan of the same targets has run "
                f"since. Devices it did not reach are not counted{as_before}, so the counts "
                "may be too low. Run that scan again and let it finish, then make this report "
                "again."
            )
        return (
            f"these figures rest on {len(lines)} scans that did not finish. Scans {named} were "
            "interrupted or cut short, and no complete scan of the same targets has run since. "
            f"Devices they did not reach are not counted{as_before}, so the counts may be too "
            "low. Run those scans again and let them finish, then make this report again."
        )

    @property
    def age_days(self) -> int | None:
        """Whole days between the start of the newest scan in scope (the data's as-of) and
        the report, when that is more than :data:`STALE_AFTER_DAYS`; None otherwise."""
        if self.as_of is None:
            return None
        age = self.generated_at - self.as_of
        return age.days if age.days > STALE_AFTER_DAYS else None

    @property
    def stale_note(self) -> str | None:
        """What the first page and the summary say when the data is old (None when not):
        ``"the newest scan is 335 days old"``."""
        if self.age_days is None:
            return None
        scan = "this scan" if self.scope == "scan" else "the newest scan"
        return f"{scan} is {self.age_days} days old"

    def seen_days_ago(self, moment: datetime | None) -> int | None:
        """Whole days from ``moment`` (a device's last sighting) to the report, when more
        than :data:`STALE_AFTER_DAYS` (as old data is judged); None otherwise."""
        if moment is None:
            return None
        age = (self.generated_at - moment).days
        return age if age > STALE_AFTER_DAYS else None

    @property
    def stale_sites_warning(self) -> str | None:
        """In a report of every site, what the first page and the summary say of the sites
        whose newest scan is old (None when none is): which, how old, how many of the
        restricted devices remaining each holds, and what to do."""
        sites = self.stale_sites
        if not sites:
            return None
        held = sum(site.remaining for site in sites)
        of = f"{held} of the {self.remaining} restricted devices remaining"
        if len(sites) == 1:
            (site,) = sites
            return (
                f"site {site.name} was last scanned {site.age_days} days ago (its newest scan "
                f"started {_day_of(site.newest)}): {of} are there, counted as that scan saw "
                "them. Devices installed, removed or changed there since are not in these "
                "figures. Scan that site again for current figures."
            )
        named = "; ".join(site.text for site in sites[:STALE_SITES_NAMED])
        if len(sites) > STALE_SITES_NAMED:
            rest = sites[STALE_SITES_NAMED:]
            named += (
                f"; and {len(rest)} more sites: {sum(site.remaining for site in rest)} "
                "restricted devices"
            )
        return (
            f"{len(sites)} sites were last scanned more than {STALE_AFTER_DAYS} days ago, and "
            f"{of} are there, counted as those old scans saw them: {named}. Devices "
            "installed, removed or changed there since are not in these figures. Scan those "
            "sites again for current figures."
        )

    @property
    def stale_warning(self) -> str | None:
        """The stale note as a sentence: what the figures cannot show, and what to do."""
        note = self.stale_note
        if note is None:
            return None
        again = (
            "Scan again for current figures."
            if self.scope == "inventory"
            else "Report on a newer scan for current figures."
        )
        return (
            f"{note[0].upper()}{note[1:]} (started {_day_of(self.as_of)}): devices installed, "
            f"removed or changed since then are not in these figures. {again}"
        )


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
    return finding_restricts(finding) and (policies is None or finding.get("policy") in policies)


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
    first_seen: datetime
    missed: int = 0
    gone: bool = False
    verified: bool = False
    #: The ports its newest sighting saw open (None: not read: it was not restricted).
    ports: tuple[int, ...] | None = None
    #: Maker, brand, model, MAC and serial as the inventory keeps them: a sighting that did
    #: not read one keeps the value read before (store/inventory.py ``_copy_values``).
    identity: Identity = (None, None, None, None, None)

    def seen(self, seen: Seen) -> None:
        """What a newer sighting changes of its ports and identity."""
        self.ports = seen.ports
        old, new = self.identity, seen.identity
        self.identity = (
            new[0] if new[0] is not None else old[0],
            new[1] if new[1] is not None else old[1],
            new[2] if new[2] is not None else old[2],
            new[3] or old[3],
            new[4] or old[4],
        )

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
    until_now: bool = False,
    verdicts: dict[str, bool] | None = None,
    judged_elsewhere: frozenset[str] = frozenset(),
) -> tuple[TrendPoint, ...]:
    """The restricted devices remaining in the inventory after each scan in ``shown``, oldest
    first: every stored scan replayed in the order it ran, as the store's ingest applied it
    (store/inventory.py: the newest sighting sets a device's verdict, site and address; a
    complete scan covering its address and the ports it was last seen on that misses it, and
    sees no device it may have moved to, counts towards ``gone``), with the
    restricted-maker cases' status changes up to the time each scan was stored. A device
    counts once, at its site (only ``site`` unless ``every_site``), when it is restricted
    (under ``policies``), not gone and its case not verified: the headline's definition.

    ``until_now`` (a report of the inventory as it is now, not of one scan): the rest of the
    history is replayed too (the case changes made since the newest scan in ``shown``, such
    as a case verified on request, and with ``site`` later scans of other sites), and when it
    changed the count, one more point follows, the *now* point (:attr:`TrendPoint.is_now`),
    at the time of the last change that moved the count: the headline's number. A scan's own
    point never includes what happened after it was stored.

    ``verdicts`` (``report --as``): device id -> whether it is restricted for the report's
    party; the sightings of the scans in ``judged_elsewhere`` (judged for another party)
    take it instead of the verdict stored with them."""
    ordered = sorted(scans, key=lambda s: (s.started_at, s.id))
    judged_again = verdicts or {}

    def restricted_in(scan_id: str, seen: Seen) -> bool:
        if scan_id in judged_elsewhere and seen.device_id in judged_again:
            return judged_again[seen.device_id]
        return _restricted_seen(seen, policies)

    wanted = set(shown)
    # Where restricted devices were ever seen, per site, sorted: a covering scan looks up
    # the addresses in its ranges instead of every device.
    places: dict[str | None, set[str]] = {}
    for scan in ordered:
        for seen in history.seen.get(scan.id, ()):
            if seen.restricted or restricted_in(scan.id, seen):
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

    def decided(device_id: str, status: str) -> None:
        nonlocal count
        device = known.get(device_id)
        if device is not None:
            count -= counted(device)
            device.verified = status == "verified"
            count += counted(device)

    next_change = 0
    clock: datetime | None = None
    points: list[TrendPoint] = []
    #: When the count last moved since the newest point (None: it has not).
    moved_at: datetime | None = None
    for scan in ordered:
        before = count
        stored = history.stored_at.get(scan.id) or scan.finished_at or scan.started_at
        clock = stored if clock is None else max(clock, stored)
        while next_change < len(case_changes) and case_changes[next_change][0] <= clock:
            at, device_id, status = case_changes[next_change]
            next_change += 1
            decided(device_id, status)
            if count != before:
                moved_at, before = at, count
        seen_now = set()
        for seen in history.seen.get(scan.id, ()):
            seen_now.add(seen.device_id)
            device = known.get(seen.device_id)
            if device is not None and device.last_seen > scan.started_at:
                continue  # an older scan stored late: the newer sighting stands
            restricted = restricted_in(scan.id, seen)
            if device is None:
                device = known[seen.device_id] = _Known(
                    scan.site, seen.ip_key, scan.started_at, restricted, first_seen=scan.started_at
                )
                device.seen(seen)
                count += counted(device)
            else:
                count -= counted(device)
                place(seen.device_id, device, add=False)
                device.site, device.ip_key = scan.site, seen.ip_key
                device.last_seen, device.restricted = scan.started_at, restricted
                device.missed, device.gone = 0, False
                device.seen(seen)
                count += counted(device)
            place(seen.device_id, device, add=True)
        if scan.covering:
            keys = addresses.get(scan.site, [])
            probed = history.probed.get(scan.id, frozenset())
            candidates: list[Candidate] | None = None
            for low, high in scan.coverage:
                for key in keys[bisect_left(keys, low) : bisect_right(keys, high)]:
                    for device_id in list(at_address.get((scan.site, key), ())):
                        device = known[device_id]
                        if device_id in seen_now or device.last_seen >= scan.started_at:
                            continue
                        if unprobed(device.ports, probed):
                            continue  # the scan did not look where the device was
                        if candidates is None:
                            candidates = [
                                (s.device_id, s.ip_key, known[s.device_id].first_seen, s.identity)
                                for s in history.seen.get(scan.id, ())
                            ]
                        if moved_to(device.identity, device.ip_key, device.last_seen, candidates):
                            continue  # it may have moved to a device the scan saw
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
            moved_at = None
        elif count != before:
            moved_at = scan.started_at
    if until_now and points:
        for at, device_id, status in case_changes[next_change:]:
            before = count
            decided(device_id, status)
            if count != before:
                moved_at = at
        newest = points[-1]
        now_at = now_point_at(
            (newest.inventory_restricted,), (count,), moved_at, clock or newest.started_at
        )
        if now_at is not None:
            points.append(TrendPoint(None, now_at, None if every_site else site, 0, 0, count))
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


def silent_addresses(
    lines: Sequence[ScanLine],
    history: History,
    present: dict[str | None, set[str]] | None = None,
) -> int:
    """Scanned addresses that did not answer, each once: at each site, an address counts
    when the newest scan in ``lines`` that set out to probe it heard nothing from it. A scan
    counts at most its own silent hosts (an interrupted scan probed less than it set out
    to); a scan whose targets were names (no address ranges) counts when it is the newest of
    its site and targets.

    ``present``: site -> the address keys of the devices present in the inventory there. A
    present device is never silent: a narrow scan (``--ports 80``, one address) that got
    no reply from it looked where it is not, and its own count of silent hosts, which
    includes such an address, is lowered by it (a complete scan's: it probed them all)."""
    here = present or {}
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
            answered = {s.ip_key for s in history.seen.get(scan.id, ())}
            # present devices this scan did not hear: among its silent hosts, never silent
            unheard = {
                key
                for key in here.get(scan.site, ())
                if key not in answered
                and key[:1] in ("4", "6")
                and any(low <= _line(key) <= high for low, high in spans)
            }
            heard = sum(
                1
                for seen in answered | unheard
                if seen[:1] in ("4", "6") and any(low <= _line(seen) <= high for low, high in fresh)
            )
            own = silent - (len(unheard) if scan.complete else 0)
            total += max(min(own, size - heard), 0)
        taken[scan.site] = _merged([*before, *spans])
    return total


def unfinished_scans(lines: Sequence[ScanLine]) -> tuple[ScanLine, ...]:
    """The incomplete scans the figures rest on, newest first: each incomplete scan that no
    complete scan of its site started since has covered again, the addresses it set out to
    probe (its address ranges) or, for captures, imports and host names, its targets (each
    one among the targets of those complete scans). Until then, what it did not reach is
    either missing from the counts or counted as an older scan last saw it."""
    newest_first = sorted(
        lines, key=lambda line: (line.summary.started_at, line.summary.id), reverse=True
    )
    spans: dict[str | None, list[tuple[int, int]]] = {}
    targets: dict[str | None, set[str]] = {}
    found = []
    for line in newest_first:
        scan = line.summary
        own = [(_line(low), _line(high)) for low, high in scan.coverage]
        if scan.complete:
            spans[scan.site] = _merged([*spans.get(scan.site, []), *own])
            targets.setdefault(scan.site, set()).update(scan.targets)
            continue
        covered = bool(own) and not _less(own, spans.get(scan.site, []))
        named = bool(scan.targets) and set(scan.targets) <= targets.get(scan.site, set())
        if not (covered or named):
            found.append(line)
    return tuple(found)


def _day_of(moment: datetime | None) -> str:
    return moment.astimezone(UTC).date().isoformat() if moment else "–"


#: Targets named with a scan in a warning (the rest are counted).
_TARGETS_NAMED = 2


def _scan_named(line: ScanLine) -> str:
    """A scan as a warning names it: ``631d41b2-dc5 of big.pcap (site hq, started
    2026-01-05 08:00 UTC)``."""
    scan = line.summary
    shown = ", ".join(scan.targets[:_TARGETS_NAMED])
    if len(scan.targets) > _TARGETS_NAMED:
        shown += f" and {len(scan.targets) - _TARGETS_NAMED} more"
    where = f"site {scan.site}" if scan.site else "no site"
    started = scan.started_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    of = f" of {shown}" if shown else ""
    return f"{scan.id[:SHOWN_ID]}{of} ({where}, started {started})"


def _knowledge(
    chosen: Sequence[str], seen: Iterable[str], scans: Sequence[ScanLine] = ()
) -> Knowledge:
    """The knowledge in use, the knowledge the scans recorded, and the policies the report
    applies: those chosen, else the ones the scans applied (ids the knowledge no longer has
    are left out)."""
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
    dated = sorted(
        (line for line in scans if line.knowledge_version),
        key=lambda line: line.summary.started_at,
    )
    recorded = tuple(
        dict.fromkeys((line.knowledge_version or "", line.knowledge_as_of) for line in dated)
    )
    unrecorded = sum(not line.knowledge_version for line in scans)
    return Knowledge(
        version, as_of, source, __version__, policies, recorded, len(dated), unrecorded
    )


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
    # a sensor's scan is stored under its job's id: the job names the sensor (the store
    # records nothing of a scan run on the command line or from the console)
    fleet = store.fleet()
    jobs = bool(fleet.jobs(limit=1))
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
                section.knowledge_version if section else None,
                section.knowledge_as_of if section else None,
                tuple(section.ports) if section else None,
                scan_origin(fleet.job(summary.id)) if jobs else HERE,
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
    max_review_rows: int = DEFAULT_REVIEW_ROWS,
    max_closed_rows: int = DEFAULT_CLOSED_ROWS,
    acting_as: Sequence[str] | None = None,
) -> ReportFacts:
    """Everything a report says, for the whole inventory or one stored scan.

    ``acting_as`` (``report --as``, checked org type ids): every device is judged again for
    that party (:class:`_JudgingAgain`), as ``scan --as`` judges; None: the verdicts stored."""
    selected = frozenset(policies) if policies else None
    if scan_id is None:
        store.require_site(site)  # a mistyped --site is refused, not reported as clean
    all_scans = store.scans(None)
    documents: dict[str, dict[str, Any]] = {}
    reported_id: str | None = None
    if scan_id is not None:
        try:
            reported = store.scan_summary(scan_id)
        except StoreError as exc:
            raise ReportScopeError(str(exc)) from exc
        reported_id = reported.id  # the id itself, not the prefix given
        documents = _scan_devices(store, reported_id)
        inventory = store.inventory_documents()
        devices = [
            device
            | {name: documents[device["device_id"]].get(name) for name in _SCAN_VALUES}
            | {"verdict": document_verdict(documents[device["device_id"]])}
            for device in inventory
            if device["device_id"] in documents
        ]
        scope_scans = [reported]
        history = [
            s for s in all_scans if s.site == reported.site and s.started_at <= reported.started_at
        ]
        as_of: datetime | None = reported.started_at
        # Removals this scan or an earlier one of its site proved: their devices are not in
        # the scan (it did not see them), but the scan's period closed their cases.
        at_site = {d["device_id"]: d for d in inventory if d["site"] == reported.site}
    else:
        devices = store.inventory_documents(site=site)
        scope_scans = [s for s in all_scans if site is None or s.site == site]
        history = scope_scans
        as_of = max((s.started_at for s in scope_scans), default=None)
        at_site = {d["device_id"]: d for d in devices}
    past = store.history(with_findings=selected is not None)
    remaining_ids = store.remaining(site=site) if scan_id is None else set()
    policy_ids = tuple(policies) if policies else ()
    scan_lines = _scan_lines(store, scope_scans)
    knowledge = _knowledge(
        policy_ids, {p for scan in scope_scans for p in scan.policies}, scan_lines
    )
    party = tuple(acting_as) if acting_as is not None else None
    # device id -> its document judged again for the party (report --as)
    judged: dict[str, dict[str, Any]] = {}
    if party is not None:
        again = _JudgingAgain(
            party,
            tuple(p for p, _, _ in knowledge.policies),
            on=as_of.date() if as_of is not None else None,
        )
        for index, device in enumerate(devices):
            if not (device.get("findings") or device.get("verdict") in ("restricted", REVIEW)):
                continue  # no measure names it: no party changes its verdict
            document = documents.get(device["device_id"])
            if document is None:  # the sighting its verdict comes from
                document = store.device_evidence(device["device_id"])[1].document
            judged[device["device_id"]] = again(document)
            devices[index] = device | {
                name: judged[device["device_id"]][name]
                for name in ("restricted", "findings", "verdict")
            }
    judged_for = {line.summary.id: line.acting_as for line in scan_lines}
    # The day each device's verdict was judged: judged again (--as), the report's as-of day
    # (_JudgingAgain's); else the day of the scan its stored verdict comes from (the
    # reported scan's, or the device's newest sighting's), as policy judging stored it.
    scan_days = {scan.id: scan.started_at.date() for scan in all_scans}

    def party_of(device: dict[str, Any]) -> Sequence[str]:
        if party is not None:
            return party
        return judged_for.get(reported_id or device.get("last_scan_id") or "", ())

    def judged_on(device: dict[str, Any]) -> date | None:
        if party is not None:
            return as_of.date() if as_of is not None else None
        return scan_days.get(reported_id or device.get("last_scan_id") or "")

    confirming = _Confirming(tuple(p for p, _, _ in knowledge.policies))

    def binds_later(device: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
        return lambda finding: confirming.binds_later(finding, party_of(device), judged_on(device))

    in_scope = {device["device_id"] for device in devices}
    all_cases = store.cases()
    cases = [case for case in all_cases if case.device_id in in_scope]
    cases_other_party = 0
    if party is not None:
        # a restricted-maker case opened for the party a scan was judged for, of a device
        # not restricted for this one: not counted (still open in the store)
        clear = {
            device["device_id"] for device in devices if not _restricted_under(device, selected)
        }
        other = [
            case
            for case in cases
            if case.subject == RESTRICTED and case.status != VERIFIED and case.device_id in clear
        ]
        cases_other_party = len(other)
        cases = [case for case in cases if case not in other]
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
    remaining_at: Counter[str | None] = Counter()
    restricted_total = remaining = 0
    unknown: list[dict[str, Any]] = []
    rows: list[PriorityRow] = []
    flagged: list[tuple[str, str]] = []
    not_binding: Counter[str] = Counter()
    named_others: list[dict[str, Any]] = []
    unaccounted: list[UnaccountedRow] = []
    for device in devices:
        device_id = device["device_id"]
        if not device["manufacturer"]:
            unknown.append(device)
        restricted = _restricted_under(device, selected)
        if _named_not_binding(
            device,
            restricted,
            selected,
            scan_report=scan_id is not None,
            later=binds_later(device),
        ):
            not_binding[device["manufacturer"] or "unknown maker"] += 1
            named_others.append(device)
        tracking = restricted_case.get(device_id)
        # Remaining: the store's one definition (store/remaining.py), which the inventory
        # and the console count with too; under --policy, of the devices restricted by them.
        if party is not None and scan_id is None:  # judged again: the same definition
            still = remains(restricted, device.get("status"), tracking.status if tracking else None)
        else:
            still = restricted and (scan_id is not None or device_id in remaining_ids)
        restricted_total += restricted
        if (
            restricted
            and scan_id is None
            and device.get("status") == GONE
            and (tracking is None or tracking.status not in (*_REMOVAL_RECORDED, VERIFIED))
        ):
            unaccounted.append(_unaccounted(device, tracking))
        why: list[str] = []
        label = device_label(device)
        if still:
            remaining += 1
            for jurisdiction in _jurisdictions(device, selected):
                by_jurisdiction[jurisdiction] += 1
            by_site[device["site"] or "(no site)"] += 1
            remaining_at[device["site"]] += 1
            by_maker[device["manufacturer"] or "unknown maker"] += 1
            rows.append(_row(2, device, label, _restricted_reason(device, selected), tracking))
            why.append("restricted maker")
        for posture in posture_cases.get(device_id, ()):
            rows.append(_row(1, device, label, posture.reason, posture))
        if device_id in posture_cases:
            why.append("priority-1 posture finding")
        if why:
            flagged.append((device_id, " and ".join(why)))

    rows.extend(_replace_rows(store, named_others[:DEFAULT_NOT_BINDING_READ], documents | judged))
    rows.sort(
        key=lambda r: (
            r.priority,
            not r.binding,
            r.due or "9999-12-31",
            address_sort_key(r.ip),
            r.device_id,
        )
    )
    order = {row.device_id: index for index, row in reversed(list(enumerate(rows)))}
    flagged.sort(key=lambda item: order.get(item[0], len(order)))
    pages = []
    for device_id, reasons in flagged[:max_device_pages]:
        # the evidence the verdict was made of, not a newer sighting that identified nothing
        known, evidence, device_cases = store.device_evidence(device_id)
        document = judged.get(device_id) or documents.get(device_id, evidence.document)
        if device_id in judged and device_id not in documents:  # its verdict for the party
            known = dataclasses.replace(
                known,
                restricted=bool(document.get("restricted")),
                findings=tuple(document.get("findings", [])),
            )
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
        else:
            pages.append(
                DevicePage(
                    known,
                    document,
                    tuple(device_cases),
                    reasons,
                    evidence.source,
                    evidence.newer,
                    evidence.unidentified,
                )
            )
    active = [case for case in cases if case.status != "verified"]
    review, review_gone = _review_rows(
        store,
        devices,
        documents,
        confirming=confirming,
        acting_as=party_of,
        limit=max_review_rows,
        judged=judged,
        judged_on=judged_on,
    )
    closed, closed_left_out = _closed_cases(
        store,
        [case for case in all_cases if case.device_id in at_site],
        at_site,
        {scan.id: scan for scan in history},
        limit=max_closed_rows,
    )
    generated_at = now or datetime.now(UTC)
    return ReportFacts(
        title=title or "Restricted-vendor equipment: compliance report",
        organisation=organisation,
        generated_at=generated_at,
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
            until_now=scan_id is None,
            verdicts=(
                {key: _restricted_under(doc, selected) for key, doc in judged.items()}
                if party is not None
                else None
            ),
            judged_elsewhere=(
                frozenset(
                    section.id
                    for section in store.list_scans(None)
                    if tuple(section.acting_as) != party
                )
                if party is not None
                else frozenset()
            ),
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
        knowledge=knowledge,
        silent_hosts=silent_addresses(scan_lines, past, _present(store, devices, scan_id)),
        review=review,
        review_gone=review_gone,
        closed=closed,
        closed_left_out=closed_left_out,
        stale_sites=(
            stale_sites(scope_scans, remaining_at, generated_at)
            if scan_id is None and site is None
            else ()
        ),
        case_history=_case_history(store, cases, closed, pages, past),
        not_binding=_ranked(not_binding),
        not_binding_unread=max(len(named_others) - DEFAULT_NOT_BINDING_READ, 0),
        acting_as=party,
        cases_other_party=cases_other_party,
        unaccounted=tuple(
            sorted(
                unaccounted,
                key=lambda r: (r.site or "", address_sort_key(r.ip), r.device_id),
            )
        ),
    )


def _present(
    store: Store, devices: Sequence[dict[str, Any]], scan_id: str | None
) -> dict[str | None, set[str]]:
    """Site -> the address keys of the devices present in the inventory there (the devices
    in scope; in a scan report, every device of the inventory: the scan may not have heard
    them), for :func:`silent_addresses`."""
    every = store.inventory_documents() if scan_id is not None else devices
    present: dict[str | None, set[str]] = {}
    for device in every:
        if device.get("status") == "present" and device.get("ip"):
            present.setdefault(device["site"], set()).add(address_key(str(device["ip"])))
    return present


#: The device notes policy judging writes (policy/evaluate.py ``judge``): a device judged
#: again gets its own in their place; attribution's and screening's notes are kept.
_JUDGING_NOTES = (
    re.compile(r"^maker not identified: restriction status incomplete$"),
    re.compile(r"^made by .+ \(the evidence does not say which\); each is restricted: "),
    re.compile("^" + re.escape(REVIEW_NOTE_PREFIX) + r"maker .+ is not established \(confidence"),
    re.compile(
        "^" + re.escape(REVIEW_NOTE_PREFIX) + r"made by .+ \(the evidence does not say which\) "
        "and not every one is restricted"
    ),
    re.compile("^" + re.escape(REVIEW_NOTE_PREFIX) + "restricted only on a condition the evidence"),
    re.compile("^" + re.escape(CONTEXT_NOTE_PREFIX) + r" \(these measures "),
)


class _JudgingAgain:
    """A stored device document judged again for another party (``report --as``): its maker,
    the other makers the evidence allows, device type and confidence put through policy
    judging (:func:`provscan.policy.evaluate.judge`, as ``scan --as`` judges) under the
    report's policies, with the knowledge active now. The document comes back with the new
    ``restricted``, ``findings``, ``notes`` and ``verdict``; the rest as stored."""

    def __init__(
        self, acting_as: Sequence[str], policy_ids: Sequence[str], on: date | None = None
    ) -> None:
        from provscan.knowledge.loader import load_knowledge

        knowledge = load_knowledge()
        #: The judging day: the report's scan date (its latest scan's), so a stored scan
        #: judged again is judged as on its day; None: today.
        self.on = on
        self.acting_as = tuple(acting_as)
        self.policies = knowledge.select_policies(list(policy_ids) or None)
        self.countries = maker_countries(knowledge.vendors)
        self.memo: FindingsMemo = {}

    def __call__(self, document: dict[str, Any]) -> dict[str, Any]:
        alternatives = tuple(
            MakerCandidate(str(item["maker"]), item.get("family"))
            for item in document.get("alternatives") or ()
            if isinstance(item, dict) and item.get("maker")
        )
        notes = tuple(
            note
            for note in document.get("notes") or ()
            if isinstance(note, str) and not any(p.match(note) for p in _JUDGING_NOTES)
        )
        device = judge(
            Device(
                ip=str(document.get("ip") or ""),
                open_ports=tuple(document.get("open_ports") or ()),
                manufacturer=document.get("manufacturer"),
                family=document.get("family"),
                device_type=document.get("device_type"),
                confidence=float(document.get("confidence") or 0.0),
                alternatives=alternatives,
                notes=notes,
            ),
            self.policies,
            countries=self.countries,
            acting_as=self.acting_as,
            memo=self.memo,
            on=self.on,
        )
        return document | {
            "restricted": device.restricted,
            "findings": [dataclasses.asdict(finding) for finding in device.findings],
            "notes": list(device.notes),
            "verdict": verdict_of(device.restricted, device.notes, device.manufacturer),
        }


def _named_not_binding(
    device: dict[str, Any],
    restricted: bool,
    policies: frozenset[str] | None,
    *,
    scan_report: bool,
    later: Callable[[dict[str, Any]], bool] = lambda finding: False,
) -> bool:
    """Whether a device in scope is of a maker named by a measure that does not bind the user
    (the scan table's "named by ... (does not bind you)": :func:`not_binding_you`), under the
    selected policies, while no measure binding the user restricts it: not restricted, not
    to review, and (in an inventory report) not gone. ``later``: a finding of a measure not in
    force when the device was judged that binds the user once it is (not counted here)."""
    if restricted or device.get("verdict") == REVIEW:
        return False
    if not scan_report and device.get("status") == GONE:
        return False
    return any(
        not_binding_you(f) and not later(f)
        for f in device.get("findings") or ()
        if policies is None or f.get("policy") in policies
    )


def _replace_rows(
    store: Store, devices: Sequence[dict[str, Any]], documents: dict[str, dict[str, Any]]
) -> list[PriorityRow]:
    """Priority rows for the devices of makers named by measures that do not bind the user
    whose remediation (the reported scan's document, else the sighting the verdict comes
    from) says replace, not on a condition: each with that item's priority and reason,
    marked "not binding you"."""
    rows = []
    for device in devices:
        document = documents.get(device["device_id"])
        if document is None:
            document = store.device_evidence(device["device_id"])[1].document
        items = [
            item
            for item in document.get("remediation") or ()
            if isinstance(item, dict)
            and item.get("action") == "replace"
            and advice_condition(item.get("condition"), str(item.get("reason", ""))) is None
        ]
        if not items:
            continue
        item = min(items, key=lambda item: int(item.get("priority") or 9))
        reason = f"replace ({NOT_BINDING_YOU}): {item.get('reason') or 'replace'}"
        row = _row(int(item.get("priority") or 9), device, device_label(device), reason, None)
        rows.append(dataclasses.replace(row, binding=False))
    return rows


def stale_sites(
    scans: Iterable[ScanSummary], remaining_at: Counter[str | None], now: datetime
) -> tuple[StaleSite, ...]:
    """The sites whose newest scan started more than :data:`STALE_AFTER_DAYS` whole days
    before ``now``, oldest first, each with the restricted devices remaining there; none when
    the scans name a single site (the report's own old-data note then says it)."""
    newest: dict[str | None, datetime] = {}
    for scan in scans:
        if scan.site not in newest or scan.started_at > newest[scan.site]:
            newest[scan.site] = scan.started_at
    if len(newest) < 2:
        return ()
    found = [
        StaleSite(where, started, (now - started).days, remaining_at.get(where, 0))
        for where, started in newest.items()
        if (now - started).days > STALE_AFTER_DAYS
    ]
    found.sort(key=lambda s: (s.newest, s.name))
    return tuple(found)


def _status_reopened(statuses: Sequence[str]) -> bool:
    """Whether a restricted-maker case's status history (oldest first) shows a reopening
    or more than one verification."""
    if statuses.count(VERIFIED) > 1:
        return True
    return any(
        before in (*_DONE, VERIFIED) and after not in (*_DONE, VERIFIED)
        for before, after in pairwise(statuses)
    )


def _case_history(
    store: Store,
    cases: Sequence[Case],
    closed: Sequence[ClosedCase],
    pages: Sequence[DevicePage],
    past: History,
) -> dict[int, tuple[CaseStep, ...]]:
    """case id -> its steps (:func:`case_steps`), for the cases in scope reopened or
    verified more than once: from the trails already read (closed cases, device pages), and
    for the restricted-maker cases whose status history shows a reopening, read (at most
    :data:`REOPENED_TRAILS_READ`)."""
    trails: dict[int, tuple[CaseEvent, ...]] = {item.case.id: item.case.events for item in closed}
    for page in pages:
        trails.update((case.id, case.events) for case in page.cases)
    unread = [
        case.id
        for case in cases
        if case.subject == RESTRICTED
        and case.id not in trails
        and _status_reopened([status for _, status in past.restricted_case.get(case.device_id, ())])
    ]
    for case_id in unread[:REOPENED_TRAILS_READ]:
        trails[case_id] = store.case(case_id).events
    in_scope = {case.id for case in cases}
    found = {}
    for case_id, events in trails.items():
        steps = case_steps(events)
        if case_id in in_scope and _reopened(steps):
            found[case_id] = steps
    return found


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
        last_seen=_moment(device.get("last_seen")),
    )


def _unaccounted(device: dict[str, Any], case: Case | None) -> UnaccountedRow:
    return UnaccountedRow(
        device_id=device["device_id"],
        ip=str(device["ip"]),
        site=device["site"],
        device=device_label(device),
        mac=device.get("mac"),
        serial=device.get("serial"),
        last_seen=_moment(device.get("last_seen")),
        case_id=case.id if case else None,
        case_status=case.status if case else None,
        owner=case.owner if case else None,
        due=case.due if case else None,
        overdue=case.overdue if case else False,
    )


def _moment(value: object) -> datetime | None:
    """An inventory document's time (ISO 8601 text, or a datetime) as an aware datetime."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- devices to review --------------------------------------------------------------------

#: The review notes policy judging and attribution write (policy/evaluate.py,
#: attribution/attribute.py), read for the makers they name.
_POSSIBLY = re.compile(r"^possibly made by (?P<makers>.+?) - ")
_NOT_ESTABLISHED = re.compile(r"^maker (?P<makers>.+?) is not established \(")
_EITHER = re.compile(r"^made by (?P<makers>.+?) \(the evidence does not say which\)")
_RELABEL = re.compile(r" - brand (?P<brand>.+?) sells only some lines")
_CONDITIONAL = "restricted only on a condition"
_SCREENED = "screened: "
#: What reads the model and serial from the device itself, said once in each settle text.
_FROM_THE_DEVICE = (
    "its label (maker, model and serial), or its own interface read by a scan with its credentials"
)


def _makers(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(" or ") if name.strip())


def review_reason(note: str, candidates: Sequence[str]) -> tuple[tuple[str, ...], str]:
    """The makers a review note names (besides ``candidates``) and what would settle it."""
    reason = note.removeprefix(REVIEW_NOTE_PREFIX)
    kind: re.Pattern[str] | None = None
    makers: tuple[str, ...] = ()
    for pattern in (_POSSIBLY, _NOT_ESTABLISHED, _EITHER):
        match = pattern.match(reason)
        if match:
            kind, makers = pattern, _makers(match.group("makers"))
            break
    named = " or ".join(makers or candidates) or "the maker"
    relabel = _RELABEL.search(reason)
    if relabel:
        settle = (
            f"Its model number, from {_FROM_THE_DEVICE}: it shows whether this is one of the "
            f"{relabel.group('brand')} lines made by {named}."
        )
    elif "only signals several makers share" in reason:
        settle = f"A signal only {named} gives: {_FROM_THE_DEVICE}."
    elif kind is _NOT_ESTABLISHED:
        settle = f"Confirming that {named} made it: {_FROM_THE_DEVICE}."
    elif kind is _EITHER:
        settle = f"Which of {named} made it: {_FROM_THE_DEVICE}."
    elif reason.startswith(_CONDITIONAL):
        checks = []
        if "device type" in reason:
            checks.append("what kind of device it is (seen on site, or its label)")
        if "acquired after" in reason:
            checks.append("when it was acquired (the asset register or purchase records)")
        settle = "Whether the condition holds: " + (
            " and ".join(checks) if checks else "a person's check against the measure"
        )
        settle += "."
    elif reason.startswith(_SCREENED):
        settle = f"Checking the screening's reason against the device: {_FROM_THE_DEVICE}."
    else:
        settle = f"A person's check of the reason against the device: {_FROM_THE_DEVICE}."
    return makers, settle


@dataclass(frozen=True)
class _Confirmed:
    """What confirming a maker would mean: the policies that would restrict it outright, and
    those that would only on a condition the evidence leaves open (with that condition)."""

    outright: tuple[str, ...]
    #: (policy ids, condition), one entry per condition.
    conditional: tuple[tuple[tuple[str, ...], str], ...] = ()

    def line(self, maker: str) -> str:
        """``"Hikvision: restricted by ca, us, and by au only if its device type is …"``: a
        measure that binds only on a condition is never said to restrict outright (never
        "; ", which joins the lines in the XLSX)."""
        parts = [f"by {', '.join(ids)} only if {condition}" for ids, condition in self.conditional]
        if self.outright:
            parts.insert(0, f"by {', '.join(self.outright)}")
        if not parts:
            return f"{maker}: not restricted by the applied measures"
        return f"{maker}: restricted " + ", and ".join(parts)

    def conditional_policies(self) -> set[str]:
        return {policy for ids, _ in self.conditional for policy in ids}


class _Confirming:
    """Which of the report's policies would restrict a maker once it is confirmed, for the
    party a device's verdict was judged for and on the day it was judged (the knowledge's
    own assessment, memoised): a measure not in force that day restricts nothing, as in the
    verdict beside it."""

    def __init__(self, policy_ids: Sequence[str]) -> None:
        self._ids = tuple(policy_ids)
        self._memo: dict[tuple[str, str | None, tuple[str, ...], date | None], _Confirmed] = {}
        self._loaded: tuple[Any, Any, Any] | None = None

    def _knowledge(self) -> tuple[Any, Any, Any]:
        if self._loaded is None:
            from provscan.knowledge.loader import load_knowledge

            knowledge = load_knowledge()
            policies = knowledge.select_policies(list(self._ids) or None)
            self._loaded = (knowledge, policies, maker_countries(knowledge.vendors))
        return self._loaded

    def binds_later(
        self, finding: dict[str, Any], acting_as: Sequence[str], on: date | None
    ) -> bool:
        """Whether a stored finding's measure, not in force on ``on`` (the day the device was
        judged), binds ``acting_as`` once it is: not "a measure that does not bind you"
        (:func:`~provscan.policy.evaluate.binds_once_in_force`)."""
        if finding.get("binding") is not False:
            return False
        return binds_once_in_force(finding, self._knowledge()[1], acting_as, on)

    def __call__(
        self,
        maker: str,
        device_type: str | None,
        acting_as: Sequence[str],
        on: date | None = None,
    ) -> _Confirmed:
        """``on``: the judging day (None: today)."""
        key = (maker, device_type, tuple(acting_as), on)
        if key not in self._memo:
            knowledge, policies, countries = self._knowledge()
            candidate = MakerCandidate(maker, knowledge.family_of(maker))
            assessment = assess(
                [candidate],
                policies,
                device_type=device_type,
                countries=countries,
                acting_as=acting_as,
                on=on,
            )
            outright = tuple(assessment.restricted_by.get(maker, ()))
            # a measure that restricts the maker only on a condition the evidence leaves open
            # (its kind of device, when it was bought), by condition, unless its policy
            # restricts the maker outright through another measure
            conditions: dict[str, dict[str, None]] = {}
            for finding in assessment.conditional:
                if finding.policy not in outright and finding.condition:
                    conditions.setdefault(finding.condition, {})[finding.policy] = None
            self._memo[key] = _Confirmed(
                outright, tuple((tuple(ids), condition) for condition, ids in conditions.items())
            )
        return self._memo[key]


def _if_confirmed(
    makers: Sequence[str],
    reasons: Sequence[str],
    device_type: str | None,
    confirming: _Confirming,
    acting_as: Sequence[str],
    on: date | None = None,
) -> tuple[str, ...]:
    """One line per candidate maker: the applied measures' policies that would restrict it
    outright, and apart from them those that would only on a condition (judged on ``on``, the
    day the device's verdict was judged, for the ``device_type`` it was judged with)."""
    lines = []
    said: set[str] = set()
    for maker in makers:
        confirmed = confirming(maker, device_type, acting_as, on)
        lines.append(confirmed.line(maker))
        said |= confirmed.conditional_policies()
    for reason in reasons:
        if reason.startswith(_CONDITIONAL):
            pieces = reason.split(": ", 1)[-1].split(" / ")
            named = dict.fromkeys(piece.split(" (", 1)[0].strip() for piece in pieces)
            if not set(named) <= said:  # a maker's line above already says it
                lines.append(f"restricted by {', '.join(named)} if the condition holds")
    return tuple(lines)


def _review_rows(
    store: Store,
    devices: Sequence[dict[str, Any]],
    documents: dict[str, dict[str, Any]],
    *,
    confirming: _Confirming,
    acting_as: Any,
    limit: int,
    judged: dict[str, dict[str, Any]] | None = None,
    judged_on: Any = lambda device: None,
) -> tuple[tuple[ReviewRow, ...], int]:
    """The devices to review (verdict ``review``, not gone), by site and address, the first
    ``limit`` with their reasons read from their newest document; and how many devices to
    review are gone. A scan report (``documents``: that scan's) lists every device it saw to
    review, each with that scan's document."""
    found = [device for device in devices if device.get("verdict") == REVIEW]
    if documents:  # a scan report: the devices that scan saw, present when it ran
        found = [device | {"status": "present"} for device in found]
    listed = sorted(
        (device for device in found if device["status"] != GONE),
        key=lambda d: (d["site"] or "", address_sort_key(d["ip"]), d["device_id"]),
    )
    rows = []
    for index, device in enumerate(listed):
        base = {
            "device_id": device["device_id"],
            "ip": device["ip"],
            "site": device["site"],
            "status": device["status"],
            "brand": device.get("brand"),
            "model": device.get("model"),
            "manufacturer": device.get("manufacturer"),
            "last_seen": device.get("last_seen"),
        }
        if index >= limit:
            rows.append(
                ReviewRow(**base, candidates=(), if_confirmed=(), reasons=(), settle=(), read=False)
            )
            continue
        document = (judged or {}).get(device["device_id"]) or documents.get(device["device_id"])
        if document is None:  # the review notes of the sighting the verdict comes from
            document = store.device_evidence(device["device_id"])[1].document
        notes = [
            without_cli_advice(note)
            for note in document.get("notes") or ()
            if isinstance(note, str) and note.startswith(REVIEW_NOTE_PREFIX)
        ]
        established = (device["manufacturer"],) if device.get("manufacturer") else ()
        makers: dict[str, None] = {}
        reasons, settle = [], []
        for note in notes:
            named, how = review_reason(note, established)
            makers.update(dict.fromkeys(named))
            reasons.append(note.removeprefix(REVIEW_NOTE_PREFIX))
            settle.append(how)
        candidates = tuple(makers) or established
        rows.append(
            ReviewRow(
                **base,
                candidates=candidates,
                if_confirmed=_if_confirmed(
                    tuple(makers),
                    reasons,
                    # the type the verdict and its reasons were judged with (the inventory
                    # keeps an older sighting's type when the newest one has none)
                    document.get("device_type", device.get("device_type")),
                    confirming,
                    acting_as(device),
                    judged_on(device),
                ),
                reasons=tuple(reasons),
                settle=tuple(dict.fromkeys(settle)),
                if_made_by=conditional_advice(document),
            )
        )
    return tuple(rows), len(found) - len(listed)


def conditional_advice(document: dict[str, Any]) -> tuple[str, ...]:
    """A device document's advice that applies only if a maker the evidence leaves open made
    it (patch or replace items with a ``condition``), priority 1 first, as posture words it."""
    items = [
        item
        for item in document.get("remediation") or ()
        if isinstance(item, dict)
        and item.get("action") in ("patch", "replace")
        and advice_condition(item.get("condition"), str(item.get("reason", ""))) is not None
    ]
    items.sort(key=lambda item: item.get("priority", 9))
    return tuple(f"priority {item.get('priority')}: {item.get('reason')}" for item in items)


# --- cases closed in the period ------------------------------------------------------------

#: The statuses a person sets before a scan verifies a restricted-maker case.
_DONE = ("removed", "replaced")


def _status_from_to(event: CaseEvent) -> tuple[str | None, str] | None:
    status = event.changes.get("status")
    if isinstance(status, list | tuple) and len(status) == 2:
        return (None if status[0] is None else str(status[0])), str(status[1])
    return None


def _status_to(event: CaseEvent) -> str | None:
    status = _status_from_to(event)
    return status[1] if status else None


def _reopening(event: CaseEvent) -> bool:
    status = _status_from_to(event)
    return event.action == "reopened" or (status is not None and status[0] == VERIFIED)


def closed_case(
    case: Case, device: dict[str, Any], scans: dict[str, ScanSummary]
) -> ClosedCase | None:
    """The evidence of a verified case (``case`` with its trail): what was done, by whom and
    when, the note, and the scan that proved it; None when the scan that verified it last is
    not one of ``scans`` (the report's period)."""
    events = list(case.events)
    last = next(
        (i for i in range(len(events) - 1, -1, -1) if _status_to(events[i]) == "verified"),
        None,
    )
    if last is None:
        return None
    verified = events[last]
    proof = scans.get(verified.scan_id or "")
    if proof is None:
        return None
    # this closing's own steps: those since the case was last reopened (a removal recorded
    # before a scan saw the device again belongs to its earlier life, shown as history)
    start = next((i + 1 for i in range(last - 1, -1, -1) if _reopening(events[i])), 0)
    earlier = events[start:last]
    done = next((e for e in reversed(earlier) if _status_to(e) in _DONE), None)
    if done is not None:
        action, actor, acted_at = str(_status_to(done)), done.actor, done.at
        note = done.note
    elif case.subject == RESTRICTED:  # a trail from before removals were required
        action, actor, acted_at, note = "not recorded", None, None, ""
    else:  # a posture finding: a scan saw the device without it
        action, actor, acted_at, note = "fixed", None, None, ""
    if not note:
        note = next((e.note for e in reversed(earlier) if e.note and e.actor != SCAN_ACTOR), "")
    return ClosedCase(
        case=case,
        ip=str(device["ip"]),
        site=device["site"],
        device=device_label(device),
        action=action,
        actor=actor,
        acted_at=acted_at,
        note=note,
        verified_at=verified.at,
        verified_by=verified.actor,
        proof_scan=proof.id,
        proof_started=proof.started_at,
        proof_note=verified.note,
        history=case_steps(events[:start]),
    )


def _closed_cases(
    store: Store,
    cases: Sequence[Case],
    devices: dict[str, dict[str, Any]],
    scans: dict[str, ScanSummary],
    *,
    limit: int,
) -> tuple[tuple[ClosedCase, ...], int]:
    """The verified cases of ``devices`` closed by one of ``scans``, newest first: the first
    ``limit`` with their trails read; and how many verified cases were left unread."""
    verified = sorted(
        (case for case in cases if case.status == VERIFIED),
        key=lambda case: (case.updated_at, case.id),
        reverse=True,
    )
    found = []
    for case in verified[:limit]:
        closed = closed_case(store.case(case.id), devices[case.device_id], scans)
        if closed is not None:
            found.append(closed)
    return tuple(found), max(len(verified) - limit, 0)

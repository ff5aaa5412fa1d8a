"""The shapes of the API's success answers, for its OpenAPI document (which schemathesis checks
every answer against). They document; the routes still build their own JSON."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from provscan.report.contract import ScanDocument, Verdict
from provscan.screening.verdict import ScreenRow


def ok(model: type[BaseModel], status: int = 200, text: str = "done") -> dict[int | str, Any]:
    """A route's ``responses=`` entry for its success answer."""
    return {status: {"model": model, "description": text}}


class Problem(BaseModel):
    """Every error answer of the API, whatever its status: one line in ``detail`` that names
    the parameter, field or header at fault and what is wrong with it, never how the server
    is built."""

    detail: str


class UserOut(BaseModel):
    name: str
    role: Literal["viewer", "analyst", "admin"]
    created: str
    locked_until: str | None
    disabled: bool


class SessionOut(BaseModel):
    user: UserOut
    #: ``token`` or ``session`` (absent right after logging in).
    via: Literal["token", "session"] | None = None
    csrf_token: str | None


class LoggedOut(BaseModel):
    logged_out: bool


class ScanSummaryOut(BaseModel):
    id: str
    kind: str
    site: str | None
    targets: list[str]
    started_at: str | None
    finished_at: str | None
    devices: int
    restricted: int
    complete: bool
    covering: bool
    policies: list[str]


class ScanList(BaseModel):
    scans: list[ScanSummaryOut]


class ScanJobOut(BaseModel):
    """A scan started through the API: run here (``events``, ``events_url``) or sent to a
    site's sensor (``requested_by``, ``sensor``, ``counts``, ``status_url``)."""

    id: str
    state: str
    targets: list[str]
    site: str | None
    scan_id: str | None
    #: A job sent to a site: ``scan``, ``pcap`` or ``discover``.
    kind: str | None = None
    started_by: str | None = None
    events: int | None = None
    #: Where the job's progress streams (in the answer that started it).
    events_url: str | None = None
    requested_by: str | None = None
    created: str | None = None
    updated: str | None = None
    sensor: str | None = None
    counts: dict[str, int | None] | None = None
    detail: str | None = None
    status_url: str | None = None


class StoredScan(BaseModel):
    summary: ScanSummaryOut
    document: ScanDocument


class CaseBriefOut(BaseModel):
    id: int
    status: str
    due: str | None


class InventoryDeviceOut(BaseModel):
    """One device of the inventory JSON (docs/inventory.md)."""

    device_id: str
    site: str | None
    status: Literal["present", "missing", "gone"]
    first_seen: str | None
    last_seen: str | None
    last_scan_id: str
    missed_scans: int
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
    #: restricted, review, unknown (nothing identified the maker: not cleared) or clear.
    verdict: Verdict
    findings: list[dict[str, Any]]
    case: CaseBriefOut | None
    open_cases: int


class DevicePage(BaseModel):
    devices: list[InventoryDeviceOut]
    #: The cursor of the next page; null on the last.
    next: str | None


class CaseEventOut(BaseModel):
    at: str
    actor: str
    action: str
    changes: dict[str, Any]
    note: str
    scan_id: str | None


class CaseOut(BaseModel):
    id: int
    device_id: str
    subject: str
    reason: str
    status: str
    owner: str | None
    due: str | None
    overdue: bool
    opened_at: str
    updated_at: str
    history: list[CaseEventOut]


class CaseList(BaseModel):
    cases: list[CaseOut]
    #: The cursor of the next page; null on the last.
    next: str | None


class SightingOut(BaseModel):
    """One stored sighting of a device: the scan that saw it, when and how."""

    scan_id: str
    started_at: str | None
    #: active, passive (a capture) or import.
    kind: str
    #: What the scan was given: addresses, a capture file, an imported file.
    targets: list[str]
    site: str | None


class NewerSightingOut(SightingOut):
    #: How many sightings newer than the one the verdict comes from identified nothing.
    unidentified: int


class DeviceDetail(BaseModel):
    device: InventoryDeviceOut
    #: The full contract document of the sighting the device's verdict comes from (its
    #: evidence and findings): the newest sighting that identified it (docs/inventory.md),
    #: which is not the newest sighting when a newer one identified nothing.
    document: dict[str, Any]
    #: The sighting ``document`` is of.
    sighting: SightingOut
    #: The device's newest sighting when it identified nothing (a capture of its resets, an
    #: asset register's record) and ``document`` is an older one's; null otherwise.
    newer_sighting: NewerSightingOut | None
    cases: list[CaseOut]


class SiteCount(BaseModel):
    site: str | None
    devices: int


class MakerCount(BaseModel):
    manufacturer: str | None
    devices: int


class KnowledgeAge(BaseModel):
    version: str | None
    as_of: str | None


class MeasureCount(BaseModel):
    policy: str
    effects: list[str]
    #: Whether the measure binds the party the scans were judged for (None: every measure
    #: counted, ``--as all``).
    binding: bool | None
    #: What must hold for a measure that binds them to restrict the device, which the
    #: evidence cannot settle (the UK statement's sensitive site): its devices are listed,
    #: not counted in the jurisdiction's ``devices``; None: it restricts outright.
    condition: str | None = None
    devices: int


class JurisdictionCount(BaseModel):
    jurisdiction: str
    #: Restricted devices counted by the measures that bind (each device once).
    devices: int
    measures: list[MeasureCount]


class TrendPointOut(BaseModel):
    at: str
    scan_id: str
    devices: int
    restricted: int
    #: null: not known (a scan stored before totals were kept).
    open_cases: int | None
    overdue_cases: int | None


class Summary(BaseModel):
    devices: int
    by_status: dict[str, int]
    restricted: int
    restricted_by_site: list[SiteCount]
    restricted_by_maker: list[MakerCount]
    restricted_by_jurisdiction: list[JurisdictionCount]
    #: The inventory's totals after stored scans, oldest first (at most 60 points, evenly
    #: spread, the first and newest always).
    trend: list[TrendPointOut]
    open_cases: int
    overdue_cases: int
    knowledge: KnowledgeAge


class ChangedDevice(BaseModel):
    device_id: str
    changes: dict[str, Any]


class DiffOut(BaseModel):
    old: ScanSummaryOut
    new: ScanSummaryOut
    added: list[dict[str, Any]]
    removed: list[dict[str, Any]]
    changed: list[ChangedDevice]
    not_covered: list[dict[str, Any]]
    #: Devices seen by the newer scan without values the older read (not changes).
    not_read: list[dict[str, Any]] = []


class ScreenedRows(BaseModel):
    rows: list[ScreenRow]
    #: How the list was read (which sheet of several, merged cells, no header found, ...).
    notes: list[str]
    #: The org types the verdicts were judged for (``["all"]``: every measure counts; empty:
    #: the default reading), as each row's ``acting_as``.
    acting_as: list[str]
    #: Whom the verdicts were judged for, in words, as each row's ``judged_for``.
    judged_for: str


class PolicyList(BaseModel):
    policies: list[dict[str, Any]]


class KnowledgeStatus(BaseModel):
    name: str | None = None
    version: str | None
    as_of: str | None
    source: str
    counts: dict[str, int]


class UserList(BaseModel):
    users: list[UserOut]


class Removed(BaseModel):
    removed: str


class Unlocked(BaseModel):
    user: UserOut
    #: Whether the account was locked out (by failed logins) before.
    was_locked: bool


class PasswordReset(BaseModel):
    user: UserOut
    #: The user's login sessions that ended, and API tokens revoked, by the reset.
    sessions_ended: int
    tokens_revoked: int


class AuditEntry(BaseModel):
    id: int
    at: str
    actor: str
    action: str
    target: str | None
    address: str
    detail: dict[str, Any]


class AuditLog(BaseModel):
    entries: list[AuditEntry]
    #: The cursor of the next (older) page; null on the last.
    next: str | None = None

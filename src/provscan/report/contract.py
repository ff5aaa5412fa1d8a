"""The versioned JSON contract of a scan (schema version ``1.2``).

The domain values in :mod:`provscan.model` are frozen dataclasses; this module holds the
separate, strict pydantic shapes that cross the process boundary (files, API, database).
The committed JSON schema ``schema/scan-v1.schema.json`` is generated from
:class:`ScanDocument` by ``scripts/gen_schema.py`` and a test keeps the two equal.

Changing a field here is a contract change: bump :data:`SCHEMA_VERSION`, regenerate the
schema and the golden file, and note it in the CHANGELOG.

1.1 (additive): evidence entries carry ``detail`` (where the fact was seen: an HTTP path,
or a capture's packet number and time; ``""`` when there is nothing to say) and devices
carry ``phones_home`` (vendor cloud/P2P/update services contacted; empty for active scans).

1.2 (additive): devices carry their security posture: ``vulnerabilities`` (CVE, CVSS, KEV,
fixed version, source, status), ``exposure`` (internet paths, cloud/P2P, insecure services,
default accounts) and ``remediation`` (replace / isolate / patch / reconfigure, with priority).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from importlib import resources
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from provscan.model import (
    AttemptStatus,
    Device,
    Evidence,
    Exposure,
    Finding,
    PhoneHome,
    ProbeAttempt,
    Remediation,
    ScanInfo,
    ScanResult,
    Vulnerability,
)

SCHEMA_VERSION: Literal["1.2"] = "1.2"
SCHEMA_FILENAME = "scan-v1.schema.json"
SCHEMA_ID = "urn:provscan:schema:scan:1.2"

PortNumber = Annotated[int, Field(ge=0, le=65535)]
#: A certainty or confidence, from 0 (nothing known) to 1 (certain).
UnitInterval = Annotated[float, Field(ge=0.0, le=1.0)]


class _Strict(BaseModel):
    # strict: a reader of the contract must not coerce "80" into 80.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class FindingEntry(_Strict):
    """One policy verdict on a device. A measure that restricts nothing (context only) has a
    scope note starting "Context only - this measure restricts nothing."."""

    policy: str = Field(description="Policy (measure) identifier from the knowledge base.")
    jurisdiction: str
    measure: str
    citation: str
    effective: str = Field(description="Date the measure took effect, ISO 8601.")
    family: str = Field(description="Corporate family the measure applies to.")
    scope_note: str


class EvidenceEntry(_Strict):
    """One observed fact and what a fingerprint rule concluded from it."""

    protocol: str
    port: PortNumber | None
    field: str = Field(description="What was observed, e.g. http.server or rtsp.realm.")
    observed: str = Field(description="The raw value as seen on the wire.")
    rule_id: str | None = Field(description="Fingerprint rule that matched; null for raw facts.")
    asserts: dict[str, str]
    certainty: UnitInterval
    detail: str = Field(
        description=(
            "Where the fact was seen, e.g. the HTTP path or a capture's packet number and "
            'time; "" when there is nothing to add.'
        )
    )


class PhoneHomeEntry(_Strict):
    """A vendor cloud, P2P or update service the device contacted (seen in a capture)."""

    service: str = Field(description="The service, from the reviewed cloud endpoint list.")
    endpoint: str = Field(description="The name looked up or contacted (DNS query, TLS SNI).")
    packet: int = Field(ge=1, description="Number of the first packet showing it (1-based).")
    time: AwareDatetime = Field(description="Capture time of that packet, UTC.")


class AttemptEntry(_Strict):
    """The outcome of one probe on one port; failures are reported, never dropped."""

    probe: str
    port: PortNumber
    status: AttemptStatus
    error: str
    elapsed_s: float = Field(ge=0.0)


class VulnerabilityEntry(_Strict):
    """A published vulnerability whose affected products include the device."""

    cve: str
    cvss: float = Field(ge=0.0, le=10.0, description="CVSS base score.")
    severity: Literal["critical", "high", "medium", "low", "none"]
    kev: bool = Field(description="In CISA's Known Exploited Vulnerabilities catalog.")
    kev_date_added: str | None = Field(description="Date added to KEV, ISO 8601, or null.")
    fixed_in: str | None = Field(description="The firmware that fixes it, as published.")
    source: str = Field(description="Reference for the entry (NVD/advisory URL).")
    status: Literal["vulnerable", "likely", "undetermined"] = Field(
        description=(
            "vulnerable: firmware in the published range; likely: in an approximate range; "
            "undetermined: the model is listed but the firmware could not be placed."
        )
    )
    note: str


class ExposureEntry(_Strict):
    """Something that makes the device reachable or leaky, and how it was seen."""

    kind: str = Field(
        description=(
            "internet_upnp_mapping, public_address, cloud_p2p, telnet, plain_http_login, "
            "rtsp_unauthenticated or default_credentials."
        )
    )
    detail: str
    evidence: str


class RemediationEntry(_Strict):
    """What to do about one finding."""

    action: Literal["replace", "isolate", "patch", "reconfigure"]
    reason: str
    priority: int = Field(ge=1, description="1 = do first.")
    detail: str = Field(description="Concrete steps: version, VLAN and firewall rules, setting.")


class DeviceEntry(_Strict):
    """One host with at least one open port, and the identity attributed to it."""

    ip: str
    mac: str | None
    hostname: str | None
    open_ports: list[PortNumber]
    manufacturer: str | None
    brand: str | None
    relation: str | None
    family: str | None
    model: str | None
    firmware: str | None
    serial: str | None
    device_type: str | None
    confidence: UnitInterval
    restricted: bool
    findings: list[FindingEntry]
    vulnerabilities: list[VulnerabilityEntry]
    exposure: list[ExposureEntry]
    remediation: list[RemediationEntry]
    evidence: list[EvidenceEntry]
    phones_home: list[PhoneHomeEntry] = Field(
        description="Vendor cloud/P2P/update services contacted; empty for active scans."
    )
    conflicts: list[str]
    attempts: list[AttemptEntry]
    notes: list[str]


class ScanSection(_Strict):
    """What was scanned, when, with which policies, and how it went."""

    id: str
    kind: Literal["active", "passive", "import"]
    started_at: AwareDatetime
    finished_at: AwareDatetime | None
    targets: list[str]
    ports: list[PortNumber]
    policies: list[str]
    tool_version: str
    hosts_scanned: int = Field(ge=0)
    hosts_responding: int = Field(ge=0)
    devices_found: int = Field(ge=0)
    restricted_count: int = Field(ge=0)
    complete: bool = Field(description="False when the scan was interrupted or cut short.")
    notes: list[str]


class ScanDocument(_Strict):
    """A whole scan as exchanged in JSON: the top-level object of the contract."""

    model_config = ConfigDict(
        title="provscan scan",
        json_schema_extra={
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": SCHEMA_ID,
        },
    )

    schema_version: Literal["1.2"]
    scan: ScanSection
    devices: list[DeviceEntry]

    @model_validator(mode="after")
    def _counts_match(self) -> ScanDocument:
        if self.scan.devices_found != len(self.devices):
            raise ValueError(
                f"scan.devices_found is {self.scan.devices_found} "
                f"but there are {len(self.devices)} devices"
            )
        restricted = sum(device.restricted for device in self.devices)
        if self.scan.restricted_count != restricted:
            raise ValueError(
                f"scan.restricted_count is {self.scan.restricted_count} "
                f"but {restricted} devices are restricted"
            )
        return self


# --- domain -> contract ----------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    # Naive datetimes are taken as local time (what datetime.now() gives); the contract
    # carries UTC so that output is stable across machines.
    return moment.astimezone(UTC)


def _ip_sort_key(ip: str) -> tuple[int, int, str]:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return (9, 0, ip)
    return (address.version, int(address), ip)


def ordered_devices(devices: Iterable[Device]) -> list[Device]:
    """Devices in contract order: by IP address (IPv4 first), not by when hosts finished."""
    return sorted(devices, key=lambda device: _ip_sort_key(device.ip))


#: A finding whose measure restricts nothing (``effect: context`` in policies.yaml) carries
#: this at the start of its scope note: contract 1.2 has no field for it, and the device's
#: ``restricted`` never follows from such a finding.
CONTEXT_SCOPE_PREFIX = "Context only - this measure restricts nothing. "


def _finding(finding: Finding) -> FindingEntry:
    scope_note = finding.scope_note
    if finding.effect == "context":
        scope_note = CONTEXT_SCOPE_PREFIX + scope_note
    return FindingEntry(
        policy=finding.policy,
        jurisdiction=finding.jurisdiction,
        measure=finding.measure,
        citation=finding.citation,
        effective=finding.effective,
        family=finding.family,
        scope_note=scope_note,
    )


def _domain_finding(entry: FindingEntry) -> Finding:
    context = entry.scope_note.startswith(CONTEXT_SCOPE_PREFIX)
    return Finding(
        policy=entry.policy,
        jurisdiction=entry.jurisdiction,
        measure=entry.measure,
        citation=entry.citation,
        effective=entry.effective,
        family=entry.family,
        scope_note=entry.scope_note.removeprefix(CONTEXT_SCOPE_PREFIX),
        effect="context" if context else "restricts",
    )


def _evidence(evidence: Evidence) -> EvidenceEntry:
    return EvidenceEntry(
        protocol=evidence.protocol,
        port=evidence.port,
        field=evidence.observed_field,
        observed=evidence.observed,
        rule_id=evidence.rule_id,
        asserts=dict(evidence.asserts),
        certainty=evidence.certainty,
        detail=evidence.detail,
    )


def _phone_home(contact: PhoneHome) -> PhoneHomeEntry:
    return PhoneHomeEntry(
        service=contact.service,
        endpoint=contact.endpoint,
        packet=contact.packet,
        time=_utc(contact.time),
    )


def _attempt(attempt: ProbeAttempt) -> AttemptEntry:
    return AttemptEntry(
        probe=attempt.probe,
        port=attempt.port,
        status=AttemptStatus(attempt.status),
        error=attempt.error,
        elapsed_s=attempt.elapsed_s,
    )


def _device(device: Device) -> DeviceEntry:
    return DeviceEntry(
        ip=device.ip,
        mac=device.mac,
        hostname=device.hostname,
        open_ports=list(device.open_ports),
        manufacturer=device.manufacturer,
        brand=device.brand,
        relation=device.relation,
        family=device.family,
        model=device.model,
        firmware=device.firmware,
        serial=device.serial,
        device_type=device.device_type,
        confidence=device.confidence,
        restricted=device.restricted,
        findings=[_finding(finding) for finding in device.findings],
        vulnerabilities=[
            VulnerabilityEntry(
                cve=item.cve,
                cvss=item.cvss,
                severity=item.severity,  # type: ignore[arg-type]  # validated by pydantic
                kev=item.kev,
                kev_date_added=item.kev_date_added,
                fixed_in=item.fixed_in,
                source=item.source,
                status=item.status,  # type: ignore[arg-type]
                note=item.note,
            )
            for item in device.vulnerabilities
        ],
        exposure=[
            ExposureEntry(kind=item.kind, detail=item.detail, evidence=item.evidence)
            for item in device.exposure
        ],
        remediation=[
            RemediationEntry(
                action=item.action,  # type: ignore[arg-type]
                reason=item.reason,
                priority=item.priority,
                detail=item.detail,
            )
            for item in device.remediation
        ],
        evidence=[_evidence(evidence) for evidence in device.evidence],
        phones_home=[_phone_home(contact) for contact in device.phones_home],
        conflicts=list(device.conflicts),
        attempts=[_attempt(attempt) for attempt in device.attempts],
        notes=list(device.notes),
    )


def to_contract(result: ScanResult) -> ScanDocument:
    """Build the contract document of a scan.

    Devices are ordered by IP address (not by the order hosts finished) so that the
    same scan always gives the same output; timestamps are converted to UTC.
    """
    info = result.info
    devices = ordered_devices(result.devices)
    scan = ScanSection(
        id=info.scan_id,
        kind=info.kind,  # type: ignore[arg-type]  # validated by pydantic at run time
        started_at=_utc(info.started_at),
        finished_at=_utc(info.finished_at) if info.finished_at is not None else None,
        targets=list(info.targets),
        ports=list(info.ports),
        policies=list(info.policies),
        tool_version=info.tool_version,
        hosts_scanned=info.hosts_scanned,
        hosts_responding=info.hosts_responding,
        devices_found=len(devices),
        restricted_count=sum(device.restricted for device in devices),
        complete=info.complete,
        notes=list(info.notes),
    )
    return ScanDocument(
        schema_version=SCHEMA_VERSION,
        scan=scan,
        devices=[_device(device) for device in devices],
    )


def from_contract(data: str | bytes | Mapping[str, Any]) -> ScanDocument:
    """Read a contract document back (JSON text, or the object ``json.loads`` gave).

    Validation follows JSON rules in both cases (timestamps are ISO strings), so a dict
    and its JSON text are accepted or rejected alike. Raises ``pydantic.ValidationError``.
    """
    if isinstance(data, Mapping):
        data = json.dumps(data)
    return ScanDocument.model_validate_json(data)


# --- contract -> domain ----------------------------------------------------------------


def to_domain(document: ScanDocument) -> ScanResult:
    """Turn a contract document back into domain values (e.g. to re-render a stored scan).

    The contract does not carry raw probe observations, so attempts come back without them.
    """
    scan = document.scan
    info = ScanInfo(
        scan_id=scan.id,
        kind=scan.kind,
        started_at=scan.started_at,
        finished_at=scan.finished_at,
        targets=tuple(scan.targets),
        ports=tuple(scan.ports),
        policies=tuple(scan.policies),
        tool_version=scan.tool_version,
        hosts_scanned=scan.hosts_scanned,
        hosts_responding=scan.hosts_responding,
        complete=scan.complete,
        notes=tuple(scan.notes),
    )
    devices = tuple(
        Device(
            ip=entry.ip,
            mac=entry.mac,
            hostname=entry.hostname,
            open_ports=tuple(entry.open_ports),
            manufacturer=entry.manufacturer,
            brand=entry.brand,
            relation=entry.relation,
            family=entry.family,
            model=entry.model,
            firmware=entry.firmware,
            serial=entry.serial,
            device_type=entry.device_type,
            confidence=entry.confidence,
            restricted=entry.restricted,
            findings=tuple(_domain_finding(finding) for finding in entry.findings),
            evidence=tuple(
                Evidence(
                    protocol=evidence.protocol,
                    port=evidence.port,
                    observed_field=evidence.field,
                    observed=evidence.observed,
                    rule_id=evidence.rule_id,
                    asserts=dict(evidence.asserts),
                    certainty=evidence.certainty,
                    detail=evidence.detail,
                )
                for evidence in entry.evidence
            ),
            phones_home=tuple(
                PhoneHome(
                    service=contact.service,
                    endpoint=contact.endpoint,
                    packet=contact.packet,
                    time=contact.time,
                )
                for contact in entry.phones_home
            ),
            conflicts=tuple(entry.conflicts),
            attempts=tuple(
                ProbeAttempt(
                    probe=attempt.probe,
                    port=attempt.port,
                    status=attempt.status,
                    error=attempt.error,
                    elapsed_s=attempt.elapsed_s,
                )
                for attempt in entry.attempts
            ),
            notes=tuple(entry.notes),
            vulnerabilities=tuple(
                Vulnerability(
                    cve=item.cve,
                    cvss=item.cvss,
                    severity=item.severity,
                    kev=item.kev,
                    fixed_in=item.fixed_in,
                    source=item.source,
                    status=item.status,
                    kev_date_added=item.kev_date_added,
                    note=item.note,
                )
                for item in entry.vulnerabilities
            ),
            exposure=tuple(
                Exposure(kind=item.kind, detail=item.detail, evidence=item.evidence)
                for item in entry.exposure
            ),
            remediation=tuple(
                Remediation(
                    action=item.action,
                    reason=item.reason,
                    priority=item.priority,
                    detail=item.detail,
                )
                for item in entry.remediation
            ),
        )
        for entry in document.devices
    )
    return ScanResult(info=info, devices=devices)


# --- the committed schema --------------------------------------------------------------


def generate_schema_text() -> str:
    """The JSON schema of :class:`ScanDocument`, as committed (indent 2, trailing newline)."""
    return json.dumps(ScanDocument.model_json_schema(), indent=2, ensure_ascii=True) + "\n"


def load_schema() -> dict[str, Any]:
    """The committed JSON schema shipped with the package."""
    text = (
        resources.files("provscan.report")
        .joinpath("schema", SCHEMA_FILENAME)
        .read_text(encoding="utf-8")
    )
    schema: dict[str, Any] = json.loads(text)
    return schema

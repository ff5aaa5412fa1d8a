"""The versioned JSON contract of a scan (schema version ``1.8``).

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

1.3 (additive; 1.2 documents still load): findings carry ``effect`` (what the measure does:
use-ban, procurement-ban, removal-order, authorization-ban, import-marketing-ban, advisory or
context) and ``binding`` (whether the measure binds the user who said who they are with
``--as``; without it, whether it binds a national government body, the default reading;
null with ``--as all``), and the scan carries ``acting_as`` (the org type ids given; empty
when none). Findings also carry ``deadline`` (the date a measure sets for removal or an
end of use; null when it sets none), and the scan ``knowledge_version`` and ``knowledge_as_of``
(the knowledge the devices were judged with; null before). A device is restricted when a finding restricts it: a restricting effect
from a measure with ``binding`` true or null. Migration: 1.2 marked a context finding with the
scope-note prefix "Context only - this measure restricts nothing. "; :func:`from_contract`
upgrades a 1.2 document by moving that prefix into ``effect: context``, giving every other
finding ``effect: restricts`` (a restricting measure whose kind 1.2 did not record),
``binding: null`` and ``acting_as: []``.

1.4 (additive; 1.2 and 1.3 documents still load): devices carry ``verdict``, the one word a
filter should use: ``restricted``, ``review`` (a restricted maker is possible, not
established), ``unknown`` (nothing identified the maker: not cleared) or ``clear``.
``restricted: false`` alone does not mean clear: an unknown device is not restricted either.
Upgrading a 1.3 (or 1.2) document gives each device the verdict its ``restricted``,
``notes`` and ``manufacturer`` say, exactly as :func:`verdict_of` decides it for a new one.

1.5 (additive; 1.2 to 1.4 documents still load): the scan carries ``judged_for``, whom the
verdicts were judged for in words: the ``--as`` org type ids (comma-separated), "a national
government body" (the default reading, ``acting_as: []``) or "anyone" (``--as all``, or
selected policies that declare no national government body). It is null in an upgraded
document (an empty ``acting_as`` did not say which of the last two it meant).

1.6 (additive; 1.2 to 1.5 documents still load): findings carry ``condition``: what must
hold for the measure to restrict the device that the tool cannot tell (the measure covers
only some kinds of its makers' equipment and the device's kind is not known: "its device
type is uas"; or only equipment acquired after a day, for a device found installed: "it was
acquired after 2023-12-21"); null when nothing. Such a finding never makes a device
restricted: the device is ``review``. Upgraded documents get ``condition: null``.

1.7 (additive; 1.2 to 1.6 documents still load): exposure entries carry ``port`` (the
device's port the exposure is on: the login page's, RTSP's, telnet's, the factory account's;
for a UPnP mapping, the port the gateway forwards to; null when tied to no port) and
``source`` (the address of the host it was observed on when that is not the device: the
gateway whose UPnP IGD mapping forwards to it; null otherwise). Devices carry
``alternatives``: the other makers the evidence supports as well as ``manufacturer``, each
with its family, when it does not say which made the device (empty when one maker is
established, or none). Before 1.7 these were said only in words (the exposure's detail, the
``replace`` reason's "maker X or Y"); upgraded documents get ``port: null``, ``source: null``
and ``alternatives: []`` (not recorded). Remediation items carry ``condition``: what must
hold for the advice to apply that the evidence does not establish ("made by Hikvision": an
advisory or end of support whose maker the evidence leaves open; the reason says "if made by
Hikvision: ..."); null when the advice is the device's own. Conditional advice opens no
remediation case and is not counted as the device's vulnerability. Upgraded documents get
``condition: null`` (before 1.7 it was said only in the reason's words).

1.8 (additive; 1.2 to 1.7 documents still load): remediation items carry ``effort``, the
rough effort of their kind of action as the table's Effort column shows it ("hours",
"days", "months": knowledge remediation.yaml ``effort``, the same for every item of a kind,
a planning figure for one device); null when the knowledge gives none. Upgraded documents
get ``effort: null`` (not recorded).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from importlib import resources
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from provscan.model import (
    AttemptStatus,
    Device,
    Evidence,
    FindingEffect,
    ProbeAttempt,
    ScanInfo,
    ScanResult,
    address_sort_key,
)
from provscan.policy.evaluate import REVIEW_NOTE_PREFIX

SCHEMA_VERSION: Literal["1.8"] = "1.8"
SCHEMA_FILENAME = "scan-v1.schema.json"
SCHEMA_ID = "urn:provscan:schema:scan:1.8"
#: Earlier versions :func:`from_contract` still reads (upgrading them to the current one).
READABLE_VERSIONS = ("1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "1.8")

PortNumber = Annotated[int, Field(ge=0, le=65535)]
#: A certainty or confidence, from 0 (nothing known) to 1 (certain).
UnitInterval = Annotated[float, Field(ge=0.0, le=1.0)]


class _Strict(BaseModel):
    # strict: a reader of the contract must not coerce "80" into 80.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class FindingEntry(_Strict):
    """One measure that names a device, what it does, and whether it binds the user."""

    policy: str = Field(description="Policy (measure) identifier from the knowledge base.")
    jurisdiction: str
    measure: str
    citation: str
    effective: str = Field(description="Date the measure took effect, ISO 8601.")
    family: str = Field(
        description=(
            "Corporate family the measure applies to (the maker's name when the measure names "
            "a device category and country of production rather than a family)."
        )
    )
    scope_note: str
    effect: FindingEffect = Field(
        description=(
            "What the measure does for those it binds: use-ban, procurement-ban, removal-order, "
            "authorization-ban and import-marketing-ban restrict; advisory and context never "
            "do. restricts: a restricting measure read from a 1.2 document (kind not recorded)."
        )
    )
    binding: bool | None = Field(
        description=(
            "Whether the measure binds the user (scan.acting_as); when scan.acting_as is "
            "empty (the user did not say), whether it binds a national government body (the "
            "default reading); null with --as all (every restricting measure counts) and in "
            "documents upgraded from 1.2."
        )
    )
    deadline: str | None = Field(
        default=None,
        description=(
            "ISO 8601 date by which the measure requires removal or an end of use, when its "
            "text sets one; null otherwise (remediation cases then follow the organisation's "
            "service level)."
        ),
    )
    condition: str | None = Field(
        default=None,
        description=(
            "What must hold for the measure to restrict the device that the tool cannot tell "
            "(e.g. 'its device type is uas', 'it was acquired after 2023-12-21'); null when "
            "nothing. A finding with a condition never makes the device restricted: the "
            "device is review."
        ),
    )


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
    port: PortNumber | None = Field(
        # A default, so that an exposure stored before 1.7 still reads (not recorded).
        default=None,
        description=(
            "The device's port the exposure is on (the login page's, RTSP's, telnet's, the "
            "factory account's; for a UPnP mapping, the port the gateway forwards to); null "
            "when it is tied to no port (a public address, a cloud contact seen in a capture) "
            "and in documents stored before 1.7."
        ),
    )
    source: str | None = Field(
        default=None,
        description=(
            "The address of the host the exposure was observed on when that is not the "
            "device: the gateway whose UPnP IGD port mapping forwards to it "
            "(internet_upnp_mapping). Null when it was seen on the device itself, and in "
            "documents stored before 1.7."
        ),
    )


class MakerCandidateEntry(_Strict):
    """A maker the evidence supports as well as the device's manufacturer."""

    maker: str
    family: str | None = Field(description="Its corporate family (knowledge id), if known.")


class RemediationEntry(_Strict):
    """What to do about one finding."""

    action: Literal["replace", "isolate", "patch", "reconfigure"]
    reason: str
    priority: int = Field(ge=1, description="1 = do first.")
    detail: str = Field(description="Concrete steps: version, VLAN and firewall rules, setting.")
    condition: str | None = Field(
        # A default, so that an item stored before 1.7 still reads (not recorded).
        default=None,
        description=(
            "What must hold for the advice to apply that the evidence does not establish: "
            "'made by Hikvision' when the advisory or end of support names a maker the "
            "evidence leaves open (several candidate makers, or a confidence below the "
            "verdict's threshold); the reason then says 'if made by ...'. Such advice is not "
            "counted as the device's own (no vulnerable count, no remediation case). Null when "
            "it applies to the device as identified, and in documents stored before 1.7."
        ),
    )
    effort: str | None = Field(
        # A default, so that an item stored before 1.8 still reads (not recorded).
        default=None,
        description=(
            "The rough effort of this kind of action, as the table's Effort column shows it "
            "(e.g. 'hours', 'days', 'months'; the knowledge's remediation.yaml effort): a "
            "planning figure for one device, the same for every item of the kind. Null when "
            "the knowledge gives none, and in documents stored before 1.8."
        ),
    )


#: A device's verdict, most urgent first (what the table groups by; see :func:`verdict_of`).
Verdict = Literal["restricted", "review", "unknown", "clear"]
VERDICTS: tuple[Verdict, ...] = ("restricted", "review", "unknown", "clear")


def verdict_of(restricted: bool, notes: Iterable[str], manufacturer: str | None) -> Verdict:
    """The one place that maps a device's fields to its verdict: restricted when a binding
    measure restricts it; review when policy judging left a ``review:`` note; unknown when
    no maker was established (not cleared); clear otherwise."""
    if restricted:
        return "restricted"
    if any(note.startswith(REVIEW_NOTE_PREFIX) for note in notes):
        return "review"
    if manufacturer is None:
        return "unknown"
    return "clear"


def with_verdict(data: Any) -> Any:
    """A 1.3 (or earlier) device entry with the ``verdict`` its fields give; anything else
    (an entry that has one, or one too broken to say) as it is, left to validation."""
    if isinstance(data, Mapping) and "verdict" not in data:
        notes = data.get("notes")
        restricted = data.get("restricted")
        manufacturer = data.get("manufacturer")
        if (
            isinstance(restricted, bool)
            and isinstance(notes, list)
            and all(isinstance(note, str) for note in notes)
            and (manufacturer is None or isinstance(manufacturer, str))
        ):
            return {**data, "verdict": verdict_of(restricted, notes, manufacturer)}
    return data


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
    alternatives: list[MakerCandidateEntry] = Field(
        # A default, so that a device stored before 1.7 still reads (not recorded).
        default_factory=list,
        description=(
            "The other makers the evidence supports as well as manufacturer, when it does not "
            "say which made the device (e.g. a model number both Hikvision and Dahua use); "
            "such a device is restricted only if every one of them is. Empty when one maker "
            "is established or none is, and in documents stored before 1.7."
        ),
    )
    restricted: bool
    verdict: Verdict = Field(
        description=(
            "restricted, review (a restricted maker is possible, not established), unknown "
            "(nothing identified the maker: not cleared) or clear. Filter on this, not on "
            "restricted: an unknown device is not restricted either."
        )
    )
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

    @model_validator(mode="after")
    def _verdict_agrees(self) -> DeviceEntry:
        if self.alternatives and self.manufacturer is None:
            raise ValueError("alternatives are given but manufacturer is null")
        expected = verdict_of(self.restricted, self.notes, self.manufacturer)
        if self.verdict != expected:
            raise ValueError(
                f"verdict is {self.verdict!r} but the device's fields say {expected!r}"
            )
        return self


class ScanSection(_Strict):
    """What was scanned, when, with which policies, and how it went."""

    id: str
    kind: Literal["active", "passive", "import"]
    started_at: AwareDatetime
    finished_at: AwareDatetime | None
    targets: list[str]
    ports: list[PortNumber]
    policies: list[str]
    acting_as: list[str] = Field(
        # A default, so that a 1.2 scan section (stored before 1.3) still reads: it meant
        # exactly this (every measure counts).
        default_factory=list,
        description=(
            "Who the user said they are (--as), as org type ids such as ca:federal-institution; "
            "['all'] with --as all (every measure counts); empty when they did not (judged as "
            "a national government body, the org types marked national_government)."
        ),
    )
    judged_for: str | None = Field(
        # A default, so that a scan section stored before 1.5 still reads (not recorded).
        default=None,
        description=(
            "Whom the verdicts were judged for, in words: the --as org type ids "
            "(comma-separated), 'a national government body' (the default reading, acting_as "
            "empty) or 'anyone' (--as all, or selected policies that declare no national "
            "government body: every restricting measure counts); null in scans stored before "
            "it was recorded."
        ),
    )
    knowledge_version: str | None = Field(
        default=None,
        description=(
            "Version of the knowledge the devices were judged with (provscan knowledge status); "
            "null in scans stored before it was recorded."
        ),
    )
    knowledge_as_of: str | None = Field(
        default=None, description="As-of date of that knowledge, ISO 8601; null when unknown."
    )
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

    schema_version: Literal["1.8"]
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


# --- the one mapping between domain values and contract entries -------------------------
#
# Contract entries have the fields of their domain dataclass, under the same names and with
# the same values (tuples become lists, timestamps UTC). Both directions below are derived
# from the dataclass fields and annotations; what genuinely differs is declared once, in
# ``_DIFFERENCES``. A new field is added to the dataclass and to its entry, nothing else.


def _utc(moment: datetime) -> datetime:
    # Naive datetimes are taken as local time (what datetime.now() gives); the contract
    # carries UTC so that output is stable across machines.
    return moment.astimezone(UTC)


def ordered_devices(devices: Iterable[Device]) -> list[Device]:
    """Devices in contract order: by IP address (IPv4 first), not by when hosts finished."""
    return sorted(devices, key=lambda device: address_sort_key(device.ip))


#: How contract 1.2 marked a finding whose measure restricts nothing (it had no ``effect``):
#: this at the start of its scope note. Read only when upgrading a 1.2 document.
CONTEXT_SCOPE_PREFIX = "Context only - this measure restricts nothing. "


#: Before 1.7 a remediation item's condition was said only in its reason's words, as
#: posture wrote them (remediation.yaml ``if_maker_not_established``: "if made by X: ...").
_IF_MADE_BY = re.compile(r"^if made by (?P<maker>[^:]+): ")


def advice_condition(condition: str | None, reason: str) -> str | None:
    """What a remediation item's advice depends on ("made by Hikvision"), None when it is the
    device's own: its ``condition``; for an item without one (a document stored before 1.7,
    upgraded with ``condition: null``), what its reason's words say ("if made by X: ...")."""
    if condition:
        return condition
    match = _IF_MADE_BY.match(reason)
    return f"made by {match.group('maker')}" if match else None


#: Versions :func:`upgrade_document` changes (the current one it leaves as it is).
_UPGRADED_VERSIONS = ("1.2", "1.3", "1.4", "1.5", "1.6", "1.7")


def upgrade_document(data: Mapping[str, Any]) -> dict[str, Any]:
    """A 1.2 to 1.7 document as the current version (the input is not changed); a current
    one as it is.

    1.7 to 1.8: every remediation item ``effort: null`` (not recorded). 1.6 to 1.7: every exposure ``port: null`` and ``source: null``, every remediation item
    ``condition: null``, every device ``alternatives: []`` (not recorded). 1.5 to 1.6: every finding ``condition: null``. 1.4
    to 1.5: the scan ``judged_for: null`` (not recorded). 1.3 to 1.4: each device's
    ``verdict``, from its fields (:func:`with_verdict`). 1.2 to 1.3: context findings (scope
    note prefix) become ``effect: context``; the other findings ``effect: restricts``; every
    finding ``binding: null`` and ``deadline: null``; the scan ``acting_as: []`` and no
    knowledge version or as-of date (null).
    """
    document = dict(data)
    version = document.get("schema_version")
    if version not in _UPGRADED_VERSIONS:
        return document
    devices = document.get("devices")
    scan = document.get("scan")
    if isinstance(scan, Mapping) and version not in ("1.5", "1.6", "1.7"):
        added: dict[str, Any] = {"judged_for": None}
        if version == "1.2":
            added |= {"acting_as": [], "knowledge_version": None, "knowledge_as_of": None}
        document["scan"] = {**scan, **added}
    if version in ("1.2", "1.3") and isinstance(devices, list):
        if version == "1.2":
            devices = [_upgrade_device(device) for device in devices]
        devices = [with_verdict(device) for device in devices]
    if isinstance(devices, list):
        if version not in ("1.6", "1.7"):
            devices = [_with_conditions(device) for device in devices]
        if version != "1.7":
            devices = [_with_structured_facts(device) for device in devices]
        document["devices"] = [_with_efforts(device) for device in devices]
    document["schema_version"] = SCHEMA_VERSION
    return document


def _with_conditions(device: Any) -> Any:
    """1.5 (or earlier) to 1.6: every finding ``condition: null`` (none was recorded)."""
    if not isinstance(device, Mapping) or not isinstance(device.get("findings"), list):
        return device
    findings = [
        {**finding, "condition": finding.get("condition")}
        if isinstance(finding, Mapping)
        else finding
        for finding in device["findings"]
    ]
    return {**device, "findings": findings}


def _with_structured_facts(device: Any) -> Any:
    """1.6 (or earlier) to 1.7: the device ``alternatives: []``, every exposure
    ``port: null`` and ``source: null`` and every remediation item ``condition: null`` (not
    recorded: said only in words then)."""
    if not isinstance(device, Mapping):
        return device
    upgraded = {**device, "alternatives": device.get("alternatives", [])}
    if isinstance(device.get("remediation"), list):
        upgraded["remediation"] = [
            {**item, "condition": item.get("condition")} if isinstance(item, Mapping) else item
            for item in device["remediation"]
        ]
    if isinstance(device.get("exposure"), list):
        upgraded["exposure"] = [
            {**exposure, "port": exposure.get("port"), "source": exposure.get("source")}
            if isinstance(exposure, Mapping)
            else exposure
            for exposure in device["exposure"]
        ]
    return upgraded


def _with_efforts(device: Any) -> Any:
    """1.7 (or earlier) to 1.8: every remediation item ``effort: null`` (not recorded)."""
    if not isinstance(device, Mapping) or not isinstance(device.get("remediation"), list):
        return device
    remediation = [
        {**item, "effort": item.get("effort")} if isinstance(item, Mapping) else item
        for item in device["remediation"]
    ]
    return {**device, "remediation": remediation}


def _upgrade_device(device: Any) -> Any:
    if not isinstance(device, Mapping) or not isinstance(device.get("findings"), list):
        return device
    return {**device, "findings": [_upgrade_finding(f) for f in device["findings"]]}


def _upgrade_finding(finding: Any) -> Any:
    if not isinstance(finding, Mapping):
        return finding
    note = finding.get("scope_note")
    context = isinstance(note, str) and note.startswith(CONTEXT_SCOPE_PREFIX)
    upgraded = {
        **finding,
        "effect": "context" if context else "restricts",
        "binding": None,
        "deadline": None,
    }
    if isinstance(note, str) and context:
        upgraded["scope_note"] = note.removeprefix(CONTEXT_SCOPE_PREFIX)
    return upgraded


def _unchanged(source: Any, target: dict[str, Any]) -> None:
    return None


def _device_verdict(device: Any, entry: dict[str, Any]) -> None:
    """The contract's ``verdict``, from the domain device (not a field of it: derived)."""
    entry["verdict"] = verdict_of(device.restricted, device.notes, device.manufacturer)


@dataclasses.dataclass(frozen=True)
class _Differences:
    """How a domain dataclass differs from its contract entry (field names are the domain's)."""

    #: domain name -> contract key
    renamed: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: Not in the contract: left out, and back to the default on reading (or set by decode).
    domain_only: frozenset[str] = frozenset()
    #: Adjust the entry's values from the domain value, and the domain values from the entry.
    encode: Callable[[Any, dict[str, Any]], None] = _unchanged
    decode: Callable[[Any, dict[str, Any]], None] = _unchanged


_DIFFERENCES: dict[type[Any], _Differences] = {
    # In-process only: observations not tied to an attempt (read by posture; shown through
    # the evidence).
    Device: _Differences(domain_only=frozenset({"observations"}), encode=_device_verdict),
    # Raw observations stay in-process; attempts come back without them.
    ProbeAttempt: _Differences(domain_only=frozenset({"observations"})),
    # ``observed_field`` avoids shadowing dataclasses.field; the contract says ``field``.
    Evidence: _Differences(renamed={"observed_field": "field"}),
    # devices_found and restricted_count are counted by to_contract, not kept in ScanInfo.
    ScanInfo: _Differences(renamed={"scan_id": "id"}),
}

#: Converts one value between the domain and the contract.
_Convert = Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


def _converter(annotation: Any, *, to_contract: bool) -> _Convert:
    """How a value of a domain annotation crosses to the contract (or back), built once."""
    origin = get_origin(annotation)
    if origin is tuple:  # tuple[X, ...] <-> list[X]
        item = _converter(get_args(annotation)[0], to_contract=to_contract)
        if item is _same:
            return list if to_contract else tuple
        if to_contract:
            return lambda values: [item(value) for value in values]
        return lambda values: tuple([item(value) for value in values])
    if origin is dict:
        return dict
    if origin in (Union, UnionType):  # X | None
        inner = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(inner) == 1:
            convert = _converter(inner[0], to_contract=to_contract)
            if convert is not _same:
                return lambda value: None if value is None else convert(value)
        return _same
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        return _dumper(annotation) if to_contract else _loader(annotation)
    if annotation is datetime and to_contract:
        return _utc
    return _same


@dataclasses.dataclass(frozen=True)
class _Plan:
    """The fields the contract carries for one dataclass, as (domain name, contract key)."""

    #: Fields whose value is the same on both sides.
    copied: tuple[tuple[str, str], ...]
    #: Fields whose value is converted (lists, nested entries, timestamps), with how.
    converted: tuple[tuple[str, str, _Convert], ...]
    differences: _Differences


def _plan(cls: type[Any], *, to_contract: bool) -> _Plan:
    differences = _DIFFERENCES.get(cls, _Differences())
    annotations = get_type_hints(cls)
    copied: list[tuple[str, str]] = []
    converted: list[tuple[str, str, _Convert]] = []
    for item in dataclasses.fields(cls):
        if item.name in differences.domain_only:
            continue
        key = differences.renamed.get(item.name, item.name)
        convert = _converter(annotations[item.name], to_contract=to_contract)
        if convert is _same:
            copied.append((item.name, key))
        else:
            converted.append((item.name, key, convert))
    return _Plan(tuple(copied), tuple(converted), differences)


_DUMPERS: dict[type[Any], _Convert] = {}
_LOADERS: dict[type[Any], _Convert] = {}


def _dumper(cls: type[Any]) -> _Convert:
    """Domain dataclass -> the dict its contract entry is validated from."""
    if cls not in _DUMPERS:
        plan = _plan(cls, to_contract=True)

        def dump(value: Any) -> dict[str, Any]:
            entry = {key: getattr(value, name) for name, key in plan.copied}
            for name, key, convert in plan.converted:
                entry[key] = convert(getattr(value, name))
            plan.differences.encode(value, entry)
            return entry

        _DUMPERS[cls] = dump
    return _DUMPERS[cls]


def _loader(cls: type[Any]) -> _Convert:
    """Contract entry -> domain dataclass."""
    if cls not in _LOADERS:
        plan = _plan(cls, to_contract=False)

        def load(entry: Any) -> Any:
            values = {name: getattr(entry, key) for name, key in plan.copied}
            for name, key, convert in plan.converted:
                values[name] = convert(getattr(entry, key))
            plan.differences.decode(entry, values)
            return cls(**values)

        _LOADERS[cls] = load
    return _LOADERS[cls]


def to_contract(result: ScanResult) -> ScanDocument:
    """Build the contract document of a scan.

    Devices are ordered by IP address (not by the order hosts finished) so that the
    same scan always gives the same output; timestamps are converted to UTC.
    """
    devices = ordered_devices(result.devices)
    scan = _dumper(ScanInfo)(result.info) | {
        "devices_found": len(devices),
        "restricted_count": sum(device.restricted for device in devices),
    }
    dump_device = _dumper(Device)
    return ScanDocument.model_validate(
        {
            "schema_version": SCHEMA_VERSION,
            "scan": scan,
            "devices": [dump_device(device) for device in devices],
        }
    )


def to_contract_parts(result: ScanResult) -> tuple[dict[str, Any], Iterator[dict[str, Any]]]:
    """:func:`to_contract` dumped for JSON in parts: the document without its devices, then
    each device's entry in contract order, validated and dumped one at a time, so that a
    capture of thousands of devices is never held as one document (issue 14). The counts
    that :class:`ScanDocument` checks are computed here from the same devices."""
    devices = ordered_devices(result.devices)
    scan = _dumper(ScanInfo)(result.info) | {
        "devices_found": len(devices),
        "restricted_count": sum(device.restricted for device in devices),
    }
    head = {
        "schema_version": SCHEMA_VERSION,
        "scan": ScanSection.model_validate(scan).model_dump(mode="json"),
    }
    dump_device = _dumper(Device)

    def entries() -> Iterator[dict[str, Any]]:
        for device in devices:
            yield DeviceEntry.model_validate(dump_device(device)).model_dump(mode="json")

    return head, entries()


def from_contract(data: str | bytes | Mapping[str, Any]) -> ScanDocument:
    """Read a contract document back (JSON text, or the object ``json.loads`` gave); a 1.2
    to 1.7 document is upgraded to the current version first (:func:`upgrade_document`).

    Validation follows JSON rules in both cases (timestamps are ISO strings), so a dict
    and its JSON text are accepted or rejected alike. Raises ``pydantic.ValidationError``.
    """
    if not isinstance(data, Mapping):
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        parsed: Any = None
        if any(f'"{version}"' in text for version in _UPGRADED_VERSIONS):
            try:  # only a possible earlier document is parsed twice
                parsed = json.loads(text)
            except ValueError:
                parsed = None
        if (
            not isinstance(parsed, Mapping)
            or parsed.get("schema_version") not in _UPGRADED_VERSIONS
        ):
            return ScanDocument.model_validate_json(data)
        data = parsed
    return ScanDocument.model_validate_json(json.dumps(upgrade_document(data)))


def to_domain(document: ScanDocument) -> ScanResult:
    """Turn a contract document back into domain values (e.g. to re-render a stored scan).

    The contract does not carry raw probe observations, so attempts come back without them.
    """
    load_device = _loader(Device)
    return ScanResult(
        info=_loader(ScanInfo)(document.scan),
        devices=tuple(load_device(entry) for entry in document.devices),
    )


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

"""Domain values shared by every pipeline stage.

Observations (raw facts a probe saw) -> Claims (what a fingerprint rule says they mean)
-> Device (one attributed identity per host) -> Findings (policy verdicts).
All are frozen dataclasses; JSON/DB shapes live in ``report`` and ``store``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

#: Fields a fingerprint rule may assert about a device.
CLAIM_FIELDS = ("manufacturer", "brand", "model", "firmware", "device_type", "serial", "mac")


@dataclass(frozen=True)
class Observation:
    """One raw fact seen on the wire, before any interpretation.

    ``field`` names what was observed (e.g. ``http.server``, ``rtsp.realm``,
    ``tls.subject``); it selects which fingerprint files apply.
    """

    protocol: str
    port: int | None
    field: str
    value: str
    detail: str = ""


class AttemptStatus(StrEnum):
    OK = "ok"
    TIMEOUT = "timeout"
    REFUSED = "refused"
    CLOSED = "closed"
    MALFORMED = "malformed"
    TRUNCATED = "truncated"
    ERROR = "error"


@dataclass(frozen=True)
class ProbeAttempt:
    """The outcome of one probe on one port: failure is data, never dropped."""

    probe: str
    port: int
    status: AttemptStatus
    observations: tuple[Observation, ...] = ()
    error: str = ""
    elapsed_s: float = 0.0


@dataclass(frozen=True)
class Claim:
    """What a fingerprint rule asserts from one observation."""

    field: str
    value: str
    certainty: float
    rule_id: str
    observation: Observation


#: Longest observed value kept in an evidence line (longer values end in "…").
MAX_EVIDENCE_CHARS = 240


@dataclass(frozen=True)
class Evidence:
    """One line of the evidence list shown to users."""

    protocol: str
    port: int | None
    observed_field: str
    observed: str
    rule_id: str | None
    asserts: dict[str, str]
    certainty: float
    #: Where the fact was seen: e.g. the HTTP path, or a capture's packet number and time.
    detail: str = ""


#: What the measure behind a finding does, from its ``effect`` in policies.yaml: use-ban,
#: procurement-ban, removal-order, authorization-ban and import-marketing-ban restrict the
#: equipment; advisory and context never do. "restricts" is a restricting measure whose kind
#: was not recorded (findings read from contract 1.2 documents).
FindingEffect = Literal[
    "use-ban",
    "procurement-ban",
    "removal-order",
    "authorization-ban",
    "import-marketing-ban",
    "advisory",
    "context",
    "restricts",
]
#: What the verdict "review" means, in the words every output gives it (the scan table, the
#: console, NetBox, the compliance report): a possible maker, or an established one that a
#: measure restricts only on a condition the evidence cannot settle (when it was bought,
#: its kind, the site it serves; a Québec reviewer read the first half alone as "the maker
#: is not established" of cameras whose maker was).
REVIEW_MEANING = (
    "a restricted maker is possible, not established, or a measure restricts only on a "
    "condition the evidence cannot settle"
)
#: The effects that restrict the equipment for those the measure binds.
RESTRICTING_FINDING_EFFECTS: frozenset[str] = frozenset(
    {
        "use-ban",
        "procurement-ban",
        "removal-order",
        "authorization-ban",
        "import-marketing-ban",
        "restricts",
    }
)


def finding_restricts(finding: Mapping[str, Any]) -> bool:
    """Whether a stored finding (a contract or inventory entry) restricts the device for the
    user, as :attr:`Finding.restricts` says of the finding itself: a restricting effect (one
    stored without an effect, from before effects were kept, counts as it was reported),
    from a measure not known to leave the user unbound, with no ``condition`` the evidence
    cannot settle (the UK statement's sensitive site, a kind or acquisition date not known).
    The one definition for reports, exports, cases, tickets and the console."""
    return (
        str(finding.get("effect") or "restricts") in RESTRICTING_FINDING_EFFECTS
        and finding.get("binding") is not False
        and not finding.get("condition")
    )


def binding_policies(findings: Iterable[Mapping[str, Any]]) -> tuple[list[str], list[str]]:
    """The policies that restrict a device for the user (a finding with a restricting effect
    from a measure binding them; one stored without effect or binding, from before they were
    kept, counts, as it was reported), and the other policies that name it: the CSV export's
    policy columns and the alerts' policy fields, one definition."""
    findings = list(findings)
    restricting = dict.fromkeys(str(f["policy"]) for f in findings if finding_restricts(f))
    others = dict.fromkeys(
        str(f["policy"]) for f in findings if str(f["policy"]) not in restricting
    )
    return list(restricting), list(others)


@dataclass(frozen=True)
class Finding:
    policy: str
    jurisdiction: str
    measure: str
    citation: str
    effective: str
    family: str
    scope_note: str = ""
    effect: FindingEffect = "restricts"
    #: Whether the measure binds the user (``--as``); None when the user did not say who they
    #: are (every measure is shown, and any restricting one counts).
    binding: bool | None = None
    #: ISO date by which the measure requires removal or an end of use, when it sets one.
    deadline: str | None = None
    #: What must hold for the measure to restrict this device that the tool cannot tell (the
    #: measure covers only some kinds of its makers' equipment and the device's kind is not
    #: known; or only equipment acquired after a day, for a device found installed): "it is a
    #: uas", "it was acquired after 2023-12-21". None: nothing. Such a finding never makes a
    #: device restricted on its own: the device is to be reviewed.
    condition: str | None = None

    @property
    def restricts(self) -> bool:
        """Whether this finding restricts the device for the user: a restricting effect, from
        a measure that binds them (or, when they did not say who they are, binds anyone),
        with no condition the tool cannot tell."""
        return self.restricts_if_so and self.condition is None

    @property
    def restricts_if_so(self) -> bool:
        """Whether the finding restricts the device for the user once its ``condition`` (if
        any) holds."""
        return self.effect in RESTRICTING_FINDING_EFFECTS and self.binding is not False


@dataclass(frozen=True)
class MakerCandidate:
    """A maker the evidence supports as well as the device's ``manufacturer`` (which one made
    it is not known), with its corporate family."""

    maker: str
    family: str | None


@dataclass(frozen=True)
class PhoneHome:
    """A device contacting its maker's cloud, P2P or update service (seen in a capture)."""

    service: str
    endpoint: str
    packet: int
    time: datetime


@dataclass(frozen=True)
class Vulnerability:
    """A published vulnerability that applies (or may apply) to a device's firmware."""

    cve: str
    cvss: float
    severity: str  # critical / high / medium / low, from the CVSS base score
    kev: bool  # in CISA's Known Exploited Vulnerabilities catalog
    fixed_in: str | None
    source: str  # the advisory or record the range comes from
    #: "vulnerable" (in the published range), "likely" (in an approximate range) or
    #: "undetermined" (the model is listed but the firmware cannot be placed in the range).
    status: str = "vulnerable"
    kev_date_added: str | None = None
    note: str = ""


@dataclass(frozen=True)
class Exposure:
    """Something that makes a device reachable or leaky: an internet path, a cloud/P2P
    service, an insecure service, a default account. ``evidence`` says how it was seen."""

    kind: str
    detail: str
    evidence: str = ""
    #: The device's port the exposure is on (the login page's, RTSP's, telnet's, the factory
    #: account's; for a UPnP mapping, the port the gateway forwards to); None when it is tied
    #: to no port (a public address, a cloud contact seen in a capture).
    port: int | None = None
    #: The address of the host the exposure was observed on when that is not the device:
    #: the gateway whose UPnP IGD mapping forwards to it. None: seen on the device itself.
    source: str | None = None


@dataclass(frozen=True)
class Remediation:
    """What to do about one finding: replace, isolate, patch or reconfigure."""

    action: str
    reason: str
    #: 1 = do first. Known-exploited or internet-exposed problems come first.
    priority: int = 3
    #: The concrete steps: the fixed version, the VLAN and firewall rules, the setting.
    detail: str = ""
    #: What must hold for the advice to apply that the evidence does not establish ("made by
    #: Hikvision": the advisory or end of support names a maker the evidence leaves open);
    #: None when it applies to the device as identified. Conditional advice opens no case.
    condition: str | None = None
    #: The rough effort of this kind of action, as a column shows it ("hours", "days",
    #: "months": remediation.yaml ``effort``, posture.assess.effort_of); None when the
    #: knowledge gives none (and in documents stored before contract 1.8).
    effort: str | None = None


#: The note a passively seen address carries when its frames came only through another
#: host's MAC (a router, or a host relaying for several addresses): an address off the
#: captured segment (passive/hosts.py writes it; the table lists such addresses apart).
FORWARDED_NOTE_PREFIX = "frames arrived from forwarder MAC"
#: The note a passively seen host nothing identified carries when it answered no connection
#: (no SYN-ACK from it) but requested some: "served nothing; sent TCP connection requests
#: to 75 hosts"
#: (a scanner, a workstation; passive/hosts.py writes it, the table shows it in place of
#: "no open port seen").
SERVED_NOTHING_NOTE_PREFIX = "served nothing; sent TCP connection requests to"


def seen_only_through_a_router(device: Device) -> bool:
    """An address with no MAC of its own whose frames came through a forwarder's."""
    return device.mac is None and any(
        note.startswith(FORWARDED_NOTE_PREFIX) for note in device.notes
    )


@dataclass(frozen=True)
class Device:
    ip: str
    mac: str | None = None
    hostname: str | None = None
    open_ports: tuple[int, ...] = ()
    manufacturer: str | None = None
    brand: str | None = None
    relation: str | None = None
    family: str | None = None
    model: str | None = None
    firmware: str | None = None
    serial: str | None = None
    device_type: str | None = None
    confidence: float = 0.0
    #: Other makers the evidence supports as well as ``manufacturer`` (set by attribution,
    #: read by policy judging; in the scan contract since 1.7). Restricted only if every one is.
    alternatives: tuple[MakerCandidate, ...] = ()
    restricted: bool = False
    findings: tuple[Finding, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    conflicts: tuple[str, ...] = ()
    attempts: tuple[ProbeAttempt, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: Vendor cloud/P2P/update services the device contacted (passive analysis only).
    phones_home: tuple[PhoneHome, ...] = ()
    #: Observations not tied to a probe attempt (discovery replies, passive signals), kept
    #: for the posture stage, which reads firmware wherever it was seen (in-process only,
    #: like ``alternatives``: the contract shows them through evidence and attempts).
    observations: tuple[Observation, ...] = ()
    #: Security posture (issue 6): filled after judging by :mod:`provscan.posture`.
    vulnerabilities: tuple[Vulnerability, ...] = ()
    exposure: tuple[Exposure, ...] = ()
    remediation: tuple[Remediation, ...] = ()


@dataclass(frozen=True)
class HostEvidence:
    """Everything one input learned about one host, before identification.

    Every input builds these — the active scan per host, discovery per replying host, passive
    analysis per host that sent packets, later imports and sensors — and hands them to the
    one identification stage (:mod:`provscan.identify`), which returns the judged device.
    """

    address: str
    open_ports: tuple[int, ...] = ()
    #: Probe attempts (active scan), each with the observations it made.
    attempts: tuple[ProbeAttempt, ...] = ()
    #: Observations not tied to an attempt (discovery replies, passive signals).
    observations: tuple[Observation, ...] = ()
    mac: str | None = None
    hostname: str | None = None
    notes: tuple[str, ...] = ()
    phones_home: tuple[PhoneHome, ...] = ()
    #: The host answered on its own (a discovery reply, packets in a capture): it is a device
    #: even without an open port. A MAC learned from ARP alone does not make one.
    answered: bool = False


@dataclass(frozen=True)
class ScanInfo:
    scan_id: str
    kind: str  # "active", later "passive", "import"
    started_at: datetime
    finished_at: datetime | None
    targets: tuple[str, ...]
    ports: tuple[int, ...]
    policies: tuple[str, ...]
    tool_version: str
    hosts_scanned: int = 0
    hosts_responding: int = 0
    #: False when the scan was interrupted or a deadline cut it short.
    complete: bool = True
    notes: tuple[str, ...] = ()
    #: Who the user said they are (``--as``, org type ids); empty: every measure counts.
    acting_as: tuple[str, ...] = ()
    #: Whom the verdicts were judged for, in words (``policy.evaluate.judged_for``): the
    #: ``--as`` org types, "a national government body" or "anyone"; None before judging.
    judged_for: str | None = None
    #: The knowledge the devices were judged with (its pack version and as-of date).
    knowledge_version: str | None = None
    knowledge_as_of: str | None = None


@dataclass(frozen=True)
class ScanResult:
    info: ScanInfo
    devices: tuple[Device, ...]


def address_sort_key(ip: str) -> tuple[int, int, str]:
    """Order addresses numerically (IPv4 before IPv6); text that is no address sorts last."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return (9, 0, ip)
    return (address.version, int(address), ip)

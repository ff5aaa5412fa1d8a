"""Strict shapes of the knowledge files. Every entry carries its source."""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from provscan.model import CLAIM_FIELDS

Confidence = Literal["high", "medium", "low"]
CONFIDENCE_WEIGHT: dict[str, float] = {"high": 0.95, "medium": 0.75, "low": 0.45}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- controlled vocabulary -------------------------------------------------------------


class Vendor(_Strict):
    """A canonical maker or brand name. Fingerprints and relations may use only these."""

    name: str
    kind: Literal["manufacturer", "brand", "both"] = "both"
    family: str | None = None
    legal_names: list[str] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list)
    country: str | None = None
    note: str = ""
    sources: list[str] = Field(min_length=1)


class VendorFile(_Strict):
    vendors: list[Vendor]


# --- corporate families ----------------------------------------------------------------


class FamilyMember(_Strict):
    name: str  # a Vendor.name
    relationship: Literal[
        "parent",
        "subsidiary",
        "brand",
        "affiliate",
        "joint_venture",
        "former_subsidiary",
        "chip_unit",
    ]
    since: str | None = None
    until: str | None = None
    confidence: Confidence
    note: str = ""
    sources: list[str] = Field(min_length=1)


class Family(_Strict):
    id: str
    name: str
    legal_name: str
    members: list[FamilyMember]
    note: str = ""
    sources: list[str] = Field(min_length=1)


class FamilyFile(_Strict):
    families: list[Family]


# --- brand -> maker relations (OEM relabels etc.) --------------------------------------

#: Kinds of product a relation's scope can name (the device types of the fingerprint and
#: grammar data).
RelationDeviceType = Literal[
    "camera",
    "ptz",
    "thermal",
    "nvr",
    "dvr",
    "recorder",
    "kit",
    "doorbell",
    "intercom",
    "access_control",
    "alarm",
    "encoder",
    "storage",
    "switch",
    "accessory",
]


class Relation(_Strict):
    brand: str  # a Vendor.name
    maker: str  # a Vendor.name
    relation: Literal[
        "own_brand", "subsidiary", "consumer_brand", "oem_relabel", "former_subsidiary"
    ]
    #: "all" when every product of the brand is made by the maker; otherwise which lines.
    scope: str = "all"
    partial: bool = False
    since: str | None = None
    until: str | None = None
    confidence: Confidence
    evidence: str
    documented: bool = True
    #: The kinds of product the relation's scope covers (e.g. a relabel of video lines only);
    #: empty when the sources do not say. A product shown to be of another kind (a
    #: thermostat under a video-only relabel) is outside the relation.
    device_types: list[RelationDeviceType] = Field(default_factory=list)
    sources: list[str] = Field(min_length=1)


class RelationFile(_Strict):
    relations: list[Relation]


# --- policies --------------------------------------------------------------------------


#: What a measure does to the equipment of the families it names.
#: - restricts: it bars buying, using, keeping, connecting, authorizing or funding the
#:   equipment for those it binds;
#: - context: it restricts no equipment (no ban, decisions of individual bodies, an order on
#:   a company rather than on its products). Reported, never a restriction.
MeasureEffect = Literal["restricts", "context"]


class Measure(_Strict):
    id: str
    title: str
    families: list[str] = Field(min_length=1)
    measure: str
    binds: str
    scope_note: str = ""
    effect: MeasureEffect
    #: The words of the measure's own text (title, measure, binds or scope_note) that decide
    #: ``effect``; the loader checks that they are there.
    effect_basis: str
    effective: date
    citation: str
    sources: list[str] = Field(min_length=1)

    def own_text(self) -> str:
        """Title, measure, binds and scope note, whitespace collapsed (``effect_basis`` is read here)."""
        return " ".join(f"{self.title} {self.measure} {self.binds} {self.scope_note}".split())


class Policy(_Strict):
    id: str
    jurisdiction: str
    name: str
    measures: list[Measure] = Field(min_length=1)


class PolicyFile(_Strict):
    policies: list[Policy]


# --- fingerprints ----------------------------------------------------------------------


class Example(_Strict):
    value: str
    expect: dict[str, str] = Field(default_factory=dict)
    note: str = ""


class Rule(_Strict):
    id: str
    description: str
    pattern: str
    ignore_case: bool = False
    certainty: float = Field(gt=0.0, le=1.0)
    asserts: dict[str, str] = Field(default_factory=dict)
    #: claim field -> capture group (index as int, or name)
    captures: dict[str, int | str] = Field(default_factory=dict)
    source: str
    note: str = ""
    examples: list[Example] = Field(min_length=1)
    negatives: list[str] = Field(default_factory=list)

    @field_validator("asserts", "captures")
    @classmethod
    def _known_fields(cls, value: dict[str, object]) -> dict[str, object]:
        unknown = set(value) - set(CLAIM_FIELDS)
        if unknown:
            raise ValueError(f"unknown claim fields {sorted(unknown)}; allowed: {CLAIM_FIELDS}")
        return value

    @model_validator(mode="after")
    def _pattern_compiles(self) -> Rule:
        try:
            compiled = re.compile(self.pattern, re.IGNORECASE if self.ignore_case else 0)
        except re.error as exc:
            raise ValueError(f"rule {self.id}: pattern does not compile: {exc}") from exc
        for field_name, group in self.captures.items():
            if isinstance(group, int) and group > compiled.groups:
                raise ValueError(
                    f"rule {self.id}: capture {field_name} uses group {group} "
                    f"but the pattern has {compiled.groups}"
                )
            if isinstance(group, str) and group not in compiled.groupindex:
                raise ValueError(f"rule {self.id}: capture {field_name} uses unknown group {group}")
        if not self.asserts and not self.captures:
            raise ValueError(f"rule {self.id}: asserts nothing")
        return self


class FingerprintFile(_Strict):
    #: Observation fields this file's rules apply to, e.g. ["http.server"].
    fields: list[str] = Field(min_length=1)
    description: str
    rules: list[Rule]


# --- vendor HTTP endpoints the HTTP probe requests -------------------------------------


class HttpEndpoint(_Strict):
    """One unauthenticated, read-only vendor endpoint requested after ``/`` and ``/favicon.ico``."""

    id: str
    method: Literal["GET", "POST"]
    path: str
    body: str = ""
    content_type: str = ""
    #: Which parser turns the reply into observations.
    extractor: Literal["none", "isapi_xml", "dahua_rpc2", "text"]
    purpose: str
    sources: list[str] = Field(min_length=1)


class HttpEndpointFile(_Strict):
    endpoints: list[HttpEndpoint]


# --- security posture (issue 6): vulnerabilities, default accounts, end of life ---------


class CvssScore(_Strict):
    score: float = Field(ge=0.0, le=10.0)
    version: str
    vector: str | None = None
    #: Who scored it (NVD, CISA-ADP, the vendor as CNA).
    scored_by: str


class KevStatus(_Strict):
    """CISA Known Exploited Vulnerabilities catalog status, as of ``checked``."""

    listed: bool
    date_added: str | None = None
    due_date: str | None = None
    checked: str
    note: str = ""


class AffectedRange(_Strict):
    """Products and firmware a CVE affects, as one advisory row publishes them."""

    #: Model regexes (matched case-insensitively from the start of the model).
    products: list[str] = Field(min_length=1)
    #: The advisory's own words for the products and versions (what a reviewer checks).
    as_published: str
    #: "version": dotted version then build (Hikvision); "build_date" (Dahua "built before").
    basis: Literal["version", "build_date"]
    introduced: str | None = None
    last_affected: str | None = None
    #: First fixed firmware (exclusive bound for the comparison).
    fixed: str | None = None
    #: What to upgrade to, as the advisory says it (shown to users).
    fixed_in: str | None = None
    #: Only firmware strings matching this regex are placed in this range (e.g. a baseline).
    firmware_pattern: str | None = None
    #: False when the advisory lists models but no firmware versions: never a "vulnerable"
    #: verdict, only "undetermined".
    versions_published: bool = True
    #: True when the bounds simplify the advisory (e.g. one boundary for several lines).
    approximate: bool = False
    note: str = ""


class VulnerabilityEntry(_Strict):
    cve: str = Field(pattern=r"^CVE-\d{4}-\d{4,}$")
    title: str
    #: Canonical vendor names; a device matches through its maker or its label brand.
    vendors: list[str] = Field(min_length=1)
    cvss: CvssScore
    kev: KevStatus
    affected: list[AffectedRange] = Field(min_length=1)
    #: Facts that are not certain (say what, and why).
    uncertain: str = ""
    references: list[str] = Field(min_length=1)
    sources: list[str] = Field(min_length=1)


class VulnerabilityFile(_Strict):
    vulnerabilities: list[VulnerabilityEntry]


class DefaultAccount(_Strict):
    """A documented factory account, tried once with ``--check-default-credentials`` only."""

    id: str
    vendors: list[str] = Field(min_length=1)
    username: str
    password: str
    #: Which read-only request checks it.
    check: Literal["hikvision_isapi_usercheck", "dahua_cgi_machinename"]
    #: The account only exists on firmware older than this (e.g. before activation was
    #: introduced); skipped when the firmware is known to be newer.
    firmware_before: str | None = None
    #: False for accounts the documentation says cannot log in over the network.
    network_login: bool = True
    scope: str
    sources: list[str] = Field(min_length=1)


class DefaultAccountFile(_Strict):
    accounts: list[DefaultAccount]


class EndOfLifeEntry(_Strict):
    """A documented end of life or end of support."""

    id: str
    vendors: list[str] = Field(min_length=1)
    products: list[str] = Field(default_factory=lambda: [".*"])
    status: Literal["end_of_life", "support_withdrawn"]
    #: ISO country code when the statement is limited to one jurisdiction.
    region: str | None = None
    effective: str
    statement: str
    sources: list[str] = Field(min_length=1)


class EndOfLifeFile(_Strict):
    entries: list[EndOfLifeEntry]


# --- model-number grammars and IEEE registry owners (issue 4) ----------------------------

#: How a relabel brand's model numbers relate to the maker's.
GrammarTransform = Literal[
    #: the maker's own numbering (no relabel)
    "none",
    #: the label brand sells the maker's model number unchanged
    "keeps_maker_number",
    #: the label brand renumbers; the maker's firmware, protocols and OUIs stay
    "own_numbering",
]


class ModelGrammar(_Strict):
    """How one maker or label brand numbers one product line.

    ``pattern`` is matched case-insensitively against the whole of one candidate string
    (a model-number-like token, or a few adjacent words). ``maker`` is who makes products
    of this line; ``None`` means the line identifies only the label brand and the maker comes
    from the brand's relations.
    """

    id: str
    brand: str
    maker: str | None
    line: str
    device_type: str | None = None
    pattern: str
    confidence: Confidence
    #: True when a cited source states this numbering (and, for relabels, its maker);
    #: False when it is inferred from catalog naming or technical evidence.
    documented: bool
    #: What is documented and what is inferred, in one or two sentences.
    basis: str
    transform: GrammarTransform = "none"
    #: The maker grammar whose numbers this line reuses or renames, when known.
    derived_from: str | None = None
    #: True when the brand's relation scope (relations.yaml) names exactly this line, so the
    #: relation applies in full rather than as "some lines".
    in_relation_scope: bool = False
    #: Only match when the row or device also names this brand (short, generic numbers).
    requires_brand: bool = False
    sources: list[str] = Field(min_length=1)
    examples: list[str] = Field(min_length=1)
    negatives: list[str] = Field(default_factory=list)
    note: str = ""

    @model_validator(mode="after")
    def _pattern_compiles(self) -> ModelGrammar:
        try:
            re.compile(self.pattern, re.IGNORECASE)
        except re.error as exc:
            raise ValueError(f"grammar {self.id}: pattern does not compile: {exc}") from exc
        return self


class ModelGrammarFile(_Strict):
    #: Observation fields of a scan that carry a bare model string (ONVIF, ISAPI, SADP, UPnP…).
    fields: list[str] = Field(min_length=1)
    #: Observation fields that carry the label brand a device reports about itself; an
    #: unrecognised value there becomes the label of a probable relabel.
    label_fields: list[str] = Field(default_factory=list)
    #: Label values that name nobody (white-label placeholders).
    generic_labels: list[str] = Field(default_factory=list)
    description: str
    grammars: list[ModelGrammar] = Field(min_length=1)


class OuiOwner(_Strict):
    """One organisation name in the IEEE MAC registry and the vendor it belongs to."""

    registry_name: str
    #: Canonical vendor; None for a registry name that only *looks* like a vendor's.
    vendor: str | None
    false_friend_of: str | None = None
    registry: Literal["MA-L", "MA-M", "MA-S"] = "MA-L"
    prefixes: list[str] = Field(min_length=1)
    confidence: Confidence
    documented: bool = True
    note: str = ""
    sources: list[str] = Field(min_length=1)


class OuiOwnerFile(_Strict):
    #: The registry snapshot the prefixes were read from.
    snapshot: str
    owners: list[OuiOwner] = Field(min_length=1)


# --- vendor cloud, P2P and update services (passive phone-home detection, issue 5) -------


class CloudEndpoint(_Strict):
    """A vendor service devices contact: seen as a DNS query, TLS SNI or HTTP Host."""

    id: str
    service: str
    #: The canonical vendor (vocabulary) whose service it is.
    vendor: str
    #: "device": contacted by devices themselves; "app": by phone/desktop apps (weaker).
    role: Literal["device", "app", "p2p", "ddns", "update"]
    #: Exact host names (lower case, no trailing dot).
    names: list[str] = Field(default_factory=list)
    #: Domains: the name itself and every name under it.
    domains: list[str] = Field(default_factory=list)
    confidence: Confidence
    note: str = ""
    sources: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _has_names(self) -> CloudEndpoint:
        if not self.names and not self.domains:
            raise ValueError(f"cloud endpoint {self.id}: needs names or domains")
        for name in [*self.names, *self.domains]:
            if name != name.lower().strip().rstrip(".") or " " in name:
                raise ValueError(f"cloud endpoint {self.id}: {name!r} must be a lower-case name")
        return self


class CloudEndpointFile(_Strict):
    endpoints: list[CloudEndpoint]

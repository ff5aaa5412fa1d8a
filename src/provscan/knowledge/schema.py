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
    sources: list[str] = Field(min_length=1)


class RelationFile(_Strict):
    relations: list[Relation]


# --- policies --------------------------------------------------------------------------


class Measure(_Strict):
    id: str
    title: str
    families: list[str] = Field(min_length=1)
    measure: str
    binds: str
    scope_note: str = ""
    effective: date
    citation: str
    sources: list[str] = Field(min_length=1)


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

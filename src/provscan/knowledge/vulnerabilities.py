"""``vulnerabilities.yaml``: CVEs, the products and firmware they affect, CVSS and KEV status."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field

from provscan.knowledge.base import (
    Location,
    Problems,
    StrictModel,
    YamlDocument,
    check_sources,
    compile_pattern,
    read_file,
)
from provscan.knowledge.versions import parse_firmware
from provscan.knowledge.vocabulary import Vendor, check_vendor_name

VULNERABILITIES_FILE = "vulnerabilities.yaml"


class CvssScore(StrictModel):
    score: float = Field(ge=0.0, le=10.0)
    version: str
    vector: str | None = None
    #: Who scored it (NVD, CISA-ADP, the vendor as CNA).
    scored_by: str


class KevStatus(StrictModel):
    """CISA Known Exploited Vulnerabilities catalog status, as of ``checked``."""

    listed: bool
    date_added: str | None = None
    due_date: str | None = None
    checked: str
    note: str = ""


class AffectedRange(StrictModel):
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


class VulnerabilityEntry(StrictModel):
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


class VulnerabilityFile(StrictModel):
    vulnerabilities: list[VulnerabilityEntry]


def read_vulnerabilities(
    data_dir: Path, problems: Problems, vendors: dict[str, Vendor] | None
) -> tuple[VulnerabilityEntry, ...]:
    """Load the optional ``vulnerabilities.yaml``; every firmware bound must parse in its basis."""
    if not (data_dir / VULNERABILITIES_FILE).exists():
        return ()
    parsed = read_file(
        data_dir, VULNERABILITIES_FILE, VulnerabilityFile, problems, "vulnerabilities"
    )
    if parsed is None:
        return ()
    document = parsed.document
    seen_cves: set[str] = set()
    for index, vulnerability in parsed.indexed(parsed.model.vulnerabilities):
        at = ("vulnerabilities", index)
        if vulnerability.cve in seen_cves:
            problems.add(document, "duplicate CVE", at)
        seen_cves.add(vulnerability.cve)
        for name in vulnerability.vendors:
            check_vendor_name(problems, document, at, name, vendors, "vendor")
        check_sources(problems, document, at, vulnerability.sources)
        if vulnerability.kev.listed and not vulnerability.kev.date_added:
            problems.add(document, "a KEV-listed CVE needs kev.date_added", (*at, "kev"))
        for range_index, affected in enumerate(vulnerability.affected):
            _check_range(
                document, (*at, "affected", range_index), affected, vulnerability, problems
            )
    return tuple(parsed.model.vulnerabilities)


def _check_range(
    document: YamlDocument,
    at: Location,
    affected: AffectedRange,
    vulnerability: VulnerabilityEntry,
    problems: Problems,
) -> None:
    for pattern in [*affected.products, affected.firmware_pattern]:
        if pattern is not None:
            compile_pattern(problems, document, at, pattern, re.IGNORECASE)
    bounds = (affected.introduced, affected.last_affected, affected.fixed)
    if affected.versions_published and not any(bounds):
        problems.add(
            document, "no bound given: set versions_published: false if the advisory has none", at
        )
    if not affected.fixed_in and not affected.note and not vulnerability.uncertain:
        problems.add(
            document, "no fixed_in: say in a note or in 'uncertain' why none is published", at
        )
    for bound in bounds:
        if bound is None:
            continue
        bound_firmware = parse_firmware(bound)
        if bound_firmware is None:
            problems.add(document, f"firmware bound {bound!r} does not parse", at)
        elif affected.basis == "build_date" and bound_firmware.build is None:
            problems.add(
                document, f"bound {bound!r} has no build date but the basis is build_date", at
            )
        elif affected.basis == "version" and not bound_firmware.numbers:
            problems.add(
                document, f"bound {bound!r} has no version numbers but the basis is version", at
            )

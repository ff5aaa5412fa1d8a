"""``families.yaml``: the corporate families of the restricted makers, member by member."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from provscan.knowledge.base import (
    Confidence,
    Problems,
    StrictModel,
    check_period,
    check_sources,
    read_file,
)
from provscan.knowledge.vocabulary import LoadedVendors, check_vendor_name

FAMILIES_FILE = "families.yaml"


class FamilyMember(StrictModel):
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


class Family(StrictModel):
    id: str
    name: str
    legal_name: str
    members: list[FamilyMember]
    note: str = ""
    sources: list[str] = Field(min_length=1)


class FamilyFile(StrictModel):
    families: list[Family]


def read_families(
    data_dir: Path, problems: Problems, vendors: LoadedVendors | None
) -> dict[str, Family] | None:
    """Load ``families.yaml`` and check members against the vocabulary and each other."""
    parsed = read_file(data_dir, FAMILIES_FILE, FamilyFile, problems, "families")
    if parsed is None:
        return None
    document = parsed.document
    names = vendors.vendors if vendors is not None else None
    families: dict[str, Family] = {}
    current_family: dict[str, str] = {}
    for index, family in parsed.indexed(parsed.model.families):
        at = ("families", index)
        if family.id in families:
            problems.add(document, f"duplicate family id {family.id!r}", at)
            continue
        families[family.id] = family
        check_sources(problems, document, at, family.sources)
        seen_members: set[str] = set()
        for member_index, member in enumerate(family.members):
            member_at = (*at, "members", member_index)
            check_vendor_name(problems, document, member_at, member.name, names, "member")
            if member.name in seen_members:
                problems.add(document, f"{member.name!r} is listed twice", member_at)
            seen_members.add(member.name)
            check_period(problems, document, member_at, member.since, member.until)
            check_sources(problems, document, member_at, member.sources)
            if member.until is None:
                other = current_family.setdefault(member.name, family.id)
                if other != family.id:
                    problems.add(
                        document,
                        f"{member.name!r} is a current member of both {other!r} and {family.id!r}",
                        member_at,
                        entry=f"family {family.id!r}",
                    )
    if vendors is not None:
        _check_declared_families(vendors, families, current_family, problems)
    return families


def _check_declared_families(
    loaded: LoadedVendors,
    families: dict[str, Family],
    current_family: dict[str, str],
    problems: Problems,
) -> None:
    """A vendor's ``family`` must be the family that lists it as a current member."""
    for vendor in loaded.vendors.values():
        if vendor.family is None:
            continue
        at = ("vendors", loaded.position[vendor.name], "family")
        entry = f"vendor {vendor.name!r}"
        if vendor.family not in families:
            problems.add(
                loaded.document,
                f"family {vendor.family!r} is not a family id in {FAMILIES_FILE}",
                at,
                entry=entry,
            )
            continue
        current = current_family.get(vendor.name)
        if current != vendor.family:
            problems.add(
                loaded.document,
                f"declares family {vendor.family!r} but is not a current member of it in "
                f"{FAMILIES_FILE}" + (f" (current family: {current!r})" if current else ""),
                at,
                entry=entry,
            )


def current_family_by_member(families: dict[str, Family]) -> dict[str, str]:
    """Vendor name -> family id, for current members only (former members have an end date)."""
    by_member: dict[str, str] = {}
    for family in families.values():
        for member in family.members:
            # Former members are dated facts for relations.yaml; they must not make every later
            # product of that brand part of the family.
            if member.until is None:
                by_member.setdefault(member.name, family.id)
    return by_member

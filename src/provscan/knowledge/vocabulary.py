"""``vendors.yaml``: the controlled vocabulary of maker and brand names.

Every other file names vendors only by these canonical names; spellings that differ in case,
spaces or punctuation are the same name and may belong to one vendor only.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field

from provscan.knowledge.base import (
    Location,
    Problems,
    StrictModel,
    YamlDocument,
    check_sources,
    read_file,
)

VENDORS_FILE = "vendors.yaml"


class Vendor(StrictModel):
    """A canonical maker or brand name. Fingerprints and relations may use only these."""

    name: str
    kind: Literal["manufacturer", "brand", "both"] = "both"
    family: str | None = None
    legal_names: list[str] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list)
    country: str | None = None
    #: Product-line names that belong to this vendor alone ("FortiGate", "LaserJet"): a device
    #: that prints one names its maker (issue 11). Unique across vendors like spellings.
    product_lines: list[str] = Field(default_factory=list)
    #: False when the name is also an ordinary word or a software name ("Ring", "Blink"), so
    #: finding it in a banner or title says nothing about who made the device (its product
    #: lines still name it).
    names_itself: bool = True
    note: str = ""
    sources: list[str] = Field(min_length=1)


class VendorFile(StrictModel):
    vendors: list[Vendor]


@dataclass(frozen=True)
class LoadedVendors:
    """The vocabulary by canonical name, and where each vendor sits in the file."""

    vendors: dict[str, Vendor]
    document: YamlDocument
    position: dict[str, int]


def vendor_key(name: str) -> str:
    """The matching key of a vendor spelling: case, space and punctuation are ignored."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return "".join(character for character in folded if character.isalnum())


def spellings(vendor: Vendor) -> list[str]:
    """The name, aliases and legal names of a vendor."""
    return [vendor.name, *vendor.aliases, *vendor.legal_names]


def unknown_vendor_message(name: str, vendors: dict[str, Vendor], role: str) -> str:
    """Explain an unknown name, suggesting the canonical spelling when one matches."""
    key = vendor_key(name)
    for vendor in vendors.values():
        if any(vendor_key(spelling) == key for spelling in spellings(vendor)):
            return (
                f"{role} {name!r} is not a canonical vendor name; "
                f"use {vendor.name!r} (see {VENDORS_FILE})"
            )
    return f"{role} {name!r} is not in the vendor vocabulary ({VENDORS_FILE})"


def check_vendor_name(
    problems: Problems,
    document: YamlDocument,
    at: Location,
    name: str,
    vendors: dict[str, Vendor] | None,
    role: str,
) -> bool:
    """Report a name outside the vocabulary (skipped when the vocabulary did not load)."""
    if vendors is None or name in vendors:
        return True
    problems.add(document, unknown_vendor_message(name, vendors, role), at)
    return False


def read_vendors(data_dir: Path, problems: Problems) -> LoadedVendors | None:
    """Load ``vendors.yaml``: unique names, and spellings that collide with no other vendor."""
    parsed = read_file(data_dir, VENDORS_FILE, VendorFile, problems, "vendors")
    if parsed is None:
        return None
    document = parsed.document
    vendors: dict[str, Vendor] = {}
    position: dict[str, int] = {}
    owner_by_key: dict[str, str] = {}
    for index, vendor in parsed.indexed(parsed.model.vendors):
        at = ("vendors", index)
        if vendor.name in vendors:
            problems.add(document, f"duplicate vendor name {vendor.name!r}", at)
            continue
        vendors[vendor.name] = vendor
        position[vendor.name] = index
        check_sources(problems, document, at, vendor.sources)
        for spelling in [*spellings(vendor), *vendor.product_lines]:
            key = vendor_key(spelling)
            if not key:
                problems.add(document, f"spelling {spelling!r} has no letters or digits", at)
                continue
            owner = owner_by_key.setdefault(key, vendor.name)
            if owner != vendor.name:
                problems.add(
                    document,
                    f"spelling {spelling!r} collides with vendor {owner!r} "
                    "(names, aliases, legal names and product lines must be unique across "
                    "vendors)",
                    at,
                )
    return LoadedVendors(vendors, document, position)

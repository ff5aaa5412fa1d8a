"""``oui_owners.yaml``: IEEE MAC registry organisation names and the vendors they belong to."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field

from provscan.knowledge.base import Confidence, Problems, StrictModel, check_sources, read_file
from provscan.knowledge.vocabulary import Vendor, check_vendor_name

OUI_OWNERS_FILE = "oui_owners.yaml"
#: Hex digits of a prefix in each IEEE registry block size.
PREFIX_DIGITS = {"MA-L": 6, "MA-M": 7, "MA-S": 9}
_HEX = re.compile(r"^[0-9A-F]+$")


class OuiOwner(StrictModel):
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


class NotDeviceMaker(StrictModel):
    """A registry organisation whose MACs sit in other makers' devices (issue 11).

    Module and chip makers (Espressif, AzureWave), contract manufacturers (Hon Hai) and private
    registrations: when the registry names one of them, the OUI says nothing about who made
    the device. ``name`` is compared with the start of a registry name, case, punctuation and
    corporate designators ignored ("Hon Hai Precision" covers every Hon Hai spelling).
    """

    name: str
    role: Literal["chip", "module", "contract_manufacturer", "private"]
    note: str = ""
    sources: list[str] = Field(min_length=1)


class OuiOwnerFile(StrictModel):
    #: The registry snapshot the prefixes were read from.
    snapshot: str
    owners: list[OuiOwner] = Field(min_length=1)
    not_device_makers: list[NotDeviceMaker] = Field(default_factory=list)


@dataclass(frozen=True)
class LoadedOuiOwners:
    snapshot: str
    owners: tuple[OuiOwner, ...]
    not_device_makers: tuple[NotDeviceMaker, ...] = ()


def read_oui_owners(
    data_dir: Path, problems: Problems, vendors: dict[str, Vendor] | None
) -> LoadedOuiOwners | None:
    """Load ``oui_owners.yaml``: well-formed prefixes, each listed once, vendors known."""
    parsed = read_file(data_dir, OUI_OWNERS_FILE, OuiOwnerFile, problems, "owners")
    if parsed is None:
        return None
    document = parsed.document
    seen_prefixes: dict[str, str] = {}
    seen_names: set[str] = set()
    for index, owner in parsed.indexed(parsed.model.owners):
        at = ("owners", index)
        check_sources(problems, document, at, owner.sources)
        if owner.registry_name in seen_names:
            problems.add(document, "duplicate registry name", at)
        seen_names.add(owner.registry_name)
        if owner.vendor is not None:
            check_vendor_name(problems, document, at, owner.vendor, vendors, "vendor")
        elif owner.false_friend_of is None:
            problems.add(document, "vendor: null needs false_friend_of", at)
        else:
            check_vendor_name(
                problems, document, at, owner.false_friend_of, vendors, "false_friend_of"
            )
        digits = PREFIX_DIGITS[owner.registry]
        for prefix_index, prefix in enumerate(owner.prefixes):
            prefix_at = (*at, "prefixes", prefix_index)
            if len(prefix) != digits or not _HEX.match(prefix):
                problems.add(
                    document,
                    f"prefix {prefix!r} is not {digits} upper-case hex digits ({owner.registry})",
                    prefix_at,
                    entry=document.describe(at),
                )
            first = seen_prefixes.setdefault(prefix, owner.registry_name)
            if first != owner.registry_name:
                problems.add(
                    document,
                    f"prefix {prefix} also listed for {first!r}",
                    prefix_at,
                    entry=document.describe(at),
                )
    for index, other in enumerate(parsed.model.not_device_makers):
        check_sources(problems, document, ("not_device_makers", index), other.sources)
    return LoadedOuiOwners(
        parsed.model.snapshot,
        tuple(parsed.model.owners),
        tuple(parsed.model.not_device_makers),
    )

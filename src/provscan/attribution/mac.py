"""MAC addresses: normalisation, locally administered detection, IEEE registry owner."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache

from provscan.wire.mac import is_locally_administered, is_multicast, normalise_mac

__all__ = [
    "is_locally_administered",
    "is_multicast",
    "normalise_mac",
    "oui_owner",
    "registry_display_name",
    "vendor_for_registry_name",
    "whole_name",
]


@lru_cache(maxsize=4096)
def oui_owner(mac: str) -> str | None:
    """The IEEE registry organisation for the MAC's OUI (netaddr ships the registry)."""
    import netaddr  # here: ~0.02-0.07 s of start-up, and a sweep of empty space sees no MAC

    try:
        eui = netaddr.EUI(mac)
        registration = eui.oui.registration()
    except (netaddr.NotRegisteredError, netaddr.AddrFormatError, IndexError, ValueError):
        return None
    org = str(registration.org).strip()
    return org or None


def _norm(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())


#: Corporate designators that end registry names ("Co.,Ltd.", "Inc", "GmbH"): left out when
#: comparing whole names, so "Amcrest Technologies LLC" is the spelling "Amcrest Technologies".
LEGAL_DESIGNATORS = frozenset(
    [
        "ab",
        "ag",
        "as",
        "bv",
        "co",
        "company",
        "corp",
        "corporation",
        "gmbh",
        "inc",
        "incorporated",
        "kg",
        "kk",
        "limited",
        "llc",
        "ltd",
        "nv",
        "oy",
        "plc",
        "pte",
        "pty",
        "pvt",
        "private",
        "sa",
        "sas",
        "sau",
        "spa",
        "srl",
    ]
)


def whole_name(text: str) -> str:
    """A name without punctuation, case or trailing corporate designators."""
    words = re.findall(r"[0-9a-z]+", text.lower())
    while words and words[-1] in LEGAL_DESIGNATORS:
        words.pop()
    return "".join(words)


def registry_display_name(text: str) -> str:
    """A registry organisation as written, without trailing corporate designators and
    punctuation: "Check Point Software Technologies" stays, "Shanghai Imilab Technology
    Co.Ltd" -> "Shanghai Imilab Technology", "COMPAL INFORMATION (KUNSHAN) CO., LTD." ->
    "COMPAL INFORMATION" (a bracketed part the cut would leave open goes whole)."""
    shown = " ".join(text.split())
    words = re.findall(r"[^\W_]+|[^\w\s]+", shown)
    while words and (
        words[-1].lower() in LEGAL_DESIGNATORS or not any(ch.isalnum() for ch in words[-1])
    ):
        words.pop()
    if not words:
        return shown
    cut = 0
    for word in words:  # cut after the last kept word, keeping the name's own spacing
        cut = shown.index(word, cut) + len(word)
    result = shown[:cut].rstrip(" ,.")
    if result.count("(") > result.count(")"):
        result = result[: result.rfind("(")].rstrip(" ,.")
    return result or shown


def vendor_for_registry_name(
    vendors: Mapping[str, Sequence[str]],
    owner: str,
    registry: Mapping[str, str | None] | None = None,
) -> str | None:
    """Map an IEEE organisation name to a canonical vendor, by whole names only.

    ``registry`` maps reviewed registry names (``oui_owners.yaml``, compared by
    :func:`whole_name`) to their vendor, or to None for a false friend; it is consulted first.
    Otherwise ``vendors`` maps each canonical name to its spellings (name, aliases, legal
    names) and a spelling matches only when it *is* the registry name, corporate designators
    aside: "Amcrest Technologies" finds "Amcrest Technologies LLC", while the alias "Samsung"
    does not find "Samsung Electronics Co.,Ltd" (a prefix is not a name) and
    "Shanghai Dahua Scale Factory" does not find Dahua.
    """
    owner_name = whole_name(owner)
    if not owner_name:
        return None
    if registry is not None:
        # The registry's own spelling first: two registrants whose names differ only by their
        # legal form ("Teltronic S.A.U." and the unrelated "Teltronic AG") are two entries.
        spelled = _norm(owner)
        for registry_name, vendor in registry.items():
            if _norm(registry_name) == spelled:
                return vendor
        for registry_name, vendor in registry.items():
            if whole_name(registry_name) == owner_name:
                return vendor
    for canonical, spellings in vendors.items():
        if any(whole_name(spelling) == owner_name for spelling in spellings):
            return canonical
    return None

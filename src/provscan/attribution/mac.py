"""MAC addresses: normalisation, locally administered detection, IEEE registry owner."""

from __future__ import annotations

import re
from functools import lru_cache

import netaddr

from provscan.wire.mac import is_locally_administered, is_multicast, normalise_mac

__all__ = ["is_locally_administered", "is_multicast", "normalise_mac", "oui_owner"]


@lru_cache(maxsize=4096)
def oui_owner(mac: str) -> str | None:
    """The IEEE registry organisation for the MAC's OUI (netaddr ships the registry)."""
    try:
        eui = netaddr.EUI(mac)
        registration = eui.oui.registration()
    except (netaddr.NotRegisteredError, netaddr.AddrFormatError, IndexError, ValueError):
        return None
    org = str(registration.org).strip()
    return org or None


def _norm(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())


#: Shorter names would match unrelated registry entries by prefix.
_MIN_PREFIX = 6


def vendor_for_registry_name(vendors: dict[str, list[str]], owner: str) -> str | None:
    """Map an IEEE organisation name to a canonical vendor.

    ``vendors`` maps each canonical name to its spellings (name, aliases, legal names).
    A spelling matches when one normalised string starts with the other, so
    "Amcrest Technologies" finds "Amcrest Technologies LLC" while
    "Shanghai Dahua Scale Factory" does not find Dahua.
    """
    owner_norm = _norm(owner)
    best: tuple[int, str] | None = None
    for canonical, spellings in vendors.items():
        for spelling in spellings:
            norm = _norm(spelling)
            if len(norm) < _MIN_PREFIX:
                continue
            prefix_match = owner_norm.startswith(norm) or norm.startswith(owner_norm)
            if prefix_match and (best is None or len(norm) > best[0]):
                best = (len(norm), canonical)
    return best[1] if best else None

"""MAC addresses: normalisation, locally administered detection, IEEE registry owner."""

from __future__ import annotations

import re
from functools import lru_cache

import netaddr

_HEX = re.compile(r"[0-9a-fA-F]")


def normalise_mac(value: str) -> str | None:
    """``3CEF8C6101C0`` / ``3c-ef-8c-61-01-c0`` -> ``3c:ef:8c:61:01:c0``; None if not a MAC."""
    digits = "".join(_HEX.findall(value))
    if len(digits) != 12 or len(value) > 24:
        return None
    mac = ":".join(digits[i : i + 2] for i in range(0, 12, 2)).lower()
    if mac in ("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"):
        return None
    return mac


def is_locally_administered(mac: str) -> bool:
    """Randomised/private MACs set the U/L bit; their OUI says nothing about the maker."""
    return bool(int(mac[0:2], 16) & 0x02)


def is_multicast(mac: str) -> bool:
    return bool(int(mac[0:2], 16) & 0x01)


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

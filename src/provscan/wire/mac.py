"""MAC address text, pure: the one spelling every layer compares (``3c:ef:8c:61:01:c0``)."""

from __future__ import annotations

import re

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

"""MAC address text, pure: the one spelling every layer compares (``3c:ef:8c:61:01:c0``)."""

from __future__ import annotations

import re

_HEX = re.compile(r"[0-9a-fA-F]")
#: The whole text is a MAC: 12 hex digits; pairs joined by one separator used throughout;
#: groups of four (Cisco ``3cef.8c61.01c0``, Huawei ``3cef-8c61-01c0``); halves (HP/Aruba
#: ``3cef8c-6101c0``). Text that merely holds 12 hex digits among other characters ("Login to
#: 6G0ACB9PAZ00187", a Dahua realm) is not a MAC.
_MAC_TEXT = re.compile(
    r"[0-9a-fA-F]{12}"
    r"|[0-9a-fA-F]{2}(?P<sep>[:\- ])[0-9a-fA-F]{2}(?:(?P=sep)[0-9a-fA-F]{2}){4}"
    r"|[0-9a-fA-F]{4}(?P<dot>[.\-])[0-9a-fA-F]{4}(?P=dot)[0-9a-fA-F]{4}"
    r"|[0-9a-fA-F]{6}[\-:][0-9a-fA-F]{6}"
)


def normalise_mac(value: str) -> str | None:
    """``3CEF8C6101C0`` / ``3c-ef-8c-61-01-c0`` / ``3cef.8c61.01c0`` -> ``3c:ef:8c:61:01:c0``;
    None if the (stripped) text is not a MAC and nothing else."""
    if len(value) > 40 or not _MAC_TEXT.fullmatch(value.strip()):
        return None
    digits = "".join(_HEX.findall(value))
    mac = ":".join(digits[i : i + 2] for i in range(0, 12, 2)).lower()
    if mac in ("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"):
        return None
    return mac


def is_locally_administered(mac: str) -> bool:
    """Randomised/private MACs set the U/L bit; their OUI says nothing about the maker."""
    return bool(int(mac[0:2], 16) & 0x02)


def is_multicast(mac: str) -> bool:
    return bool(int(mac[0:2], 16) & 0x01)

"""Firmware versions, re-exported: the parsing and comparison live in ``knowledge.versions``.

The vulnerability data is checked with them when it loads, and knowledge sits below posture.
"""

from __future__ import annotations

from provscan.knowledge.versions import (
    Basis,
    Firmware,
    RangeVerdict,
    Scheme,
    VersionRange,
    compare,
    in_range,
    parse_firmware,
    yymmdd,
)

__all__ = [
    "Basis",
    "Firmware",
    "RangeVerdict",
    "Scheme",
    "VersionRange",
    "compare",
    "in_range",
    "parse_firmware",
    "yymmdd",
]

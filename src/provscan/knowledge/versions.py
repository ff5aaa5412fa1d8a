"""Firmware version strings as the vendors write them, and how to compare them.

Formats understood (examples are real strings from advisories and devices):

- **Hikvision**: ``V5.5.800 build 210628`` — a dotted version and a ``YYMMDD`` build date;
  also ``V5.4.0build 160401``, ``V5.4.41`` (no build), ``IPC_G5_EU_V5.5.800_210628``
  (firmware package names) and ``V4.0.1build171121``.
- **Dahua** (and OEMs): ``2.800.0000000.29.R.210630`` — major.baseline, a 7-character
  customisation field (``0000000`` for Dahua, e.g. ``00AC000`` for Amcrest builds), a
  revision, a release type (``R``), and the build date ``YYMMDD`` in the last field, which is
  often missing (``2.800.0000000.29.R``); software-version replies may carry the date as
  ``Build Date: 2021-06-30``.
- **Plain dotted** versions (``9.70.1.5``, ``1.1.4``).

Advisories state ranges two ways: Hikvision by version and build ("V5.2.0 build 140721 to
V5.4.0 build 160530"), Dahua by build date ("built before 2021-06-30"). :func:`compare`
follows the range's basis and answers ``None`` — *undetermined*, never a guess — when the
strings lack what the basis needs (e.g. a Dahua version without its build date).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

Scheme = Literal["hikvision", "dahua", "dotted"]
Basis = Literal["version", "build_date"]

_HIK = re.compile(
    r"""V?(?P<version>\d+(?:\.\d+){1,3})      # V5.5.800
        (?:\s*(?:build|b|_)\s*(?P<build>\d{6}))?  # build 210628 / b160401 / _210628
        (?![\d.])""",
    re.IGNORECASE | re.VERBOSE,
)
_HIK_PACKAGE = re.compile(r"^[A-Z]{2,4}_[A-Z0-9]{2,3}_.*?V(?=\d)", re.IGNORECASE)
_DAHUA = re.compile(
    r"""^V?(?P<major>\d+)\.(?P<baseline>\d{3})\.          # 2.800.
        (?P<custom>[0-9A-Z]{4,8})\.                      # 0000000 / 00AC000 / LR001
        (?P<revision>\d+)\.(?P<release>[A-Z])            # 29.R
        (?:\.(?P<build>\d{6}))?                          # .210630
        (?:\s*,?\s*(?:build(?:\s*date)?\s*[:=]?\s*)(?P<iso>\d{4}-\d{2}-\d{2}))?""",
    re.IGNORECASE | re.VERBOSE,
)
_DOTTED = re.compile(r"^V?(?P<version>\d+(?:[.-]\d+)*)$", re.IGNORECASE)
#: A bound given as a build date only ("to b160414" in an advisory).
_BUILD_ONLY = re.compile(r"^(?:build|b)\s*(?P<build>\d{6})$", re.IGNORECASE)
_DAHUA_ISO = re.compile(r"(?:build(?:\s*date)?\s*[:=]?\s*)(\d{4}-\d{2}-\d{2})", re.IGNORECASE)


@dataclass(frozen=True)
class Firmware:
    """A parsed firmware string. ``numbers`` is the dotted part; ``build`` the build date."""

    raw: str
    scheme: Scheme
    numbers: tuple[int, ...]
    build: date | None = None
    #: Dahua's customisation field (``0000000`` Dahua, ``00AC000`` Amcrest, ...).
    custom: str | None = None
    revision: int | None = None

    def __str__(self) -> str:
        return self.raw


def yymmdd(text: str) -> date | None:
    """``210628`` -> 2021-06-28 (years 00-69 are 20xx); None for an impossible date."""
    if len(text) != 6 or not text.isdigit():
        return None
    year, month, day = int(text[:2]), int(text[2:4]), int(text[4:])
    try:
        return date(2000 + year if year < 70 else 1900 + year, month, day)
    except ValueError:
        return None


def _iso(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def parse_firmware(text: str | None) -> Firmware | None:
    """Parse a firmware string in any known format; None when nothing version-like is in it."""
    if not text:
        return None
    raw = " ".join(text.split())[:120]
    candidate = raw.strip()
    dahua = _DAHUA.match(candidate)
    if dahua:
        build = yymmdd(dahua.group("build")) if dahua.group("build") else None
        if build is None and dahua.group("iso"):
            build = _iso(dahua.group("iso"))
        if build is None:
            iso = _DAHUA_ISO.search(candidate)
            build = _iso(iso.group(1)) if iso else None
        return Firmware(
            raw=raw,
            scheme="dahua",
            numbers=(int(dahua.group("major")), int(dahua.group("baseline"))),
            build=build,
            custom=dahua.group("custom").upper(),
            revision=int(dahua.group("revision")),
        )
    dotted = _DOTTED.match(candidate)
    if dotted:
        parts = re.split(r"[.-]", dotted.group("version"))
        return Firmware(raw, "dotted", tuple(int(part) for part in parts))
    build_only = _BUILD_ONLY.match(candidate)
    if build_only:
        return Firmware(raw, "hikvision", (), yymmdd(build_only.group("build")))
    stripped = _HIK_PACKAGE.sub("", candidate)
    hik = _HIK.search(stripped)
    if hik:
        numbers = tuple(int(part) for part in hik.group("version").split("."))
        build = yymmdd(hik.group("build")) if hik.group("build") else None
        return Firmware(raw, "hikvision", numbers, build)
    return None


def _pad(numbers: tuple[int, ...], length: int) -> tuple[int, ...]:
    return numbers + (0,) * (length - len(numbers))


def compare(left: Firmware, right: Firmware, basis: Basis) -> int | None:
    """-1, 0 or 1 as ``left`` is older than, equal to or newer than ``right``.

    ``basis="build_date"`` compares build dates only (Dahua's "built before" ranges);
    ``basis="version"`` compares the dotted numbers, then the build date when the numbers
    are equal. None when the answer depends on something a string does not carry.
    """
    if basis == "build_date":
        if left.build is None or right.build is None:
            return None
        return (left.build > right.build) - (left.build < right.build)
    length = max(len(left.numbers), len(right.numbers))
    a, b = _pad(left.numbers, length), _pad(right.numbers, length)
    if a != b:
        return (a > b) - (a < b)
    if right.build is None:
        return 0  # the bound names no build: every build of this version is that version
    if left.build is None:
        return None
    return (left.build > right.build) - (left.build < right.build)


@dataclass(frozen=True)
class VersionRange:
    """An affected range: ``introduced`` ≤ v ≤ ``last_affected``, or ``introduced`` ≤ v < ``fixed``.

    Bounds left out are open. ``basis`` says how the advisory compares (see :func:`compare`).
    """

    basis: Basis
    introduced: Firmware | None = None
    last_affected: Firmware | None = None
    fixed: Firmware | None = None


RangeVerdict = Literal["affected", "not_affected", "undetermined"]


def in_range(firmware: Firmware, version_range: VersionRange) -> RangeVerdict:
    """Whether ``firmware`` falls in ``version_range``; undetermined when it cannot be told."""
    basis = version_range.basis
    undetermined = False
    if version_range.introduced is not None:
        order = compare(firmware, version_range.introduced, basis)
        if order is None:
            undetermined = True
        elif order < 0:
            return "not_affected"
    if version_range.last_affected is not None:
        order = compare(firmware, version_range.last_affected, basis)
        if order is None:
            undetermined = True
        elif order > 0:
            return "not_affected"
    if version_range.fixed is not None:
        order = compare(firmware, version_range.fixed, basis)
        if order is None:
            undetermined = True
        elif order >= 0:
            return "not_affected"
    return "undetermined" if undetermined else "affected"

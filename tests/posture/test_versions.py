"""Firmware version parsing and range comparison on the vendors' real version strings."""

from __future__ import annotations

from datetime import date

import pytest

from provscan.posture.versions import (
    VersionRange,
    compare,
    in_range,
    parse_firmware,
    yymmdd,
)


def fw(text: str):  # type: ignore[no-untyped-def]
    parsed = parse_firmware(text)
    assert parsed is not None, text
    return parsed


@pytest.mark.parametrize(
    ("text", "scheme", "numbers", "build"),
    [
        # Hikvision: advisory and device strings
        ("V5.5.800 build 210628", "hikvision", (5, 5, 800), date(2021, 6, 28)),
        ("V5.4.0 build 160530", "hikvision", (5, 4, 0), date(2016, 5, 30)),
        ("V5.4.0build 160401", "hikvision", (5, 4, 0), date(2016, 4, 1)),
        ("V4.0.1build171121", "hikvision", (4, 0, 1), date(2017, 11, 21)),
        ("V4.30.085 build 200916", "hikvision", (4, 30, 85), date(2020, 9, 16)),
        ("IPC_G5_EU_V5.5.800_210628", "hikvision", (5, 5, 800), date(2021, 6, 28)),
        ("build 160414", "hikvision", (), date(2016, 4, 14)),
        ("V5.4.41", "dotted", (5, 4, 41), None),
        ("V2.3.8-8", "dotted", (2, 3, 8, 8), None),
        # Dahua and OEM builds
        ("2.800.0000000.29.R.210630", "dahua", (2, 800), date(2021, 6, 30)),
        ("2.820.0000000.18.R.210705", "dahua", (2, 820), date(2021, 7, 5)),
        ("2.800.00AC000.0.R.200330", "dahua", (2, 800), date(2020, 3, 30)),
        ("2.623.00AC004.0.R.200316", "dahua", (2, 623), date(2020, 3, 16)),
        ("2.800.0000000.29.R", "dahua", (2, 800), None),
        ("V2.800.00AC006.0.R", "dahua", (2, 800), None),
        ("V2.000.LR001.3.R", "dahua", (2, 0), None),
        ("2.212.0000.0.R", "dahua", (2, 212), None),
        ("2.800.0000000.28.R,build:2021-06-29", "dahua", (2, 800), date(2021, 6, 29)),
        ("2.800.0000000.29.R, Build Date: 2021-06-30", "dahua", (2, 800), date(2021, 6, 30)),
        # plain dotted (Axis and others)
        ("9.70.1.5", "dotted", (9, 70, 1, 5), None),
        ("10.12.182", "dotted", (10, 12, 182), None),
    ],
)
def test_real_version_strings_parse(
    text: str, scheme: str, numbers: tuple[int, ...], build: date | None
) -> None:
    parsed = fw(text)
    assert (parsed.scheme, parsed.numbers, parsed.build) == (scheme, numbers, build)


def test_dahua_customisation_field_is_kept() -> None:
    assert fw("2.800.00AC000.0.R.200330").custom == "00AC000"
    assert fw("2.800.0000000.29.R.210630").revision == 29


@pytest.mark.parametrize("text", ["", "garbage", "build 991399", "unknown firmware"])
def test_non_versions_do_not_parse(text: str) -> None:
    parsed = parse_firmware(text)
    assert parsed is None or (parsed.build is None and not parsed.numbers)


def test_yymmdd_rejects_impossible_dates() -> None:
    assert yymmdd("210631") is None
    assert yymmdd("991231") == date(1999, 12, 31)
    assert yymmdd("21063") is None


def test_version_basis_compares_numbers_then_build() -> None:
    assert compare(fw("V5.4.0 build 160530"), fw("V5.4.0 build 160531"), "version") == -1
    assert compare(fw("V5.4.0 build 160530"), fw("V5.4.0 build 160530"), "version") == 0
    assert compare(fw("V5.4.1 build 150101"), fw("V5.4.0 build 160530"), "version") == 1
    assert compare(fw("V5.4.41"), fw("V5.4.5 build 160928"), "version") == 1
    # A bound without a build covers every build of that version ...
    assert compare(fw("V5.4.0 build 160530"), fw("V5.4.0"), "version") == 0
    # ... but a device without a build cannot be placed against a bound with one.
    assert compare(fw("V5.4.0"), fw("V5.4.0 build 160530"), "version") is None


def test_build_date_basis_ignores_the_version_and_needs_both_dates() -> None:
    assert (
        compare(fw("2.800.0000000.28.R.210629"), fw("2.800.0000000.29.R.210630"), "build_date")
        == -1
    )
    assert compare(fw("2.800.0000000.28.R,build:2021-06-30"), fw("build 210630"), "build_date") == 0
    assert compare(fw("2.800.0000000.29.R"), fw("build 210630"), "build_date") is None


HIK_7921 = VersionRange(
    "version",
    introduced=fw("V5.2.0 build 140721"),
    last_affected=fw("V5.4.0 build 160530"),
)
DAHUA_33044 = VersionRange("build_date", fixed=fw("2.800.0000000.29.R.210630"))


@pytest.mark.parametrize(
    ("firmware", "verdict"),
    [
        ("V5.2.0 build 140720", "not_affected"),  # a day before the first affected build
        ("V5.2.0 build 140721", "affected"),  # first affected (inclusive)
        ("V5.3.0 build 151010", "affected"),
        ("V5.4.0 build 160530", "affected"),  # last affected (inclusive)
        ("V5.4.0 build 160531", "not_affected"),  # a day later
        ("V5.4.41 build 170312", "not_affected"),  # the fixed release
        ("V5.4.0", "undetermined"),  # equal version, no build: cannot tell
    ],
)
def test_hikvision_range_edges(firmware: str, verdict: str) -> None:
    assert in_range(fw(firmware), HIK_7921) == verdict


@pytest.mark.parametrize(
    ("firmware", "verdict"),
    [
        ("2.800.0000000.28.R.210629", "affected"),
        ("2.800.0000000.29.R.210630", "not_affected"),  # the fixed build itself
        ("2.800.0000000.30.R.211011", "not_affected"),
        ("2.800.0000000.29.R", "undetermined"),  # Dahua strings often lack the date
        ("2.800.0000000.28.R,build:2021-06-29", "affected"),
    ],
)
def test_dahua_built_before_edges(firmware: str, verdict: str) -> None:
    assert in_range(fw(firmware), DAHUA_33044) == verdict

"""The posture overview and a device's posture line never count "likely" as vulnerable.

"likely" means the firmware is in an approximate range (a published tested version, a range
that cannot tell hardware revisions apart): a person should check it, but the report must
not claim it.
"""

from __future__ import annotations

import dataclasses

from provscan.model import Device, Vulnerability
from provscan.report.formats import _posture_overview, _posture_summary, _vulnerability_cell


def _vulnerability(cve: str, status: str, kev: bool = False) -> Vulnerability:
    return Vulnerability(
        cve=cve,
        cvss=9.8,
        severity="critical",
        kev=kev,
        fixed_in="2.0",
        source="https://example.invalid/advisory",
        status=status,
    )


BASE = Device(ip="127.0.0.10", open_ports=(80,), manufacturer="Reolink", confidence=0.9)
CONFIRMED = dataclasses.replace(
    BASE, vulnerabilities=(_vulnerability("CVE-2021-0001", "vulnerable", kev=True),)
)
LIKELY = dataclasses.replace(
    BASE,
    ip="127.0.0.11",
    vulnerabilities=(
        _vulnerability("CVE-2021-40407", "likely"),
        _vulnerability("CVE-2019-11001", "undetermined"),
    ),
)
UNPLACED = dataclasses.replace(
    BASE, ip="127.0.0.12", vulnerabilities=(_vulnerability("CVE-2020-0002", "undetermined"),)
)


def test_overview_counts_likely_apart_from_vulnerable() -> None:
    line = _posture_overview([CONFIRMED, LIKELY, UNPLACED])
    assert line.startswith("1 device vulnerable (CVE-2021-0001 KEV)")
    assert "CVE-2021-40407" not in line
    assert "1 likely vulnerable (firmware in an approximate range)" in line
    assert "1 with CVEs to check" in line


def test_only_likely_means_no_device_vulnerable() -> None:
    line = _posture_overview([LIKELY])
    assert line.startswith("0 devices vulnerable;")
    assert "1 likely vulnerable" in line


def test_device_line_says_likely_and_undetermined_separately() -> None:
    assert _posture_summary(LIKELY).startswith("0 vulnerable; 1 likely; 1 undetermined;")
    assert _posture_summary(CONFIRMED).startswith("1 vulnerable (1 known exploited);")


def test_the_table_cell_counts_as_the_summary_does() -> None:
    # The Vulns cell said "1" for a device whose only CVE was "likely" while the summary said
    # "0 devices vulnerable; 1 likely vulnerable" (newcomer review, 2026-12-06).
    assert _vulnerability_cell(CONFIRMED).plain == "1 (1 KEV)"
    assert _vulnerability_cell(LIKELY).plain == "~1"
    assert _vulnerability_cell(UNPLACED).plain == "?1"
    both = dataclasses.replace(
        CONFIRMED, vulnerabilities=(*CONFIRMED.vulnerabilities, *LIKELY.vulnerabilities)
    )
    assert _vulnerability_cell(both).plain == "1 ~1 (1 KEV)"
    assert _vulnerability_cell(BASE).plain == "-"

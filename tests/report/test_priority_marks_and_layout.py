"""The scan's terminal output and CSV as a household reads them (newcomer review):

- advice to replace or isolate a clear device of a maker that only measures binding others
  name says "not binding you" (CSV ``first_action``, the priority list), verdicts unchanged;
- the short priority list never hides a kind of action behind five of another: a vulnerable
  device's patch is on it;
- at 80 columns the verbose Clear section gives each family line its own rows, the "Others"
  list keeps its commas where it breaks, and a device whose model is unknown shows its type.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

from helpers import run_provscan
from rich.console import Console

from provscan.model import Device, Finding, Remediation, ScanInfo, ScanResult, Vulnerability
from provscan.report.formats import NOT_BINDING_YOU, render_csv, render_table, verdict

CRAFTED = Path(__file__).parents[1] / "pcap" / "fixtures" / "crafted_signals.pcapng"
LOOPBACK = {"PROVSCAN_ALLOWED_TARGETS": "127.0.0.0/8,::1/128"}

#: A Canadian measure that would restrict Hikvision but does not bind the user.
NOT_BINDING = Finding(
    "ca",
    "Canada",
    "Federal government purchase and use of Hikvision products barred",
    "Statement by the Minister of Industry, 27 Jun 2025",
    "2025-06-27",
    "hikvision",
    effect="use-ban",
    binding=False,
)
BINDING = Finding(
    "us",
    "United States",
    "NDAA FY2019 s.889(a)(1)(A): federal procurement ban",
    "Pub. L. 115-232, s. 889(a)(1)(A)",
    "2019-08-13",
    "dahua",
    effect="procurement-ban",
    binding=True,
)


def _info(acting_as: tuple[str, ...] = ("ca:individual",)) -> ScanInfo:
    return ScanInfo(
        "s1",
        "passive",
        datetime(2026, 12, 1, tzinfo=UTC),
        None,
        ("capture.pcap",),
        (80,),
        ("ca", "us"),
        "0",
        acting_as=acting_as,
    )


def _lines(devices: tuple[Device, ...], width: int, *, verbose: bool = False) -> list[str]:
    console = Console(width=width, record=True, file=io.StringIO())
    render_table(ScanResult(_info(), devices), console, verbose=verbose)
    return [line.rstrip() for line in console.export_text().splitlines()]


def _csv(devices: tuple[Device, ...]) -> dict[str, dict[str, str]]:
    rows = csv.DictReader(io.StringIO(render_csv(ScanResult(_info(), devices))))
    return {row["ip"]: row for row in rows}


def _hikvision(ip: str, *remediation: Remediation, model: str | None = "DS-2CD2386G2-IU") -> Device:
    return Device(
        ip=ip,
        open_ports=(80, 554),
        manufacturer="Hikvision",
        brand="Hikvision",
        family="hikvision",
        model=model,
        device_type="camera",
        confidence=0.99,
        findings=(NOT_BINDING,),
        remediation=remediation,
    )


END_OF_SUPPORT = (
    Remediation("isolate", "limit the damage: end of support", 2, "VLAN", effort="days"),
    Remediation("replace", "support withdrawn in Canada since 2025-10-25", 2, "", effort="months"),
    Remediation("reconfigure", "port 80 serves a login page over plain HTTP (no TLS)", 3, ""),
)
EXPLOITED = (
    Remediation("isolate", "limit the damage: end of support, CVE-2021-36260", 1, "VLAN"),
    Remediation("patch", "likely affected by CVE-2021-36260, CVSS 9.8 critical", 1, ""),
    Remediation("replace", "support withdrawn in Canada since 2025-10-25", 2, ""),
)


def _restricted_dahua(ip: str) -> Device:
    return Device(
        ip=ip,
        open_ports=(80, 37777),
        manufacturer="Dahua",
        brand="Dahua",
        family="dahua",
        model="DH-IPC-HDW1230T2",
        device_type="camera",
        confidence=0.99,
        restricted=True,
        findings=(BINDING,),
        remediation=(
            Remediation("isolate", "limit the damage: restricted maker", 2, "VLAN"),
            Remediation("replace", "maker Dahua is restricted by policy us", 2, ""),
        ),
    )


# --- "not binding you" ---------------------------------------------------------------


def test_the_csv_marks_a_clear_devices_first_action_that_binds_nobody() -> None:
    devices = (
        _hikvision("127.0.0.10", *END_OF_SUPPORT),
        _hikvision("127.0.0.11", *EXPLOITED),
        _restricted_dahua("127.0.0.12"),
    )
    rows = _csv(devices)
    # the end of support's isolation, on a device no measure binding the user restricts
    assert rows["127.0.0.10"]["first_action"] == f"isolate({NOT_BINDING_YOU})"
    # the verdicts are what they were
    assert [rows[d.ip]["verdict"] for d in devices] == ["clear", "clear", "restricted"]
    assert verdict(devices[0]) == "clear"
    # an isolation a known-exploited CVE calls for is the device's own, not marked
    assert rows["127.0.0.11"]["first_action"] == "isolate"
    # nor is that of a device a binding measure restricts
    assert rows["127.0.0.12"]["first_action"] == "isolate"


def test_the_priority_list_says_not_binding_you_where_the_csv_does() -> None:
    devices = (_hikvision("127.0.0.10", *END_OF_SUPPORT), _hikvision("127.0.0.11", *EXPLOITED))
    lines = _lines(devices, 160, verbose=True)
    start = lines.index("Priority list")
    rows = [line for line in lines[start:] if line.startswith("  ") and "127.0.0." in line]
    by_action = {(line.split()[1], line.split()[3]): line for line in rows}
    assert f"{NOT_BINDING_YOU}: support withdrawn in Canada" in by_action["127.0.0.10", "replace"]
    assert f"{NOT_BINDING_YOU}: limit the damage" in by_action["127.0.0.10", "isolate"]
    # a patch, and advice a CVE makes urgent, are never marked
    assert NOT_BINDING_YOU not in by_action["127.0.0.10", "reconfigure"]
    assert NOT_BINDING_YOU not in by_action["127.0.0.11", "isolate"]
    assert NOT_BINDING_YOU not in by_action["127.0.0.11", "patch"]
    # (its end-of-support replacement is, as on the other device)
    assert NOT_BINDING_YOU in by_action["127.0.0.11", "replace"]


# --- the short priority list -----------------------------------------------------------


def _vulnerable_dahua(ip: str) -> Device:
    return Device(
        ip=ip,
        open_ports=(80, 37777),
        manufacturer="Dahua",
        brand="Dahua",
        family="dahua",
        model="DH-IPC-HFW2431S",
        confidence=0.99,
        restricted=True,
        findings=(BINDING,),
        vulnerabilities=(
            Vulnerability("CVE-2025-31700", 8.1, "high", False, "V2.840", "https://example.org"),
        ),
        remediation=(
            Remediation("isolate", "limit the damage: restricted maker", 2, "VLAN"),
            Remediation("replace", "maker Dahua is restricted by policy us", 2, ""),
            Remediation("patch", "affected by CVE-2025-31700, CVSS 8.1 high", 2, ""),
        ),
    )


def _unplaced(ip: str) -> Device:
    """A device whose firmware could not be placed: its patch is a check, listed first."""
    device = _restricted_dahua(ip)
    check = Remediation(
        "patch", "firmware could not be placed in the published ranges of CVE-2021-33044", 2, ""
    )
    return Device(**{**device.__dict__, "remediation": (*device.remediation, check)})


def test_the_short_list_shows_a_vulnerable_devices_patch_among_five() -> None:
    # Given six restricted devices to isolate and replace, one of them vulnerable with a fix
    # published, one whose firmware could not be placed (a check, ahead by its address)
    devices = (
        _unplaced("127.0.0.2"),
        *(_restricted_dahua(f"127.0.0.{n}") for n in range(3, 7)),
        _vulnerable_dahua("127.0.0.9"),
    )
    total = sum(len(device.remediation) for device in devices)
    lines = _lines(devices, 100)
    start = next(i for i, line in enumerate(lines) if line.startswith("Priority list"))
    assert lines[start] == (
        f"Priority list (5 of {total} actions: the most urgent, at least one of each kind)"
    )
    rows = [line.split() for line in lines[start + 2 : start + 7]]
    assert all(row[1].startswith("127.0.0.") for row in rows), lines[start:]
    assert lines[start + 7].startswith(f"  ... {total - 5} more")
    # Then the patch of the vulnerable device is on it (not the check), with each kind
    assert ["127.0.0.9", "patch"] in [row[1:4:2] for row in rows]
    assert {row[3] for row in rows} == {"isolate", "replace", "patch"}
    # and the rows keep the whole list's order: most urgent first
    assert [int(row[0]) for row in rows] == sorted(int(row[0]) for row in rows)


def test_the_crafted_capture_shows_its_vulnerable_devices_patch() -> None:
    # Given the capture the review read: "1 device vulnerable (CVE-2025-31700)"
    done = run_provscan("pcap", str(CRAFTED), "--no-db", "--quiet", width=80, env=LOOPBACK)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any("1 device vulnerable (CVE-2025-31700)" in line for line in lines)
    start = next(i for i, line in enumerate(lines) if line.startswith("Priority list"))
    end = next(i for i, line in enumerate(lines) if line.startswith("  ... "))
    rows = lines[start + 2 : end]
    # Then the short list, still five rows, has its patch line
    assert len(rows) == 5, lines[start:end]
    assert any(" patch " in row and "CVE-2025-31700" in row for row in rows), rows
    assert max(len(line) for line in lines[start:end]) <= 80


# --- layout at 80 columns --------------------------------------------------------------

OTHER_MAKERS = ("Axis", "Bosch", "Hanwha Vision", "Mobotix", "Sony", "Vivotek", "Avigilon")


def _others(count: int) -> tuple[Device, ...]:
    return tuple(
        Device(
            ip=f"127.0.1.{n}",
            open_ports=(80,),
            manufacturer=OTHER_MAKERS[n % len(OTHER_MAKERS)],
            confidence=0.9,
        )
        for n in range(10, 10 + count)
    )


def test_the_others_list_keeps_its_commas_where_it_breaks() -> None:
    devices = (_hikvision("127.0.0.10"), *_others(16))
    lines = _lines(devices, 80)
    start = next(i for i, line in enumerate(lines) if line.startswith("  Others (16): "))
    end = next(i for i in range(start, len(lines)) if not lines[i])
    listed = lines[start:end]
    assert len(listed) >= 3
    assert all(line.endswith(",") for line in listed[:-1]), listed
    assert not listed[-1].endswith(",")
    assert max(len(line) for line in listed) <= 80
    # every device once, none cut
    text = " ".join(listed)
    assert all(text.count(f"{d.ip},") + text.endswith(d.ip) == 1 for d in devices[1:])


def test_verbose_clear_section_gives_each_family_line_its_rows() -> None:
    dahua = Device(
        ip="127.0.0.20",
        open_ports=(80,),
        manufacturer="Dahua",
        brand="Dahua",
        family="dahua",
        confidence=0.99,
        findings=(dataclasses_replace(NOT_BINDING, family="dahua"),),
    )
    devices = (
        _hikvision("127.0.0.10"),
        _hikvision("127.0.0.11"),
        dahua,
        *_others(2),
    )
    lines = _lines(devices, 80, verbose=True)
    clear = next(i for i, line in enumerate(lines) if line.startswith("Clear: "))
    end = next(i for i in range(clear, len(lines)) if lines[i].startswith("Policies"))
    section = lines[clear:end]
    hikvision = next(i for i, line in enumerate(section) if line.startswith("Hikvision family"))
    dahua_at = next(i for i, line in enumerate(section) if line.startswith("Dahua family"))
    others = section.index("Others (2):")
    assert hikvision < dahua_at < others
    # Then each family line is followed by its own devices' rows, before the next one
    assert all(
        any(ip in line for line in section[hikvision:dahua_at])
        for ip in ("127.0.0.10", "127.0.0.11")
    )
    assert any("127.0.0.20" in line for line in section[dahua_at:others])
    assert all(any(d.ip in line for line in section[others:]) for d in devices[3:])
    # and no family line ends a run of headings: the column titles once, under the first
    assert sum(line.split()[:1] == ["IP"] for line in section) == 1
    assert max(len(line) for line in section) <= 80


def test_a_device_whose_model_is_unknown_shows_its_type_in_the_model_cell() -> None:
    router = Device(
        ip="127.0.0.30",
        open_ports=(23, 80, 7547),
        manufacturer="Huawei",
        family="huawei",
        device_type="router",
        confidence=0.95,
        restricted=True,
        findings=(dataclasses_replace(BINDING, family="huawei"),),
    )
    nothing = Device(
        ip="127.0.0.31",
        open_ports=(80,),
        manufacturer="Huawei",
        family="huawei",
        confidence=0.95,
        restricted=True,
        findings=(dataclasses_replace(BINDING, family="huawei"),),
    )
    for verbose in (False, True):
        lines = _lines((router, nothing), 80, verbose=verbose)
        (row,) = [line for line in lines if line.startswith("  127.0.0.30 ")]
        assert "(router)" in row, row
        (bare,) = [line for line in lines if line.startswith("  127.0.0.31 ")]
        assert "(" not in bare and " - " in bare, bare
    # the CSV (and the JSON) already give it in a column of its own
    assert _csv((router,))["127.0.0.30"]["device_type"] == "router"


def dataclasses_replace(finding: Finding, **changes: object) -> Finding:
    import dataclasses

    return dataclasses.replace(finding, **changes)  # type: ignore[arg-type]

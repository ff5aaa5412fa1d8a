"""The order of the remediation a user follows: isolate before replace, a known-exploited CVE
that may apply before hygiene, a rough effort per action, and the priority list's Reason
column saying the reason (docs/decisions/0004-security-posture.md, "Order of the actions")."""

from __future__ import annotations

import dataclasses
import io
import re
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console

from provscan.errors import KnowledgeError
from provscan.knowledge.loader import DEFAULT_DATA_DIR, load_posture_knowledge
from provscan.knowledge.remediation import ACTION_KINDS, load_remediation
from provscan.model import (
    Device,
    Exposure,
    Finding,
    Remediation,
    ScanInfo,
    ScanResult,
    Vulnerability,
)
from provscan.posture.assess import (
    ACTIONS,
    PostureOptions,
    assess_device,
    assess_scan,
    effort_of,
    priority_list,
    remediation_for,
)
from provscan.report.formats import render_table
from region_eol import with_region_limited

KNOWLEDGE = load_posture_knowledge()
RESTRICTED = Finding(
    "us", "United States", "NDAA FY2019 s.889", "Pub. L. 115-232", "2019-08-13", "dahua"
)
PLAIN_HTTP = Exposure("plain_http_login", "port 80 serves a login page over plain HTTP (no TLS)")


def dahua(ip: str = "127.0.0.5", **fields: object) -> Device:
    base = Device(
        ip=ip,
        open_ports=(80, 554),
        manufacturer="Dahua",
        brand="Dahua",
        family="dahua",
        model="DH-IPC-HDW3449H-AS-PV",
        confidence=0.99,
    )
    return dataclasses.replace(base, **fields)  # type: ignore[arg-type]


def vulnerability(cve: str, *, kev: bool, cvss: float = 9.8, **fields: object) -> Vulnerability:
    base = Vulnerability(
        cve=cve,
        cvss=cvss,
        severity="critical" if cvss >= 9 else "high",
        kev=kev,
        fixed_in="2.800.0000000.29.R.210630",
        source=f"https://nvd.nist.gov/vuln/detail/{cve}",
        status="undetermined",
    )
    return dataclasses.replace(base, **fields)  # type: ignore[arg-type]


def _plan(
    device: Device, *vulnerabilities: Vulnerability, exposures: Sequence[Exposure] = ()
) -> list[Remediation]:
    return remediation_for(
        device, vulnerabilities, exposures, (), KNOWLEDGE.remediation, KNOWLEDGE.exposure
    )


def _isolated_before_each_replace(plan: list[Remediation]) -> bool:
    """Every replace item has an isolate item before it, on the same condition or none."""
    for index, item in enumerate(plan):
        if item.action == "replace" and not any(
            earlier.action == "isolate" and earlier.condition in (None, item.condition)
            for earlier in plan[:index]
        ):
            return False
    return True


# --- a known-exploited CVE that may apply comes before hygiene -----------------------------


def test_reading_the_firmware_for_a_kev_cve_comes_before_enabling_https() -> None:
    plan = _plan(dahua(), vulnerability("CVE-2021-33044", kev=True), exposures=(PLAIN_HTTP,))
    verify, https = plan[0], plan[1]
    assert verify.action == "patch" and verify.priority == 2
    assert verify.reason.endswith("(on CISA KEV: CVE-2021-33044)")
    assert https.action == "reconfigure" and https.priority == 3


def test_reading_the_firmware_for_other_cves_stays_last() -> None:
    # not on KEV, even critical: a firmware to verify, after hygiene (priority 4)
    plan = _plan(dahua(), vulnerability("CVE-2025-31700", kev=False), exposures=(PLAIN_HTTP,))
    assert [(r.action, r.priority) for r in plan] == [("reconfigure", 3), ("patch", 4)]
    assert "CISA KEV" not in plan[1].reason


def test_one_kev_cve_among_the_unplaced_ranks_the_whole_check() -> None:
    plan = _plan(
        dahua(),
        vulnerability("CVE-2025-31700", kev=False),
        vulnerability("CVE-2021-33044", kev=True),
    )
    (verify,) = plan
    assert verify.priority == 2
    assert verify.reason == (
        "firmware could not be placed in the published ranges of CVE-2025-31700, "
        "CVE-2021-33044 (on CISA KEV: CVE-2021-33044)"
    )


def test_a_model_unknown_with_kev_advisories_is_read_before_hygiene() -> None:
    device = assess_device(dahua(model=None, attempts=()), KNOWLEDGE)
    (check,) = [r for r in device.remediation if r.reason.startswith("model unknown")]
    assert "on CISA KEV" in check.reason and check.priority == 2
    assert all(r.priority > check.priority for r in device.remediation if r.action == "reconfigure")


# --- every replacement comes with the isolation to apply until then ------------------------


def test_a_restricted_device_with_nothing_else_is_isolated_first() -> None:
    plan = _plan(dahua(restricted=True, findings=(RESTRICTED,)))
    assert [(r.action, r.priority) for r in plan] == [("isolate", 2), ("replace", 2)]
    assert plan[0].reason == "limit the damage: restricted maker"
    assert ACTIONS[0] == "isolate"


def test_a_cve_without_fixed_firmware_is_isolated_until_replaced() -> None:
    # high, not on KEV, not critical: before, its replace came with no isolation
    unfixed = vulnerability(
        "CVE-2017-7927", kev=False, cvss=7.5, fixed_in=None, status="vulnerable"
    )
    plan = _plan(dahua(), unfixed)
    assert [r.action for r in plan] == ["isolate", "replace"]
    assert plan[0].priority == plan[1].priority == 2
    assert "CVE-2017-7927" in plan[0].reason


def test_a_review_device_with_an_end_of_support_gets_a_conditional_isolation() -> None:
    # A Hikvision attributed below the verdict's confidence (review): the end of support in
    # Canada applies only if Hikvision made it; so does the isolation, ranked before it
    review = Device(
        ip="127.0.0.9",
        open_ports=(80, 554, 8000),
        manufacturer="Hikvision",
        family="hikvision",
        confidence=0.4,
    )
    # a test-only end of support limited to CA (tests/region_eol.py: the bundled holds none)
    knowledge = with_region_limited(KNOWLEDGE)
    device = assess_device(review, knowledge, options=PostureOptions(policies=("ca",)))
    replace = [r for r in device.remediation if r.action == "replace"]
    assert replace and all(r.condition == "made by Hikvision" for r in replace)
    isolate = next(r for r in device.remediation if r.action == "isolate")
    assert isolate.condition == "made by Hikvision"
    assert "end of support (if made by Hikvision)" in isolate.reason
    assert _isolated_before_each_replace(list(device.remediation))


def test_every_replace_of_a_scan_is_preceded_by_its_isolation() -> None:
    devices = (
        dahua("127.0.0.11", restricted=True, findings=(RESTRICTED,)),
        dahua("127.0.0.12", firmware="2.800.0000000.28.R.210629"),
        Device(ip="127.0.0.13", manufacturer="Hikvision", family="hikvision", confidence=0.99),
    )
    info = ScanInfo(
        "s", "active", datetime(2026, 1, 1, tzinfo=UTC), None, ("x",), (80,), ("us", "ca"), "0"
    )
    # the Hikvision's replace is a (test-only) end of support in Canada: tests/region_eol.py
    result = assess_scan(ScanResult(info, devices), with_region_limited(KNOWLEDGE))
    assert sum(r.action == "replace" for d in result.devices for r in d.remediation) >= 2
    for device in result.devices:
        assert _isolated_before_each_replace(list(device.remediation)), device.ip
    items = priority_list(result)
    for index, item in enumerate(items):
        if item.action == "replace":
            assert any(i.ip == item.ip and i.action == "isolate" for i in items[:index]), item


# --- effort: rough planning figures, as data -------------------------------------------------


def test_every_action_has_a_sourced_rough_effort() -> None:
    texts = load_remediation()
    assert set(texts.effort) == set(ACTION_KINDS) == set(ACTIONS)
    for action in ACTIONS:
        effort = effort_of(action, texts)
        assert effort is not None and effort.label and effort.text
        assert "rough planning figures" in effort.note.lower()
    assert "budget" in texts.effort["replace"].text


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("    - action: isolate\n", "    - action: quarantine\n", "unknown action 'quarantine'"),
        ('      label: "months"', '      label: "several months"', "at most 8 characters"),
    ],
)
def test_the_loader_refuses_bad_effort_data(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    data = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, data)
    path = data / "remediation.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(KnowledgeError, match=message):
        load_remediation(data)


def test_the_loader_wants_an_effort_for_every_action(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, data)
    path = data / "remediation.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("    - action: patch\n")
    end = text.index("    - action: isolate\n")
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    with pytest.raises(KnowledgeError, match="no effort for action"):
        load_remediation(data)


# --- the priority list says the reason, and the effort when it fits --------------------------

LONG_REASON = "port 80 serves a login page over plain HTTP (no TLS)"


def _rendered(width: int, *, verbose: bool) -> str:
    device = dahua(restricted=True, findings=(RESTRICTED,), exposure=(PLAIN_HTTP,))
    result = ScanResult(
        ScanInfo(
            "s", "active", datetime(2026, 1, 1, tzinfo=UTC), None, ("x",), (80,), ("us",), "0"
        ),
        (dataclasses.replace(device, remediation=tuple(_plan(device, exposures=(PLAIN_HTTP,)))),),
    )
    buffer = io.StringIO()
    render_table(result, Console(file=buffer, width=width, no_color=True), verbose=verbose)
    text = buffer.getvalue()
    return text[text.index("Priority list") : text.index("How to isolate")]


def _reason_column(section: str) -> str:
    """The Reason column's text, its folded lines joined."""
    lines = section.splitlines()
    header = next(line for line in lines if "Reason" in line and "Action" in line)
    start = header.index("Reason")
    return " ".join(line[start:].strip() for line in lines[lines.index(header) + 1 :])


def test_the_verbose_priority_list_says_each_reason_at_80_columns() -> None:
    section = _rendered(80, verbose=True)
    reasons = " ".join(_reason_column(section).split())
    assert "below" not in reasons
    assert LONG_REASON in reasons
    assert "limit the damage: restricted maker" in reasons


def test_the_effort_column_shows_when_it_fits_and_only_then() -> None:
    wide = _rendered(80, verbose=True)
    header = next(line for line in wide.splitlines() if "Reason" in line)
    assert re.search(r"Action\s+Effort\s+Reason", header)
    isolate_row = next(line for line in wide.splitlines() if " isolate " in line)
    assert " days " in isolate_row  # remediation.yaml effort: isolate
    assert "rough planning figures" in wide.lower()
    narrow = _rendered(60, verbose=True)
    assert "Effort" not in narrow
    assert LONG_REASON in " ".join(_reason_column(narrow).split())
    # the short list keeps its room for the reasons
    assert "Effort" not in _rendered(80, verbose=False)

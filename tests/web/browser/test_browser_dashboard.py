"""The dashboard's restricted devices by jurisdiction and its trend chart, and the device
page's summary, in a real browser: the numbers against the database (SQL, not the store's
code), the chart's text alternative, and screenshots at a desktop and a phone's width."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Shoot = Callable[..., Path | None]
LogIn = Callable[[str], None]
RESTRICTING = {
    "use-ban",
    "procurement-ban",
    "removal-order",
    "authorization-ban",
    "import-marketing-ban",
    "restricts",
}
PHONE = {"width": 390, "height": 844}


def _findings(value: Any) -> list[dict[str, Any]]:
    return json.loads(value) if isinstance(value, str) else list(value or [])


def test_the_jurisdictions_and_the_trend_are_the_databases(
    page: Any, console: Any, screenshot: Shoot, log_in: LogIn
) -> None:
    log_in("viewer")
    # restricted devices by jurisdiction: each device once per jurisdiction, by its binding
    # restricting findings
    devices: dict[str, set[str]] = defaultdict(set)
    for device_id, findings in console.rows(
        "SELECT device_id, findings FROM inventory WHERE restricted"
    ):
        for f in _findings(findings):
            if f.get("effect", "restricts") not in RESTRICTING:
                continue
            # a jurisdiction whose measures bind others, or restrict only on a condition (the
            # UK statement's sensitive site), is listed, with no device counted
            counted = f.get("binding") is not False and not f.get("condition")
            devices[f["jurisdiction"]].update([device_id] if counted else [])
    table = page.locator("#jurisdictions")
    shown = {}
    for group in table.locator("tbody").all():
        header = group.locator("th[scope=rowgroup]")
        name = header.inner_text().split("\n")[0].strip()
        shown[name] = int(header.locator(".jurisdiction-devices").inner_text())
    assert shown == {name: len(ids) for name, ids in devices.items()}
    assert shown  # the lab has restricted cameras
    restricted = console.scalar("SELECT count(*) FROM inventory WHERE restricted")
    assert max(shown.values()) <= restricted
    # the trend: an image with a name and a description, and the same numbers as a table
    chart = page.get_by_role("img", name="Restricted devices and cases over time")
    assert chart.is_visible()
    kept = console.rows(
        "SELECT scan_id, devices, restricted, open_cases, overdue_cases FROM scan_totals"
        " ORDER BY at, scan_id"
    )
    assert kept[-1][2] == restricted
    page.get_by_text("The trend as a table").click()
    rows = page.locator("#trend-table tbody tr").all_inner_texts()
    # each scan's totals as kept, then (the fixture made a case overdue after the scan) the
    # now point: the headline's numbers, so the chart ends where the page's top says
    headline = [
        page.locator(f"#{name}").inner_text()
        for name in ("devices", "restricted", "open-cases", "overdue-cases")
    ]
    assert headline != [str(value) for value in kept[-1][1:]]
    assert [row.split("\t")[1:] for row in rows] == [
        *([str(value) for value in row] for row in kept),
        ["now (changes since the newest scan)", *headline],
    ]
    screenshot("dashboard-desktop")
    screenshot("dashboard-jurisdictions", "section[aria-labelledby=by-jurisdiction]")
    screenshot("dashboard-trend", "section[aria-labelledby=trend-title]")
    # at a phone's width nothing is wider than the screen
    page.set_viewport_size(PHONE)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    screenshot("dashboard-narrow")


@pytest.mark.parametrize("console", ["sqlite"], indirect=True)
def test_the_device_page_summary_leads_to_the_case_form(
    page: Any, console: Any, screenshot: Shoot, log_in: LogIn
) -> None:
    log_in("analyst")
    case_id, device_id = console.rows(
        "SELECT id, device_id FROM cases WHERE subject = 'restricted' ORDER BY id"
    )[0]
    page.goto(f"/devices/{device_id}")
    summary = page.get_by_role("region", name="Summary")
    assert "Restricted" in summary.inner_text()
    status = console.scalar("SELECT status FROM cases WHERE id = :id", id=case_id)
    assert f"Case {case_id} (restricted): {status}" in summary.inner_text()
    sections = page.get_by_role("navigation", name="Sections of this page")
    assert sections.get_by_role("link").all_inner_texts()[:4] == [
        "Identity",
        "Evidence",
        "Findings",
        "Posture",
    ]
    screenshot("device-summary-desktop")
    # the summary's link takes the keyboard to the form at the bottom of the page
    summary.get_by_role("link", name="update it").first.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/devices/{device_id}#case-{case_id}-form")
    assert page.locator(f"#case-{case_id}-form").is_visible()
    assert (
        page.evaluate(f"document.getElementById('case-{case_id}-form').getBoundingClientRect().top")
        < 800
    )
    page.set_viewport_size(PHONE)
    page.goto(f"/devices/{device_id}")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    screenshot("device-summary-narrow")

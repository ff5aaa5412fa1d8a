"""The console's working pages in a real browser: the devices table and its export, a
device page, a case updated by an analyst (and refused to a viewer), the cases board, and a
procurement list screened and downloaded."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

Shoot = Callable[..., Path | None]
LogIn = Callable[[str], None]


def _device_at(console: Any, ip: str) -> str:
    device_id: str = console.scalar("SELECT device_id FROM inventory WHERE ip = :ip", ip=ip)
    return device_id


def _table_rows(page: Any, table: str) -> list[list[str]]:
    rows = page.locator(f"{table} tbody tr").all()
    return [[cell.inner_text() for cell in row.locator("td").all()] for row in rows]


#: At the tests' 1280-pixel width: headings that wrap, and a page wider than the window.
LAYOUT_PROBLEMS = """() => {
  const problems = [];
  for (const heading of document.querySelectorAll("h1, h2")) {
    const style = getComputedStyle(heading);
    const line = parseFloat(style.lineHeight) || 1.2 * parseFloat(style.fontSize);
    if (heading.getBoundingClientRect().height > 1.6 * line) {
      problems.push("heading wraps: " + heading.textContent.trim());
    }
  }
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth) {
    problems.push("page wider than the window: " + root.scrollWidth + "px");
  }
  return problems;
}"""


def test_the_devices_table_matches_the_database_and_exports_it(
    page: Any, console: Any, screenshot: Shoot, log_in: LogIn, tmp_path: Path
) -> None:
    log_in("viewer")
    page.get_by_role("link", name="Devices", exact=True).click()
    page.wait_for_url("**/devices")
    every = {ip for (ip,) in console.rows("SELECT ip FROM inventory")}
    addresses = [row[1] for row in _table_rows(page, "#devices-table")]
    assert sorted(addresses) == sorted(every) and len(every) == 5
    # each device's verdict, in the words of the CLI, as the database keeps it
    verdicts = dict(console.rows("SELECT ip, verdict FROM inventory"))
    assert {row[1]: row[8] for row in _table_rows(page, "#devices-table")} == verdicts
    screenshot("devices")
    assert page.evaluate(LAYOUT_PROBLEMS) == []
    # filtered to the restricted devices: the database's restricted ones, no others
    page.get_by_label("Verdict").select_option("restricted")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**/devices?*verdict=restricted*")
    shown = _table_rows(page, "#devices-table")
    restricted = {ip for (ip,) in console.rows("SELECT ip FROM inventory WHERE restricted")}
    assert sorted(row[1] for row in shown) == sorted(restricted) and len(restricted) == 3
    assert {row[8] for row in shown} == {"restricted"}
    screenshot("devices-restricted")
    # the export has every device the filters match
    with page.expect_download() as download:
        page.locator("#export-csv").click()
    saved = tmp_path / "devices.csv"
    download.value.save_as(saved)
    exported = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8"))))
    assert sorted(row["ip"] for row in exported) == sorted(restricted)
    # a search by model finds the one camera
    page.get_by_label("Search").fill("DS-2CD2386G2-IU")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**q=DS-2CD2386G2-IU*")
    assert [row[5] for row in _table_rows(page, "#devices-table")] == ["DS-2CD2386G2-IU"]


def test_a_device_page_shows_the_device_with_hostile_text_inert(
    page: Any,
    console: Any,
    screenshot: Shoot,
    log_in: LogIn,
    assert_inert: Callable[[], None],
) -> None:
    log_in("viewer")
    page.get_by_role("link", name="Devices", exact=True).click()
    page.get_by_role("link", name=console.hostile_address, exact=True).click()
    device_id = _device_at(console, console.hostile_address)
    page.wait_for_url(f"**/devices/{device_id}")
    assert (
        page.get_by_role("heading", level=1)
        .inner_text()
        .startswith(f"Device {console.hostile_address}")
    )
    screenshot("device-hostile")
    assert page.evaluate(LAYOUT_PROBLEMS) == []
    facts = dict(
        zip(
            page.locator("section[aria-labelledby=identity] dl dt").all_inner_texts(),
            page.locator("section[aria-labelledby=identity] dl dd").all_inner_texts(),
            strict=True,
        )
    )
    maker = console.scalar(
        "SELECT manufacturer FROM inventory WHERE ip = :ip", ip=console.hostile_address
    )
    assert facts["Maker"] == maker == "Hikvision"
    assert facts["Firmware"] == console.markup
    # the page body the camera sent (with its script) is evidence, shown as text
    observed = page.locator("#evidence td.observed").all_inner_texts()
    assert any(f"<title>{console.markup}</title>" in text for text in observed)
    assert_inert()
    # its case is there, read-only for a viewer
    case_id = console.scalar("SELECT id FROM cases WHERE device_id = :id", id=device_id)
    case = page.locator(f"#case-{case_id}")
    assert case.count() == 1
    assert case.locator("form").count() == 0
    assert "needs the analyst role" in case.inner_text()


def test_an_analyst_updates_a_case(
    page: Any, console: Any, screenshot: Shoot, log_in: LogIn
) -> None:
    # Given an open case that is not overdue (the fixture's overdue case is left as it is)
    today = datetime.now(UTC).date().isoformat()
    case_id, device_id = (
        console.scalar(
            f"SELECT {column} FROM cases WHERE status = 'open' AND due > :today"
            " ORDER BY id LIMIT 1",
            today=today,
        )
        for column in ("id", "device_id")
    )
    log_in("analyst")
    page.goto(f"/devices/{device_id}")
    form = page.locator(f"#case-{case_id} form")
    # When the analyst plans its replacement
    form.get_by_label("Status").select_option("planned")
    form.get_by_label("Owner").fill("facilities")
    form.get_by_label("Due date").fill("2027-03-31")
    form.get_by_label("Note").fill("Replacement camera ordered <b>PO 4711</b>")
    screenshot("case-form", f"#case-{case_id}")
    form.get_by_role("button", name=f"Update case {case_id}").click()
    page.wait_for_url(f"**/devices/{device_id}*#case-{case_id}")
    screenshot("case-updated-notice", "main > p.done")
    screenshot("case-updated", f"#case-{case_id}")
    # Then the database holds the change, its trail entry and its audit entry
    row = {
        column: console.scalar(f"SELECT {column} FROM cases WHERE id = :id", id=case_id)
        for column in ("status", "owner", "due")
    }
    assert row == {"status": "planned", "owner": "facilities", "due": "2027-03-31"}
    note = console.scalar(
        "SELECT note FROM case_events WHERE case_id = :id AND actor = 'analyst' ORDER BY id DESC LIMIT 1",
        id=case_id,
    )
    assert note == "Replacement camera ordered <b>PO 4711</b>"
    audited = console.scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'case.update' AND actor = 'analyst'"
        " AND target = :target",
        target=str(case_id),
    )
    assert audited == 1
    # and the page shows it (the note as text)
    history = page.locator(f"#case-{case_id} table.history").inner_text()
    assert "analyst" in history and "open → planned" in history
    assert "<b>PO 4711</b>" in history


def test_a_viewer_cannot_update_a_case_from_the_page(
    page: Any, console: Any, screenshot: Shoot, log_in: LogIn, csrf_of: Callable[[], str]
) -> None:
    case_id = console.scalar("SELECT min(id) FROM cases")
    before = console.scalar("SELECT count(*) FROM case_events WHERE case_id = :id", id=case_id)
    log_in("viewer")
    # the form the page does not show, posted anyway with the session's own token
    forged = page.request.post(
        f"/cases/{case_id}",
        form={"csrf_token": csrf_of(), "status": "removed", "owner": "viewer"},
        max_redirects=0,
    )
    assert forged.status == 403
    after = console.scalar("SELECT count(*) FROM case_events WHERE case_id = :id", id=case_id)
    assert after == before
    assert console.scalar("SELECT status FROM cases WHERE id = :id", id=case_id) != "removed"
    # nor start a scan: no form, and a forged one is refused before anything runs
    page.get_by_role("link", name="Scans", exact=True).click()
    page.wait_for_url("**/scans")
    assert page.locator("form.start-scan").count() == 0
    scans = console.scalar("SELECT count(*) FROM scans")
    forged_scan = page.request.post(
        "/scans",
        form={"csrf_token": csrf_of(), "targets": console.hostile_address},
        max_redirects=0,
    )
    assert forged_scan.status == 403
    assert console.scalar("SELECT count(*) FROM scans") == scans
    # nor screen a list: no link, and the page refuses
    assert page.get_by_role("link", name="Screening").count() == 0
    assert page.goto("/screen").status == 403
    assert page.get_by_role("alert").count() == 1
    screenshot("viewer-refused-screening")


def test_the_cases_board_counts_what_the_database_holds(
    page: Any, console: Any, screenshot: Shoot, log_in: LogIn
) -> None:
    log_in("viewer")
    page.get_by_role("link", name="Cases", exact=True).click()
    page.wait_for_url("**/cases")
    screenshot("cases")
    for state in ("open", "planned", "verified"):
        heading = page.locator(f"#state-{state}").inner_text()
        count = console.scalar("SELECT count(*) FROM cases WHERE status = :s", s=state)
        found = re.search(r"\((\d+)", heading)
        assert found is not None and int(found.group(1)) == count, heading
    overdue = page.locator("li.card.overdue")
    assert overdue.count() == console.scalar(
        "SELECT count(*) FROM cases WHERE status <> 'verified' AND due < :today",
        today=datetime.now(UTC).date().isoformat(),
    )


LIST = (
    "Brand,Model,Quantity\r\n"
    "LTS,CMIP7442W-28M,4\r\n"
    "Axis,M3106-L Mk II,2\r\n"
    'Hikvision,"DS-2CD2386G2-IU <img src=x id=injected onerror=alert(1)>",1\r\n'
)


# Screening reads no database: once, over SQLite, is enough.
@pytest.mark.parametrize("console", ["sqlite"], indirect=True)
def test_screening_a_procurement_list_and_downloading_the_result(
    page: Any,
    console: Any,
    screenshot: Shoot,
    log_in: LogIn,
    assert_inert: Callable[[], None],
    tmp_path: Path,
) -> None:
    listing = tmp_path / "procurement.csv"
    listing.write_text(LIST, encoding="utf-8", newline="")
    log_in("analyst")
    page.get_by_role("link", name="Screening").click()
    page.wait_for_url("**/screen")
    screenshot("screening-form")
    page.get_by_label("List (CSV or XLSX)").set_input_files(listing)
    page.get_by_role("button", name="Screen the list").click()
    page.locator("#screen-summary").wait_for()
    screenshot("screening-result")
    assert page.evaluate(LAYOUT_PROBLEMS) == []
    summary = page.locator("#screen-summary").inner_text()
    assert summary == "3 rows: 2 restricted, 0 to review, 0 unknown, 1 clear."
    shown = _table_rows(page, "#screen-rows")
    assert [row[2] for row in shown] == ["Hikvision", "Axis", "Hikvision"]
    assert "<img src=x id=injected onerror=alert(1)>" in shown[2][1]
    assert_inert()
    # the download is the list as sent, with the result columns added
    with page.expect_download() as download:
        page.locator("#download-csv").click()
    saved = tmp_path / "screened.csv"
    download.value.save_as(saved)
    rows = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8"), newline="")))
    assert rows[0][:3] == ["Brand", "Model", "Quantity"]
    assert rows[0][3:] == [
        "maker",
        "provscan_brand",  # the list has a Brand column of its own
        "relation",
        "restricted",
        "policies",
        "confidence",
        "reason",
        "verdict",
        "measures",
    ]
    sent = list(csv.reader(io.StringIO(LIST, newline="")))
    assert [row[:3] for row in rows] == sent
    assert [row[3] for row in rows[1:]] == ["Hikvision", "Axis", "Hikvision"]
    with page.expect_download() as download:
        page.locator("#download-xlsx").click()
    workbook = tmp_path / "screened.xlsx"
    download.value.save_as(workbook)
    book = load_workbook(workbook, read_only=True)
    try:
        sheet = book.active
        assert sheet is not None
        cells = [list(row[:3]) for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()
    # (the uploaded CSV's quantities come back as numbers a spreadsheet can sum)
    assert cells[1:] == [
        ["LTS", "CMIP7442W-28M", 4],
        ["Axis", "M3106-L Mk II", 2],
        ["Hikvision", "DS-2CD2386G2-IU <img src=x id=injected onerror=alert(1)>", 1],
    ]
    # the screening is in the audit log
    assert (
        console.scalar(
            "SELECT count(*) FROM audit_log WHERE action = 'screen' AND actor = 'analyst'"
        )
        >= 1
    )


def test_every_page_in_the_navigation_opens(
    page: Any, console: Any, screenshot: Shoot, log_in: LogIn
) -> None:
    """An admin walks the whole menu: every page answers, has its heading, lays out within
    the window without squeezed headings, and runs no blocked script or style (the ``page``
    fixture fails on any browser error)."""
    log_in("admin")
    labels = page.locator("header nav a").all_inner_texts()
    pages = ["Dashboard", "Devices", "Cases", "Scans", "Screening", "Reports", "Users", "Audit log"]
    assert [label for label in labels if label in pages] == pages
    problems: dict[str, list[str]] = {}
    for label in labels:
        with page.expect_response(lambda response: response.request.method == "GET") as answer:
            page.locator("header nav").get_by_role("link", name=label, exact=True).click()
        assert answer.value.status == 200, label
        assert page.locator("header nav a[aria-current=page]").inner_text() == label
        assert page.get_by_role("heading", level=1).count() == 1
        screenshot(f"menu-{label.lower().replace(' ', '-')}")
        problems[label] = page.evaluate(LAYOUT_PROBLEMS)
    assert {label: found for label, found in problems.items() if found} == {}


def test_an_analyst_starts_a_scan_and_watches_it(
    page: Any, console: Any, screenshot: Shoot, log_in: LogIn
) -> None:
    """The scan runs in the server, against the lab; the page follows its events (the
    console's script, through the API's event stream)."""
    scans_before = console.scalar("SELECT count(*) FROM scans")
    log_in("analyst")
    page.get_by_role("link", name="Scans", exact=True).click()
    page.get_by_label("Targets").fill("\n".join(console.lab_addresses))
    page.get_by_label("Ports").fill(" ".join(str(port) for port in console.lab_ports))
    page.get_by_label("Site", exact=True).fill(console.site)
    screenshot("scan-form")
    page.get_by_role("button", name="Start scan").click()
    page.wait_for_url("**/scans/jobs/*")
    state = page.locator("#job-state-value")
    state.filter(has_text=re.compile("^(done|failed)$")).wait_for(timeout=60_000)
    screenshot("scan-progress")
    assert state.inner_text() == "done", page.locator("#job-events").inner_text()
    hosts = len(console.lab_addresses)
    assert page.locator("#job-count").inner_text() == f"{hosts} of {hosts}"
    events = page.locator("#job-events li").all_inner_texts()
    assert f"host: {console.hostile_address} — Hikvision (restricted)" in events
    stored = [event for event in events if event.startswith("stored: scan ")]
    assert len(stored) == 1
    scan_id = stored[0].removeprefix("stored: scan ")
    # the scan is in the database, with what the page said
    assert console.scalar("SELECT count(*) FROM scans") == scans_before + 1
    assert console.scalar("SELECT count(*) FROM scans WHERE id = :id", id=scan_id) == 1
    assert (
        console.scalar(
            "SELECT count(*) FROM devices WHERE scan_id = :id AND restricted", id=scan_id
        )
        == 3
    )

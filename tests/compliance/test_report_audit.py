"""The compliance report as an internal audit reads it (problems an auditor found).

Before:

- a case removed ("disposal cert DC-001"), verified by a scan, reopened when a later scan saw
  the camera again, removed again ("DC-002") and verified showed only its last verification:
  the earlier verification and the reopening were nowhere (the device, no longer on the
  priority list, has no page), neither in the XLSX's Cases and Closed cases sheets;
- a report of every site said "Data as of <today>" with no warning although most restricted
  devices came from a site whose only scan was 335 days old (a report of that site did
  warn), and its priority list did not say when each device was last seen;
- the trend chart put the scans of one day at one x (a chart spanning months), so a dip
  and its return within the day could not be seen.

The store (audit_history.py): the lab on loopback scanned four times at HQ into SQLite, the
Dahua camera's case worked through the Store API as people do, and a Warehouse scan stored
as an imported document 335 days older. The truth is read back through the Store API.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from audit_history import (
    DEVICES,
    FIRST_NOTE,
    HQ,
    REMOVED,
    SECOND_NOTE,
    WAREHOUSE,
    WAREHOUSE_AGE,
    AuditStore,
    build_audit_store,
)
from test_report import Element, parse_html
from test_review3_report import _pdftotext
from typer.testing import CliRunner

from provscan.cli import app
from provscan.compliance.facts import TrendPoint, closed_case, gather
from provscan.compliance.render import SHOWN_ID
from provscan.compliance.report import render_report, trend_chart
from provscan.store.cases import Case, CaseEvent
from provscan.store.db import Store
from provscan.store.views import ScanSummary


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> AuditStore:
    return build_audit_store(tmp_path_factory.mktemp("audit") / "provscan.db")


@pytest.fixture(scope="module")
def store(built: AuditStore) -> Iterator[Store]:
    with built.open() as opened:
        yield opened


@pytest.fixture(scope="module")
def dom(store: Store, built: AuditStore) -> Element:
    return parse_html(render_report(store, fmt="html", now=built.now).decode())


def _minute(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _text(element: Element) -> str:
    """An element's text on one line (the parser joins text nodes with a space: undone
    before a colon)."""
    return " ".join(element.text().split()).replace(" :", ":")


# --- 1. a closed case's earlier life --------------------------------------------------------


def test_the_case_was_closed_twice(store: Store, built: AuditStore) -> None:
    case = store.case(built.case)
    assert case.status == "verified"
    actions = [e.action for e in case.events]
    assert actions == ["opened", "updated", "verified", "reopened", "updated", "verified"]
    scans = [e.scan_id for e in case.events if e.action in ("verified", "reopened")]
    assert scans == [built.scans[1], built.scans[2], built.scans[3]]


def test_the_closed_cases_section_shows_the_earlier_verification_and_reopening(
    store: Store, built: AuditStore, dom: Element
) -> None:
    case = store.case(built.case)
    removed, verified, reopened = case.events[1], case.events[2], case.events[3]
    (row,) = [
        r
        for r in dom.by_id("closed-list").find_all("tr", class_="closed-row")
        if r.attrs["data-case"] == str(built.case)
    ]
    cells = [_text(td) for td in row.find_all("td")]
    # the row itself is this closing: the second removal, the fourth scan's verification
    assert cells[2].startswith("removed by alice")
    assert cells[3] == SECOND_NOTE
    assert cells[4].startswith(f"scan {built.scans[3][:SHOWN_ID]}")
    # under it, the earlier life, oldest first: the first removal, its verification, the
    # reopening, each with its time (UTC), who, the note and the scan
    (history,) = [
        r
        for r in dom.by_id("closed-list").find_all("tr", class_="closed-history")
        if r.attrs["data-case"] == str(built.case)
    ]
    steps = [_text(s) for s in history.find_all("span", class_="step")]
    assert steps == [
        f"removed {_minute(removed.at)} by alice: {FIRST_NOTE}",
        f"verified {_minute(verified.at)} by scan {built.scans[1][:SHOWN_ID]}",
        f"reopened {_minute(reopened.at)} by scan {built.scans[2][:SHOWN_ID]}: {reopened.note}",
    ]
    assert reopened.note == f"seen again at {DEVICES[REMOVED].address}"
    # the device is on no priority list and has no page: this is the only place it is said
    assert not dom.find_all(id=f"device-{case.device_id}")


def test_the_markdown_xlsx_and_pdf_carry_the_history(
    store: Store, built: AuditStore, tmp_path: Path
) -> None:
    case = store.case(built.case)
    text = render_report(store, fmt="md", now=built.now).decode()
    (line,) = [row for row in text.splitlines() if row.startswith(f"| #{built.case} |")]
    assert line.endswith(
        f"| removed {_minute(case.events[1].at)} by alice: {FIRST_NOTE} → verified "
        f"{_minute(case.events[2].at)} by scan {built.scans[1][:SHOWN_ID]} → reopened "
        f"{_minute(case.events[3].at)} by scan {built.scans[2][:SHOWN_ID]}: seen again at "
        f"{DEVICES[REMOVED].address} |"
    )
    assert "| Before this closing |" in text

    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(render_report(store, fmt="xlsx", now=built.now)))
    header, *rows = list(book["Closed cases"].iter_rows(values_only=True))
    (closed,) = [r for r in rows if r[0] == built.case]
    history = closed[header.index("before_this_closing")].splitlines()
    assert [h.split(" ", 1)[0] for h in history] == ["removed", "verified", "reopened"]
    assert history[0].endswith(FIRST_NOTE)
    assert built.scans[1] in history[1] and built.scans[2] in history[2]  # whole ids
    header, *rows = list(book["Cases"].iter_rows(values_only=True))
    (row,) = [r for r in rows if r[0] == built.case]
    steps = row[header.index("removals_verifications_reopenings")].splitlines()
    assert [s.split(" ", 1)[0] for s in steps] == [
        "removed",
        "verified",
        "reopened",
        "removed",
        "verified",
    ]
    assert steps[3].endswith(SECOND_NOTE) and built.scans[3] in steps[4]
    # the cases never reopened have none
    assert all(not r[header.index("removals_verifications_reopenings")] for r in rows if r != row)

    pdf = _pdftotext(render_report(store, fmt="pdf", now=built.now), tmp_path)
    closed_section = pdf[pdf.index("4. Closed cases", pdf.index("2. Priority list")) :]
    closed_section = closed_section[: closed_section.index("5. Devices")]
    assert "Before this closing" in closed_section
    assert FIRST_NOTE in closed_section and SECOND_NOTE in closed_section
    assert f"reopened {_minute(case.events[3].at)}" in closed_section


def _event(
    minute: int,
    actor: str,
    action: str,
    status: tuple[str, str],
    note: str = "",
    scan: str | None = None,
) -> CaseEvent:
    at = datetime(2026, 12, 7, 3, minute, tzinfo=UTC)
    return CaseEvent(at, actor, action, {"status": list(status)}, note, scan)


def test_a_closing_takes_its_action_and_note_from_its_own_cycle() -> None:
    # removed with a note, verified, reopened, then verified on request with no new removal:
    # the closing is not the earlier removal, whose note belongs to the history
    events = (
        _event(1, "alice", "updated", ("open", "removed"), "disposal cert DC-001"),
        _event(2, "provscan", "verified", ("removed", "verified"), "did not see it", "s2"),
        _event(3, "provscan", "reopened", ("verified", "open"), "seen again", "s3"),
        _event(4, "bob", "verified", ("open", "verified"), "", "s4"),
    )
    case = Case(
        1,
        "d1",
        "restricted",
        "restricted maker",
        "verified",
        None,
        None,
        events[0].at,
        events[-1].at,
        False,
        events,
    )
    start = datetime(2026, 12, 7, 3, 3, tzinfo=UTC)
    proof = ScanSummary("s4", "active", None, (), start, start, 0, 0, True, ())
    closed = closed_case(case, {"ip": "127.0.0.1", "site": None}, {"s4": proof})
    assert closed is not None
    assert (closed.action, closed.note) == ("not recorded", "")
    assert [s.action for s in closed.history] == ["removed", "verified", "reopened"]
    assert closed.history[0].note == "disposal cert DC-001"


# --- 2. old data at one site of an all-sites report ----------------------------------------


def _remaining_at(store: Store, site: str) -> int:
    remaining = store.remaining()
    return sum(1 for d in store.inventory() if d.site == site and d.device_id in remaining)


def test_an_all_sites_report_names_the_site_whose_data_is_old(
    store: Store, built: AuditStore, dom: Element
) -> None:
    total = len(store.remaining())
    held = _remaining_at(store, WAREHOUSE)
    assert 0 < held < total
    facts = gather(store, now=built.now)
    assert facts.stale_note is None  # the newest scan is today's: no report-wide note
    ((site),) = facts.stale_sites
    assert (site.name, site.age_days, site.remaining) == (WAREHOUSE, WAREHOUSE_AGE, held)
    for element_id in ("stale-sites-cover", "stale-sites-warning"):
        said = _text(dom.by_id(element_id))
        assert said.startswith("Old data at some sites: site Warehouse was last scanned ")
        assert f"{WAREHOUSE_AGE} days ago" in said
        assert f"{held} of the {total} restricted devices remaining are there" in said
    assert not dom.find_all(id="stale-cover") and not dom.find_all(id="stale-warning")
    # the Markdown and the XLSX say it too
    text = render_report(store, fmt="md", now=built.now).decode()
    assert text.count("> **Old data at some sites:** site Warehouse was last scanned") == 2
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(render_report(store, fmt="xlsx", now=built.now)))
    summary = {r[0]: r[1] for r in book["Summary"].iter_rows(values_only=True) if r[0]}
    assert f"{held} of the {total}" in summary["Old data at some sites"]
    assert summary[f"Old data: site {WAREHOUSE}"].startswith(
        f"{WAREHOUSE}, last scanned {WAREHOUSE_AGE} days ago"
    )


def test_a_report_of_one_site_keeps_its_own_note(store: Store, built: AuditStore) -> None:
    hq = parse_html(render_report(store, fmt="html", site=HQ, now=built.now).decode())
    assert not hq.find_all(id="stale-sites-cover") and not hq.find_all(id="stale-cover")
    old = parse_html(render_report(store, fmt="html", site=WAREHOUSE, now=built.now).decode())
    assert not old.find_all(id="stale-sites-cover")
    assert _text(old.by_id("stale-cover")) == f"(the newest scan is {WAREHOUSE_AGE} days old)"


def test_the_pdf_cover_warns_of_the_old_site(
    store: Store, built: AuditStore, tmp_path: Path
) -> None:
    text = _pdftotext(render_report(store, fmt="pdf", now=built.now), tmp_path)
    cover = text[: text.index("1. Executive summary")]
    assert "Old data at some sites: site Warehouse was last scanned 335 days ago" in cover


def test_the_priority_list_says_when_each_device_was_last_seen(
    store: Store, built: AuditStore, dom: Element
) -> None:
    seen = {d.device_id: d.last_seen for d in store.inventory()}
    sites = {d.device_id: d.site for d in store.inventory()}
    rows = dom.by_id("priority-list").find_all("tr", class_="priority-row")

    def seen_day(site: str) -> str:
        (day,) = {
            moment.astimezone(UTC).date().isoformat()
            for device, moment in seen.items()
            if sites[device] == site
        }
        return day

    assert {sites[r.attrs["data-device"]] for r in rows} == {HQ, WAREHOUSE}
    headers = [_text(th) for th in dom.by_id("priority-list").find_all("th")]
    assert "Last seen (UTC)" in headers
    for row in rows:
        (cell,) = row.find_all("td", class_="last-seen")
        device = row.attrs["data-device"]
        day = seen[device].astimezone(UTC).date().isoformat()
        if sites[device] == WAREHOUSE:
            assert _text(cell) == f"{day} {WAREHOUSE_AGE} days ago"
            assert "old" in cell.attrs["class"].split()
        else:
            assert _text(cell) == day == built.now.date().isoformat()
    text = render_report(store, fmt="md", now=built.now).decode()
    # (in the Markdown, with the site: its table keeps its eight columns)
    assert "| Address | Site, last seen (UTC) | Device |" in text
    assert f"| {WAREHOUSE}, {seen_day(WAREHOUSE)} ({WAREHOUSE_AGE} days ago) |" in text
    assert f"| {HQ}, {built.now.date().isoformat()} |" in text
    assert text.count(f"({WAREHOUSE_AGE} days ago)") == _remaining_at(store, WAREHOUSE)

    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(render_report(store, fmt="xlsx", now=built.now)))
    header, *values = list(book["Priority"].iter_rows(values_only=True))
    at = header.index("last_seen")
    for value in values:
        assert value[at] == _minute(seen[value[header.index("device_id")]])


# --- 3. a dip within one day ---------------------------------------------------------------


def test_each_scan_of_one_day_is_a_point_of_its_own(
    store: Store, built: AuditStore, dom: Element
) -> None:
    circles = dom.by_id("trend").find_all("circle")
    assert [c.attrs["data-scan"] for c in circles] == [built.warehouse_scan, *built.scans]
    values = [int(c.attrs["data-value"]) for c in circles]
    # the removal, the camera seen again, removed again: down, up, down
    assert values[2] == values[1] - 1 and values[3] == values[1] and values[4] == values[2]
    xs = [float(c.attrs["cx"]) for c in circles]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)
    # apart enough to be seen (a mark is 3 units wide each side)
    assert min(b - a for a, b in pairwise(xs)) > 20


def test_the_chart_labels_the_days_without_overlap() -> None:
    start = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    times = [start] + [start + timedelta(days=335, minutes=m) for m in range(0, 40, 5)]
    points = [TrendPoint(f"s{n}", t, "hq", 1, 1, 50 + n % 2) for n, t in enumerate(times)]
    chart = trend_chart(points)
    assert chart is not None
    xs = [x for x, _, _, _ in chart.points]
    assert len(set(xs)) == len(points)
    labels = [(x, text) for x, text, _ in chart.x_labels]
    assert [text for _, text in labels] == ["2026-01-05", "2026-12-06", "2026-12-06"]
    assert labels[1][0] == xs[1]  # where the day's scans begin
    # one point: one label, in the middle
    (only,) = trend_chart(points[:1]).x_labels  # type: ignore[union-attr]
    assert only[2] == "middle"


def test_the_cli_writes_the_all_sites_report(built: AuditStore, tmp_path: Path) -> None:
    output = tmp_path / "r.md"
    result = CliRunner().invoke(
        app, ["report", "--db", built.url, "--output", str(output)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    text = output.read_text()
    assert re.search(r"site Warehouse was last scanned 335 days ago", text)
    assert FIRST_NOTE in text and SECOND_NOTE in text

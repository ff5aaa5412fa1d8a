"""The compliance report's trend ends on the headline's number (fifth review).

Before: a restricted-maker case verified on request after the newest scan (`provscan cases
verify`, or the console's button, with an already stored covering scan as the proof) took
the device off the headline, but the trend's newest point was computed when that scan was
stored and kept the old count: a chart showing 3 under a headline of 2.

Now the report of the inventory adds a *now* point after the newest scan when changes made
since then moved the count (drawn as an open circle, footnoted in every format), and each
scan's own point is left as it was when that scan was stored (the same number the console
recorded for it then). A report of one scan (`--scan ID`) is "the inventory of that scan's
site, up to that scan": nothing later gets into it.

The store (review3_history.py) is the lab scanned over loopback into SQLite three times, its
cases worked through the Store API: after the third scan, bob sets the LTS camera's case to
replaced and verifies it, scan 3 (which no longer saw the camera) being the proof.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from review3_history import SITE, ReviewStore, build_review_store
from test_report import Element, parse_html
from typer.testing import CliRunner

from provscan.cli import app
from provscan.compliance.facts import ReportFacts, gather
from provscan.compliance.report import render_report
from provscan.store.cases import RESTRICTED
from provscan.store.db import Store

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> ReviewStore:
    return build_review_store(tmp_path_factory.mktemp("review5") / "provscan.db")


@pytest.fixture(scope="module")
def store(built: ReviewStore) -> Iterator[Store]:
    with built.open() as opened:
        yield opened


def _remaining_now(store: Store) -> set[str]:
    """The headline's devices, from the inventory and the cases as they are now."""
    verified = {
        c.device_id for c in store.cases() if c.subject == RESTRICTED and c.status == "verified"
    }
    return {
        d.device_id
        for d in store.inventory()
        if d.restricted and d.status != "gone" and d.device_id not in verified
    }


def _recorded(store: Store) -> dict[str, int]:
    """The restricted devices remaining that the store recorded as each scan was stored (the
    console's trend rows, written in the transaction that stored the scan)."""
    points, _parties = store.trend(1000)
    return {point.scan_id: point.restricted for point in points}


def _verified_on_request(store: Store, case_id: int) -> datetime:
    (event,) = [e for e in store.case(case_id).events if e.action == "verified"]
    assert event.actor == "bob"
    return event.at


def _circles(dom: Element) -> list[Element]:
    return dom.by_id("trend").find_all("circle")


def test_the_case_was_verified_on_request_after_the_newest_scan(
    built: ReviewStore, store: Store
) -> None:
    # the premise: scan 3 is the newest, bob verified the LTS camera's case after it was
    # stored, and that took the camera off the count the store recorded with scan 3
    newest = max(store.scans(None), key=lambda s: s.started_at)
    assert newest.id == built.scans[2]
    verified_at = _verified_on_request(store, built.replaced_case)
    assert verified_at > newest.started_at
    assert _recorded(store)[newest.id] == len(_remaining_now(store)) + 1


def test_newest_trend_point_is_the_headline(built: ReviewStore, store: Store) -> None:
    facts = gather(store, now=NOW)
    headline = len(_remaining_now(store))
    assert facts.remaining == headline
    *scans, last = facts.trend
    # one point per scan, as the store recorded it when the scan was stored ...
    assert [p.scan_id for p in scans] == list(built.scans)
    recorded = _recorded(store)
    assert [p.inventory_restricted for p in scans] == [recorded[s] for s in built.scans]
    assert not any(p.is_now for p in scans)
    # ... then the now point: the headline, at the time bob verified the case
    assert last.is_now and last.scan_id is None
    assert last.inventory_restricted == headline == scans[-1].inventory_restricted - 1
    assert last.started_at == _verified_on_request(store, built.replaced_case)
    assert (last.scan_restricted, last.scan_devices) == (0, 0)


def test_html_chart_ends_on_the_headline_and_says_why(store: Store) -> None:
    dom = parse_html(render_report(store, fmt="html", now=NOW).decode())
    headline = int(dom.by_id("kpi-remaining").text())
    assert headline == len(_remaining_now(store))
    circles = _circles(dom)
    # the scans' points carry their scan, the last one is the open "now" circle
    assert [c.attrs.get("data-scan") for c in circles[:-1]] == list(_recorded(store))
    now = circles[-1]
    assert now.attrs["id"] == "trend-now" and "data-scan" not in now.attrs
    assert int(now.attrs["data-value"]) == headline
    assert int(circles[-2].attrs["data-value"]) == headline + 1
    # the bold number written at the end of the line is the headline's too
    chart_numbers = [t.text() for t in dom.by_id("trend").find_all("text")]
    assert chart_numbers[-1] == str(headline)
    note = dom.by_id("trend-now-note").text()
    assert "not a scan" in note
    assert f"from {headline + 1} to {headline}" in note
    # the caption counts the scans, not the now point
    (caption,) = [p for p in dom.find_all("p") if p.text().startswith("Each point")]
    assert "(3 scans)" in caption.text()


def test_markdown_and_xlsx_footnote_the_now_row(built: ReviewStore, tmp_path: Path) -> None:
    output = tmp_path / "report.md"
    result = CliRunner().invoke(
        app,
        ["report", "--db", built.url, "--output", str(output)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    text = output.read_text()
    section = text.split("### Restricted devices over time", 1)[1].split("### ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")][1:]
    assert len(rows) == 4  # three scans, then now
    with built.open() as store:
        headline = len(_remaining_now(store))
    assert rows[-1].startswith("| now (changes since the newest scan")
    assert rows[-1].endswith(f"| – | {headline} |")
    assert rows[-2].endswith(f"| {headline + 1} |")
    assert "¹ Not a scan" in section

    from openpyxl import load_workbook

    with built.open() as store:
        book = load_workbook(io.BytesIO(render_report(store, fmt="xlsx", now=NOW)))
    values = [tuple(row) for row in book.worksheets[0].iter_rows(values_only=True)]
    start = next(i for i, row in enumerate(values) if str(row[0]).startswith("Trend:"))
    trend_rows = [row for row in values[start + 1 : start + 5] if row[0]]
    assert str(trend_rows[-1][0]).startswith("now (changes since the newest scan")
    assert trend_rows[-1][1] == headline


def test_site_and_policy_reports_end_on_their_headline(store: Store) -> None:
    by_site = gather(store, site=SITE, now=NOW)
    assert by_site.trend[-1].is_now and by_site.trend[-1].site == SITE
    assert by_site.trend[-1].inventory_restricted == by_site.remaining
    # under one policy that restricts the LTS camera's maker, the same drop, counted by it
    policies = sorted(
        {
            str(finding["policy"])
            for device in store.inventory_documents()
            for finding in device["findings"]
            if device["restricted"] and finding.get("effect") not in {"context", "advisory"}
        }
    )
    assert policies
    for policy in policies:
        facts: ReportFacts = gather(store, policies=[policy], now=NOW)
        assert facts.trend[-1].inventory_restricted == facts.remaining, policy


def test_scan_report_of_an_older_scan_is_unaffected(built: ReviewStore, store: Store) -> None:
    first, second, _third = built.scans
    facts = gather(store, scan_id=second, now=NOW)
    recorded = _recorded(store)
    assert [(p.scan_id, p.inventory_restricted) for p in facts.trend] == [
        (first, recorded[first]),
        (second, recorded[second]),
    ]
    # the same points the inventory report drew right after the second scan
    before = [
        (c.attrs["data-scan"], int(c.attrs["data-value"]))
        for c in _circles(parse_html(built.html_after_second))
    ]
    dom = parse_html(render_report(store, fmt="html", scan_id=second, now=NOW).decode())
    assert [(c.attrs["data-scan"], int(c.attrs["data-value"])) for c in _circles(dom)] == before
    assert not dom.find_all(id="trend-now") and not dom.find_all(id="trend-now-note")


def test_scan_report_of_the_newest_scan_stops_at_that_scan(
    built: ReviewStore, store: Store
) -> None:
    # "up to that scan": bob's verification came later, so no now point, and the newest
    # point is the count recorded when scan 3 was stored (one more than the headline now)
    newest = built.scans[2]
    facts = gather(store, scan_id=newest, now=NOW)
    assert not any(p.is_now for p in facts.trend)
    assert [p.scan_id for p in facts.trend] == list(built.scans)
    assert facts.trend[-1].inventory_restricted == _recorded(store)[newest]
    assert facts.trend[-1].inventory_restricted == len(_remaining_now(store)) + 1

"""The dashboard's trend ends on its headline (the compliance report's *now* point).

Before: a restricted-maker case verified on request after the newest scan took the device off
the dashboard's headline ("restricted", "open cases"), but the trend's newest point was the
totals kept when that scan was stored: a chart ending on 2 under a headline of 1.

Now the dashboard's trend adds a *now* point after the newest scan when changes made since
then changed the totals (the rule :func:`provscan.store.history.now_point_at`, which the
report's trend follows too): its numbers are the headline's, it is drawn as open marks in a
place of its own at the right end, labelled "now", apart from the newest scan's date.
Real stores (a SQLite file and a throwaway PostgreSQL database), the real app.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from pagetools import accessibility_problems, inline, page_log_in, table_rows
from webtools import GOLDEN, PASSWORD, TestClient

from provscan.report.contract import from_contract
from provscan.store.cases import RESTRICTED
from provscan.store.db import normalise_db_arg, open_store
from provscan.store.inventory import coverage_ranges
from provscan.web.app import create_app
from provscan.web.charts import NOW_SLOT

#: Two scans of 192.0.2.0/24 (documentation space: data only, nothing is sent): the first
#: sees restricted cameras at .10 and .11, the second (complete, covering) only .11.
SCANS = ((10, 11), (11,))


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(
    request: pytest.FixtureRequest, tmp_path: Path, make_postgres_database: Callable[[], str]
) -> str:
    if request.param == "sqlite":
        return normalise_db_arg(str(tmp_path / "now.db"))
    return make_postgres_database()


def _fill(url: str) -> int:
    """The two scans, then a person closes the case of the camera the second did not see
    (replaced, then verified with the second scan as the proof); returns that case."""
    raw = from_contract(GOLDEN.read_text(encoding="utf-8")).model_dump(mode="json")
    restricted, plain = raw["devices"][0], raw["devices"][1]
    with open_store(url) as store:
        for number, seen in enumerate(SCANS):
            devices = []
            for last in seen:
                device = copy.deepcopy(restricted)
                device.update(ip=f"192.0.2.{last}", mac=f"00:40:8c:00:02:{last:02x}")
                device.update(serial=f"R{last}")
                devices.append(device)
            devices.append(plain)
            raw["devices"] = devices
            raw["scan"]["id"] = f"2026010{number + 1}T120000Z-now"
            raw["scan"]["started_at"] = f"2026-01-0{number + 1}T12:00:00Z"
            raw["scan"]["finished_at"] = f"2026-01-0{number + 1}T12:05:00Z"
            raw["scan"]["devices_found"] = raw["scan"]["hosts_responding"] = len(devices)
            raw["scan"]["restricted_count"] = len(seen)
            store.save_document(from_contract(raw), coverage=coverage_ranges(["192.0.2.0/24"]))
        gone = next(d for d in store.inventory() if d.ip == "192.0.2.10")
        (case,) = [c for c in store.cases(device_id=gone.device_id) if c.subject == RESTRICTED]
        store.update_case(case.id, actor="alice", status="replaced")
        assert store.update_case(case.id, actor="alice", status="verified").status == "verified"
        store.accounts().add_user("viewer", "viewer", PASSWORD, actor="test", address="cli")
    return case.id


def _headline(html: str) -> dict[str, int]:
    return {
        name: int(value)
        for name, value in re.findall(r'<strong id="([a-z-]+)">(\d+)</strong>', html)
    }


def test_the_dashboard_trend_ends_on_the_headline_after_a_case_closed_since(
    store_url: str,
) -> None:
    _fill(store_url)
    with TestClient(create_app(store_url), raise_server_exceptions=False) as client:
        page_log_in(client, "viewer")
        html = client.get("/").text
    headline = _headline(html)
    # the case closed after the newest scan: one restricted device and its case fewer
    assert headline["restricted"] == 1
    rows = table_rows(html, "trend-table")
    scans = [row for row in rows if not row[1].startswith("now")]
    # each scan's point as it was stored (the closed camera still counted by both) ...
    assert [row[3] for row in scans] == ["2", "2"]
    # ... then the now point, with the headline's numbers
    assert rows[-1][1] == "now (changes since the newest scan)"
    assert [int(cell) for cell in rows[-1][2:]] == [
        headline["devices"],
        headline["restricted"],
        headline["open-cases"],
        headline["overdue-cases"],
    ]
    assert int(scans[-1][4]) == headline["open-cases"] + 1
    # the chart ends there too: an open mark per series, in the now point's own place
    restricted = html.split('class="series series-restricted"', 1)[1].split("</g>", 1)[0]
    marks = re.findall(r'<circle class="(mark(?: now)?)" cx="([\d.]+)" cy="([\d.]+)"', restricted)
    assert [mark[0] for mark in marks] == ["mark", "mark", "mark now"]
    assert html.count('class="mark now"') == 3
    # its height is the headline's: the y axis's labels say where 0 and the top are
    ticks = {
        int(label): float(y)
        for y, label in re.findall(
            r'<text x="[\d.]+" y="([\d.]+)" class="y-label">(\d+)</text>', html
        )
    }
    zero, top = ticks[0] - 4, max(ticks)
    height = (zero - float(marks[-1][2])) / (zero - (ticks[top] - 4)) * top
    assert round(height, 6) == headline["restricted"]
    assert float(marks[-2][2]) < float(marks[-1][2])  # the newest scan's 2 is higher
    # the labels under the axis: the newest scan's date, then "now" well apart from it
    labels = re.findall(
        r'<text x="([\d.]+)" y="[\d.]+" class="x-label([^"]*)">([^<]+)</text>', html
    )
    assert [label[2] for label in labels][-1] == "now"
    assert labels[-1][1] == " last now" and labels[-2][1] == " last"
    # both end at their x: "now" (three letters, at most 22px each on a phone) fits between
    assert float(labels[-1][0]) - float(labels[-2][0]) == NOW_SLOT >= 3 * 22
    assert float(marks[-1][1]) == float(labels[-1][0])
    assert 'id="trend-now-note"' in html
    assert "Then now (changes made since the newest scan" in html
    assert inline(html) == [] and accessibility_problems(html) == []


def test_no_now_point_when_nothing_changed_since_the_newest_scan(tmp_path: Path) -> None:
    url = normalise_db_arg(str(tmp_path / "same.db"))
    raw = from_contract(GOLDEN.read_text(encoding="utf-8"))
    with open_store(url) as store:
        store.save_document(raw, coverage=coverage_ranges(["192.0.2.0/24"]))
        # a change that moves no total (an owner) adds no point
        store.update_case(store.cases()[0].id, actor="alice", owner="facilities")
        points, _ = store.trend(60, until_now=True)
        counts = store.dashboard()
    assert [point.is_now for point in points] == [False]
    assert (points[-1].restricted, points[-1].open_cases) == (
        counts["restricted"],
        counts["open_cases"],
    )


def test_the_restricted_count_links_to_the_devices_it_counts(store_url: str) -> None:
    # Given a restricted camera whose case was verified (.10) and one that remains (.11)
    _fill(store_url)
    with TestClient(create_app(store_url), raise_server_exceptions=False) as client:
        page_log_in(client, "viewer")
        html = client.get("/").text
        (link,) = re.findall(r'<strong id="restricted">\d+</strong> <a href="([^"]+)"', html)
        listed = client.get(link.replace("&amp;", "&")).text
        by_verdict = client.get("/devices?verdict=restricted").text
        shown_all = re.search(r'id="remaining-filter">.*?<a href="([^"]+)"', listed)
        assert shown_all is not None
        everything = client.get(shown_all.group(1).replace("&amp;", "&")).text
        api = client.get("/api/v1/devices", params={"remaining": "true"})
        # every link of the by-maker table leads to as many devices as its row counts
        by_maker = re.findall(
            r'<tr><td><a href="(/devices\?remaining=yes&amp;maker=[^"]+)">[^<]+</a></td>'
            r"<td>(\d+)</td></tr>",
            html,
        )
        followed = [
            (len(table_rows(client.get(href.replace("&amp;", "&")).text, "devices-table")), n)
            for href, n in by_maker
        ]
    # Then the link lists exactly the devices the headline counts, and says what it lists
    addresses = [row[1] for row in table_rows(listed, "devices-table")]
    assert addresses == ["192.0.2.11"] and len(addresses) == _headline(html)["restricted"]
    assert "Only the restricted devices that remain" in listed
    assert inline(listed) == [] and accessibility_problems(listed) == []
    # while the verdict filter lists every device whose newest sighting was restricted
    assert "192.0.2.10" in [row[1] for row in table_rows(by_verdict, "devices-table")]
    # and the way out of the filter lists the other devices again
    assert "192.0.2.10" in [row[1] for row in table_rows(everything, "devices-table")]
    assert 'id="remaining-filter"' not in everything
    # the API's filter is the same one
    assert api.status_code == 200, api.text
    assert [device["ip"] for device in api.json()["devices"]] == ["192.0.2.11"]
    assert followed and all(shown == int(counted) for shown, counted in followed), followed

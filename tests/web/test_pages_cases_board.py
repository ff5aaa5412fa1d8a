"""The cases board a page at a time (issue 16): each column shows its first cases and links to
the state's pages, which are keyset pages that keep the site filter and give every case once,
overdue first; and the device page's summary, which links to the case form."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from helpers import open_case_on
from pagetools import accessibility_problems, inline, page_log_in
from webtools import GOLDEN, PASSWORD, TestClient

from provscan.report.contract import from_contract
from provscan.store.db import normalise_db_arg, open_store
from provscan.store.inventory import coverage_ranges
from provscan.web import pages
from provscan.web.app import create_app

#: Restricted devices (each opens a case) at each site.
SITES = {"north": 130, "south": 95}
#: Cases made overdue, and one moved to "planned", by an analyst.
OVERDUE = (7, 150, 222)


@pytest.fixture(scope="module")
def board_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = normalise_db_arg(str(tmp_path_factory.mktemp("board") / "board.db"))
    raw = from_contract(GOLDEN.read_text(encoding="utf-8")).model_dump(mode="json")
    restricted = raw["devices"][0]
    with open_store(url) as store:
        for number, (site, count) in enumerate(SITES.items()):
            devices = []
            for index in range(count):
                device = copy.deepcopy(restricted)
                device.update(ip=f"192.0.{number}.{index + 1}", serial=f"S{number}-{index}")
                device.update(mac=f"00:40:8c:0{number}:00:{index:02x}")
                devices.append(device)
            raw["devices"] = devices
            raw["scan"]["id"] = f"20260103T12000{number}Z-{site}"
            raw["scan"]["devices_found"] = raw["scan"]["restricted_count"] = count
            store.save_document(
                from_contract(raw), site=site, coverage=coverage_ranges([f"192.0.{number}.0/24"])
            )
        for case_id in OVERDUE:
            # opened in 2019 (the store refuses a due date before the opening)
            open_case_on(url, case_id, datetime(2019, 12, 1, tzinfo=UTC))
            store.update_case(
                case_id, actor="test", due="2020-01-0" + str(OVERDUE.index(case_id) + 1)
            )
        store.update_case(3, actor="test", status="planned")
        store.accounts().add_user("viewer", "viewer", PASSWORD, actor="test", address="cli")
        store.accounts().add_user("analyst", "analyst", PASSWORD, actor="test", address="cli")
    return url


@pytest.fixture
def board(board_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(board_url), raise_server_exceptions=False) as client:
        page_log_in(client, "viewer")
        yield client


def _cases(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'#case-\d+">Case (\d+)</a>', html)]


def _next(html: str) -> str | None:
    found = re.search(r'<a href="([^"]+)" rel="next" id="more-cases"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def _walk(client: TestClient, url: str) -> tuple[list[list[int]], list[str]]:
    pages_seen, urls = [], [url]
    next_url: str | None = url
    while next_url:
        response = client.get(next_url)
        assert response.status_code == 200, response.text[:300]
        pages_seen.append(_cases(response.text))
        next_url = _next(response.text)
        if next_url:
            urls.append(next_url)
    return pages_seen, urls


def test_a_state_is_read_a_page_at_a_time(board: TestClient, board_url: str) -> None:
    with open_store(board_url) as store:
        expected = sorted(
            store.cases(status="open"), key=lambda c: (not c.overdue, c.due or "9999", c.id)
        )
    pages_seen, _ = _walk(board, "/cases?state=open")
    # pages of CASE_PAGE: every open case once, overdue first (oldest due first), then by due
    assert [len(page) for page in pages_seen] == [100, 100, 24]
    assert [n for page in pages_seen for n in page] == [case.id for case in expected]
    assert [n for page in pages_seen for n in page][:3] == list(OVERDUE)
    first = board.get("/cases?state=open").text
    assert "(224, 3 overdue)" in first and "Showing 100 of 224" in first
    assert inline(first) == [] and accessibility_problems(first) == []
    later = board.get(_next(first) or "").text
    assert "(a later page)" in later and 'id="first-cases"' in later


def test_the_site_filter_stays_on_every_page(board: TestClient, board_url: str) -> None:
    pages_seen, urls = _walk(board, "/cases?state=open&site=north")
    assert all("site=north" in url for url in urls)
    with open_store(board_url) as store:
        places = store.device_places({c.device_id for c in store.cases(status="open")})
        north = [c.id for c in store.cases(status="open") if places[c.device_id][1] == "north"]
    assert sorted(n for page in pages_seen for n in page) == sorted(north)
    assert [len(page) for page in pages_seen] == [100, 29]
    # the board with the filter: each column's link keeps it
    html = board.get("/cases?site=south").text
    assert 'href="/cases?state=open&amp;site=south">All 95 open cases</a>' in html
    assert '<option value="south" selected>' in html


def test_the_board_shows_the_first_of_each_column(board: TestClient) -> None:
    html = board.get("/cases").text
    assert len(_cases(html)) == pages.BOARD_COLUMN + 1  # open's first, and the planned one
    assert 'href="/cases?state=open">All 224 open cases</a>' in html
    assert "(1)" in html  # planned
    # a damaged cursor is a clear 400 with the first page, not an error page
    refused = board.get("/cases?state=open&after=forged")
    assert refused.status_code == 400 and "not a cursor" in refused.text
    assert len(_cases(refused.text)) == pages.CASE_PAGE


def test_the_device_page_starts_with_a_summary(board: TestClient, board_url: str) -> None:
    with open_store(board_url) as store:
        case = store.case(OVERDUE[0])
    html = board.get(f"/devices/{case.device_id}").text
    summary = html[html.index('id="summary"') : html.index('aria-label="Sections of this page"')]
    assert "<strong>Restricted</strong>" in summary
    assert (
        "US (us-ndaa-889, procurement-ban); US (us-fcc-covered-list, authorization-ban)" in summary
    )
    assert (
        f'<a href="#case-{case.id}">Case {case.id}</a> (restricted): open, due 2020-01-01'
        in summary
    )
    assert "overdue-badge" in summary
    assert "update it" not in summary  # a viewer cannot
    for anchor in ("identity", "evidence", "findings-heading", "posture-heading", "cases-heading"):
        assert f'<a href="#{anchor}">' in html and f'id="{anchor}"' in html
    assert inline(html) == [] and accessibility_problems(html) == []
    # an analyst is taken to the form
    board.cookies.clear()
    page_log_in(board, "analyst")
    html = board.get(f"/devices/{case.device_id}").text
    assert f'<a href="#case-{case.id}-form">update it</a>' in html
    assert (
        f'<form method="post" action="/cases/{case.id}" class="case-form" id="case-{case.id}-form"'
        in html
    )

"""The devices table pages both ways: "previous" reads the keyset backwards, so walking back
from the last page gives the pages walked forward, in every order; and the cases board
names each case's device address and site."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pagetools import page_log_in
from webtools import GOLDEN, PASSWORD, TestClient

from provscan.report.contract import from_contract
from provscan.store.db import normalise_db_arg, open_store
from provscan.store.inventory import coverage_ranges
from provscan.store.pages import PageFilters
from provscan.web.app import create_app

#: (site, first address, how many): devices with no site sort first in the default order.
SITES = ((None, 10, 7), ("north", 100, 26), ("south", 160, 26))


@pytest.fixture
def paged_url(tmp_path: Path) -> str:
    return _fill(normalise_db_arg(str(tmp_path / "paged.db")))


def _fill(url: str) -> str:
    """59 devices: 7 without a site, 26 at north, 26 at south; four makers, some without a
    model; every fifth one restricted (so each has a case)."""
    raw = from_contract(GOLDEN.read_text(encoding="utf-8")).model_dump(mode="json")
    restricted, plain = raw["devices"][0], raw["devices"][1]
    makers = ["Axis", "Bosch", "Hanwha", "Dahua"]
    for number, (site, first, count) in enumerate(SITES):
        devices = []
        for index in range(count):
            octet = first + index
            device = json.loads(json.dumps(restricted if octet % 5 == 0 else plain))
            device.update(ip=f"192.0.2.{octet}", mac=f"00:40:8c:00:01:{octet:02x}")
            device.update(serial=f"SN{octet:04d}", hostname=f"host-{octet}")
            if octet % 5:
                device["manufacturer"] = makers[octet % 4]
            if octet % 7 == 0:
                device["model"] = None
            devices.append(device)
        raw["devices"] = devices
        raw["scan"]["devices_found"] = raw["scan"]["hosts_responding"] = count
        raw["scan"]["restricted_count"] = sum(d["restricted"] for d in devices)
        raw["scan"]["id"] = f"20260103T12000{number}Z-{site or 'none'}"
        with open_store(url) as store:
            store.save_document(
                from_contract(raw), site=site, coverage=coverage_ranges(["192.0.2.0/24"])
            )
    with open_store(url) as store:
        store.accounts().add_user("viewer", "viewer", PASSWORD, actor="test", address="cli")
    return url


@pytest.fixture
def paged(paged_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(paged_url), raise_server_exceptions=False) as client:
        page_log_in(client, "viewer")
        yield client


def _page(client: TestClient, url: str) -> tuple[list[str], str | None, str | None, str]:
    response = client.get(url, follow_redirects=False)
    assert response.status_code == 200, (url, response.text[:300])
    html = response.text
    rows = re.findall(r'<td><a href="/devices/dev-[0-9a-f]+">([0-9.]+)</a></td>', html)

    def link(name: str) -> str | None:
        found = re.search(rf'<a id="{name}-page" href="([^"]+)"', html)
        return found.group(1).replace("&amp;", "&") if found else None

    return rows, link("next"), link("previous"), html


ORDERS = ("site", "-site", "ip", "-ip", "maker", "-maker", "model", "-model", "status")


@pytest.mark.parametrize("order", ORDERS)
def test_previous_retraces_the_pages_going_forward(paged: TestClient, order: str) -> None:
    # Given the pages walked forward from the first
    forward: list[list[str]] = []
    url: str | None = f"/devices?limit=25&sort={order}"
    last_html = ""
    while url:
        rows, url, previous, last_html = _page(paged, url)
        assert (previous is None) == (not forward), "only the first page has no previous link"
        forward.append(rows)
    assert [len(rows) for rows in forward] == [25, 25, 9]
    assert len({ip for rows in forward for ip in rows}) == 59
    assert 'id="first-page"' in last_html and "(a later page)" in last_html
    # When walking back from the last page with the previous links
    backward = [forward[-1]]
    _, _, url, _ = _page(paged, _last_url(paged, order))
    while url:
        rows, following, url, html = _page(paged, url)
        backward.append(rows)
        assert following is not None  # every page going back has a next page
    # Then the same pages come back, in reverse, and the first has no link further back
    assert backward[::-1] == forward
    assert 'id="first-page"' not in html and "(a later page)" not in html


def _last_url(client: TestClient, order: str) -> str:
    url = f"/devices?limit=25&sort={order}"
    while True:
        _, following, _, _ = _page(client, url)
        if following is None:
            return url
        url = following


def test_previous_and_next_keep_the_filters(paged: TestClient) -> None:
    first, following, _, _ = _page(paged, "/devices?limit=25&site=north&q=host-1&sort=-ip")
    assert following is not None and "site=north" in following and "q=host-1" in following
    second, _, previous, _ = _page(paged, following)
    assert previous is not None and "site=north" in previous and "cursor=" not in previous
    assert "sort=-ip" in previous
    again, _, _, _ = _page(paged, previous)
    assert again == first and len(first + second) == 26  # every device at north


def test_going_back_near_the_start_gives_the_first_page(paged: TestClient, paged_url: str) -> None:
    # Given a page that starts ten devices in (pages of 10, then a page of 25 from there)
    with open_store(paged_url) as store:
        tenth = store.inventory_window(10, PageFilters()).next
        assert tenth is not None
        window = store.inventory_window(25, PageFilters(), after=tenth)
        assert window.previous is not None
        # When going back a page of 25: fewer than 25 come before it
        back = store.inventory_window(25, PageFilters(), before=window.previous)
        first = store.inventory_window(25, PageFilters())
    # Then the answer is the first page, as read going forward, and it says so
    assert back == first and back.previous is None
    # a page can be read after a cursor or before one, not both; a forged cursor is refused
    refused = paged.get(f"/devices?cursor={tenth}&before={tenth}")
    assert refused.status_code == 200  # the cursor wins: "before" is dropped from the URL
    assert paged.get("/devices?before=forged").status_code == 400
    assert paged.get(f"/devices?sort=maker&before={tenth}").status_code == 400


def test_the_cases_board_names_each_device_address_and_site(paged: TestClient) -> None:
    html = paged.get("/cases?state=open").text
    places = re.findall(r'<span class="place">([^<]+)</span>', html)
    # a restricted device (every fifth address) has a case: one per restricted device
    expected = sorted(
        f"192.0.2.{octet} · {'site ' + site if site else 'no site'}"
        for site, first, count in SITES
        for octet in range(first, first + count)
        if octet % 5 == 0
    )
    assert sorted(places) == expected
    # the board with every column says the same for the cases it shows
    board = paged.get("/cases").text
    assert set(re.findall(r'<span class="place">([^<]+)</span>', board)) == set(expected)


def test_previous_on_postgresql(make_postgres_database: Callable[[], str]) -> None:
    # PostgreSQL sorts NULL last by default: the order and its reverse are spelled out
    url = _fill(make_postgres_database())
    with TestClient(create_app(url), raise_server_exceptions=False) as client:
        page_log_in(client, "viewer")
        for order in ("site", "-site", "-model"):
            forward: list[list[str]] = []
            next_url: str | None = f"/devices?limit=25&sort={order}"
            while next_url:
                rows, next_url, _, _ = _page(client, next_url)
                forward.append(rows)
            backward = [forward[-1]]
            _, _, previous, _ = _page(client, _last_url(client, order))
            while previous:
                rows, _, previous, _ = _page(client, previous)
                backward.append(rows)
            assert backward[::-1] == forward, order
            if order == "site":
                assert forward[0][:7] == [f"192.0.2.{n}" for n in range(10, 17)]  # no site first

"""What a newcomer met in the console (third review): a mistyped site on the cases board and
a site's page, the inventory's match rule in words and the scans a device page names linked,
the case states listed above the board, wide tables that scroll on their own, days that do
not split at their hyphens, and an icon for the browser's tab."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from pagetools import accessibility_problems, inline, page_log_in, table_rows
from webtools import GOLDEN, TestClient

from provscan.report.contract import from_contract
from provscan.store.cases import STATES
from provscan.store.db import open_store
from provscan.store.inventory import coverage_ranges


def _get(client: TestClient, url: str, status: int = 200) -> str:
    response = client.get(url, follow_redirects=False)
    assert response.status_code == status, (url, response.status_code, response.text[:300])
    html = response.text
    assert inline(html) == [] and accessibility_problems(html) == [], url
    return html


def _device_at(store_url: str, ip: str) -> dict[str, Any]:
    with open_store(store_url) as store:
        return next(d for d in store.inventory_documents() if d["ip"] == ip)


# --- a mistyped site ----------------------------------------------------------------------


def test_the_cases_board_and_a_site_page_refuse_a_site_nothing_names(
    client: TestClient, store_url: str
) -> None:
    raw = from_contract(GOLDEN.read_text(encoding="utf-8")).model_dump(mode="json")
    raw["scan"]["id"] = "20260301T090000Z-cafe"
    with open_store(store_url) as store:
        store.save_document(from_contract(raw), site="hq", coverage=coverage_ranges([]))
    page_log_in(client, "viewer")
    # the board of a known site answers; a mistyped one is a 404 naming the known ones, with
    # no board of zeros that would read as a site with nothing open
    assert "Cases at hq" in _get(client, "/cases?site=hq")
    for url in ("/cases?site=nosuch", "/cases?site=nosuch&state=open"):
        html = _get(client, url, 404)
        assert "no site &#39;nosuch&#39;: known sites: hq" in html, url
        assert 'id="state-open"' not in html and "Cases at nosuch" not in html
    assert "did you mean &#39;hq&#39;?" in _get(client, "/cases?site=HQ", 404)
    # a site's page says the same as the API's /sites/NAME/jobs
    html = _get(client, "/sites/nosuch", 404)
    assert "no site &#39;nosuch&#39;: known sites: hq" in html
    assert "Site hq" in _get(client, "/sites/hq")


# --- the device page ----------------------------------------------------------------------


def test_a_device_page_says_how_the_inventory_matched_it_and_links_its_scans(
    client: TestClient, store_url: str
) -> None:
    # Given a camera with no MAC and no serial seen twice at one address (matched by its
    # address, maker and model), and one seen once
    raw = from_contract(GOLDEN.read_text(encoding="utf-8")).model_dump(mode="json")
    camera = {**raw["devices"][0], "ip": "192.0.2.50", "mac": None, "serial": None}
    assert camera["manufacturer"] and camera["model"]
    with open_store(store_url) as store:
        for number, devices in enumerate(([camera], [camera, {**camera, "ip": "192.0.2.51"}])):
            raw["scan"]["id"] = f"2026030{number + 1}T090000Z-cafe"
            raw["scan"]["started_at"] = f"2026-03-0{number + 1}T09:00:00Z"
            raw["scan"]["finished_at"] = f"2026-03-0{number + 1}T09:05:00Z"
            raw["devices"] = devices
            raw["scan"]["devices_found"] = raw["scan"]["hosts_responding"] = len(devices)
            raw["scan"]["restricted_count"] = sum(d["restricted"] for d in devices)
            store.save_document(from_contract(raw), coverage=coverage_ranges([]))
    page_log_in(client, "viewer")
    words = {
        "192.0.2.10": "matched to its earlier sightings by MAC address",
        "192.0.2.50": "matched to its earlier sightings by address at its site, maker and model",
        "192.0.2.51": "a new device: no earlier sighting matched it",
    }
    for ip, said in words.items():
        device = _device_at(store_url, ip)
        html = _get(client, f"/devices/{device['device_id']}")
        assert f"<dd>{device['device_id']} ({said})</dd>" in html, ip
        assert "matched by new" not in html
        # the scan it was last seen in is a link to that scan's page
        assert f'in scan <a href="/scans/{device["last_scan_id"]}">' in html
        assert client.get(f"/scans/{device['last_scan_id']}").status_code == 200
    # a case's history links the scan that opened it
    restricted = _device_at(store_url, "192.0.2.10")
    html = _get(client, f"/devices/{restricted['device_id']}")
    history = table_rows(html.replace('class="history"', 'id="history"'), "history")
    opened_in = history[0][-1]
    assert re.fullmatch(r"\d{8}T\d{6}Z-\w+", opened_in), history
    assert f'<a href="/scans/{opened_in}">{opened_in}</a>' in html


# --- the cases board ------------------------------------------------------------------------


def test_the_board_lists_every_state_with_its_count_above_the_columns(
    client: TestClient,
) -> None:
    page_log_in(client, "viewer")
    html = _get(client, "/cases")
    start = html.index('id="case-states"')
    nav = html[start : html.index("</nav>", start)]
    links = re.findall(r'<a href="#state-(\w+)">(\w+) \((\d+)', nav)
    assert [state for state, _, _ in links] == list(STATES)
    for state, word, count in links:
        assert word == state
        # the count is the column's, and the link leads to its heading
        assert f'<h2 id="state-{state}">{state} <small>({count}' in html
    assert dict((s, c) for s, _, c in links)["open"] == "1"
    # one state's page has no such list (it shows one column)
    assert 'id="case-states"' not in _get(client, "/cases?state=open")


# --- layout -------------------------------------------------------------------------------


class _Tables(HTMLParser):
    """Each table and whether it stands in a ``div.scroll`` (which scrolls it on its own)."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[tuple[str, bool]] = []
        self.tables: list[tuple[str, bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table":
            scrolls = bool(self.open) and self.open[-1] == ("div", True)
            self.tables.append((found.get("id") or found.get("class") or "?", scrolls))
        if tag not in ("br", "input", "img", "meta", "link", "wbr", "hr", "col"):
            self.open.append((tag, tag == "div" and "scroll" in (found.get("class") or "")))

    def handle_endtag(self, tag: str) -> None:
        while self.open:
            if self.open.pop()[0] == tag:
                break


def test_wide_tables_scroll_on_their_own_and_days_do_not_split(
    client: TestClient, store_url: str
) -> None:
    page_log_in(client, "admin")
    device = _device_at(store_url, "192.0.2.10")["device_id"]
    pages = (
        "/", "/devices", f"/devices/{device}", "/cases", "/scans", "/scans/20260102T120000Z-beef",
        "/diff", "/sites", "/users", "/audit", "/screen",
    )  # fmt: skip
    seen = 0
    for url in pages:
        parser = _Tables()
        parser.feed(_get(client, url))
        assert [name for name, scrolls in parser.tables if not scrolls] == [], url
        seen += len(parser.tables)
    assert seen >= 20
    # the devices table's case and the device page's dates: a day is one unbreakable piece
    devices = _get(client, "/devices")
    case_cell = next(row[-1] for row in table_rows(devices, "devices-table") if row[-1] != "–")
    due = re.search(r"\d{4}-\d\d-\d\d", case_cell)
    assert due is not None, case_cell
    assert f'(due <span class="date">{due.group()}</span>)' in devices
    page = _get(client, f"/devices/{device}")
    assert re.search(r'<td><span class="date">\d{4}-\d\d-\d\d</span></td>', page)  # findings
    assert re.search(r'<dd><span class="date">\d{4}-\d\d-\d\d</span> \d\d:\d\d UTC</dd>', page)
    css = client.get("/static/console.css").text
    assert re.search(r"\.date \{ white-space: nowrap; \}", css)
    assert re.search(r"\.scroll \{ overflow-x: auto;", css)


def test_the_console_has_an_icon_for_the_tab(client: TestClient) -> None:
    html = _get(client, "/login")
    icon = re.search(r'<link rel="icon" href="(/static/[^"]+)"', html)
    assert icon is not None
    served = client.get(icon.group(1))
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("image/svg+xml")
    assert served.text.lstrip().startswith("<svg") and "<script" not in served.text
    packaged = Path(__file__).resolve().parents[2] / "src/provscan/web" / icon.group(1).lstrip("/")
    assert packaged.read_text(encoding="utf-8") == served.text

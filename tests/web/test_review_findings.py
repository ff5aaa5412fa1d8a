"""What a newcomer's review of the console and API found: XLSX uploads, the four verdicts
in the console and the API, refused unknown filters and sites, cases a page at a time,
sites named by scans, error pages for people, and malformed target addresses."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pagetools import accessibility_problems, inline, page_log_in, table_rows
from webtools import GOLDEN, PASSWORD, TestClient

from provscan.report.contract import VERDICTS, from_contract
from provscan.store.db import normalise_db_arg, open_store
from provscan.store.inventory import coverage_ranges
from provscan.store.users import ROLES
from provscan.web.app import create_app
from provscan.web.security import MAX_BODY_BYTES

REVIEW_NOTE = (
    "review: possibly made by Dahua - brand Lorex sells only some Dahua-made lines "
    "(none of its own rules name the maker)"
)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _xlsx(rows: list[list[str]]) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


LIST = [
    ["Item", "Brand", "Model", "Qty"],
    ["1", "Hikvision", "DS-2CD2143G2-I", "4"],
    ["2", "Axis", "P3245-LVE", "2"],
]


# --- XLSX uploads --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["list.xlsx", "list.csv", "upload"])
def test_an_xlsx_upload_is_screened_by_the_api_whatever_its_name(
    client: TestClient, token_for: Any, name: str
) -> None:
    # The kind is read from the bytes: a workbook is screened under any name the client gives
    files = {"file": (name, _xlsx(LIST), "application/octet-stream")}
    response = client.post("/api/v1/screen", files=files, headers=token_for("analyst"))
    assert response.status_code == 200, response.text
    rows = response.json()["rows"]
    assert [row["verdict"] for row in rows] == ["restricted", "clear"]
    assert rows[0]["maker"] == "Hikvision" and rows[1]["maker"] == "Axis"


def test_the_example_bill_of_materials_is_screened_by_the_api(
    client: TestClient, token_for: Any
) -> None:
    data = (EXAMPLES / "bom.xlsx").read_bytes()
    analyst = token_for("analyst")
    files = {"file": ("bom.xlsx", data, "application/vnd.ms-excel")}
    # its first sheet is a cover page: the product sheet is screened, and the notes say which
    # (in the web's words), as `provscan screen` picks it
    picked = client.post("/api/v1/screen", files=files, headers=analyst)
    assert picked.status_code == 200, picked.text
    assert any(
        note.startswith("screened sheet 'BOM' (it has a header row naming product columns")
        and "not screened: 'Cover' (name another sheet to screen it)" in note
        for note in picked.json()["notes"]
    )
    assert "restricted" in {row["verdict"] for row in picked.json()["rows"]}
    # the sheet named: its rows
    response = client.post("/api/v1/screen", files=files, data={"sheet": "BOM"}, headers=analyst)
    assert response.status_code == 200, response.text
    verdicts = {row["verdict"] for row in response.json()["rows"]}
    assert "restricted" in verdicts and verdicts <= set(VERDICTS)
    missing = client.post("/api/v1/screen", files=files, data={"sheet": "Nope"}, headers=analyst)
    assert missing.status_code == 400
    assert (
        missing.json()["detail"] == "no sheet 'Nope' with cells in the upload; sheets: Cover, BOM"
    )


def test_a_workbook_over_the_unpacked_limit_is_still_refused(
    client: TestClient, token_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from provscan.screening import tables

    monkeypatch.setattr(tables, "MAX_XLSX_UNPACKED_BYTES", 1000)
    files = {"file": ("list.xlsx", _xlsx(LIST), "application/octet-stream")}
    response = client.post("/api/v1/screen", files=files, headers=token_for("analyst"))
    assert response.status_code == 400
    assert "the upload unpacks to" in response.json()["detail"]


def test_the_console_screens_an_xlsx_upload_and_gives_it_back_annotated(
    client: TestClient,
) -> None:
    import openpyxl

    token = page_log_in(client, "analyst")
    files = {"file": ("list.xlsx", _xlsx(LIST), "application/octet-stream")}
    response = client.post("/screen", data={"csrf_token": token}, files=files)
    assert response.status_code == 200, response.text[:500]
    assert "does not support" not in response.text
    found = re.search(r'href="(/screen/results/[A-Za-z0-9_-]+)/xlsx"', response.text)
    assert found is not None
    download = client.get(f"{found.group(1)}/xlsx")
    assert download.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(download.content)).active
    assert sheet is not None
    cells = [[str(cell.value or "") for cell in row] for row in sheet.iter_rows()]
    assert cells[0][:4] == LIST[0]  # the list itself, the result columns added after it
    assert "restricted" in cells[1] and "clear" in cells[2]
    # a workbook's sheet is chosen by name, and the page says which was screened
    bom = (EXAMPLES / "bom.xlsx").read_bytes()
    files = {"file": ("bom.xlsx", bom, "application/octet-stream")}
    picked = client.post("/screen", data={"csrf_token": token}, files=files)
    assert picked.status_code == 200
    assert "screened sheet &#39;BOM&#39; (it has a header row naming product columns" in picked.text
    assert "not screened: &#39;Cover&#39;" in picked.text
    named = client.post("/screen", data={"csrf_token": token, "sheet": "BOM"}, files=files)
    assert named.status_code == 200 and "Cover" not in named.text
    summary = re.search(r'<p id="screen-summary">(\d+) rows: (\d+) restricted', named.text)
    assert summary is not None and int(summary.group(2)) > 0


# --- the four verdicts ---------------------------------------------------------------------


def _device(source: dict[str, Any], ip: str, **changes: Any) -> dict[str, Any]:
    device = json.loads(json.dumps(source))
    device.update(ip=ip, mac=None, serial=None, hostname=None, **changes)
    return device


@pytest.fixture
def verdicts_url(tmp_path: Path) -> str:
    """A store with a device of each verdict at site hq, and a restricted one at branch."""
    url = normalise_db_arg(str(tmp_path / "verdicts.db"))
    raw = from_contract(GOLDEN.read_text(encoding="utf-8")).model_dump(mode="json")
    restricted, clear = raw["devices"]
    unidentified = {
        "manufacturer": None,
        "brand": None,
        "model": None,
        "family": None,
        "relation": None,
        "confidence": 0.0,
        "findings": [],
        "restricted": False,
    }
    hq = [
        _device(restricted, "192.0.2.10"),
        _device(restricted, "192.0.2.11"),
        _device(clear, "192.0.2.20"),
        _device(clear, "192.0.2.30", **unidentified, notes=[REVIEW_NOTE], verdict="review"),
        _device(clear, "192.0.2.40", **unidentified, notes=[], verdict="unknown"),
    ]
    branch = [_device(restricted, "198.51.100.10")]
    with open_store(url) as store:
        for site, devices, scope in (
            ("hq", hq, "192.0.2.0/24"),
            ("branch", branch, "198.51.100.0/24"),
        ):
            document = json.loads(json.dumps(raw))
            document["devices"] = devices
            document["scan"]["devices_found"] = document["scan"]["hosts_responding"] = len(devices)
            document["scan"]["hosts_scanned"] = 256
            document["scan"]["restricted_count"] = sum(d["restricted"] for d in devices)
            document["scan"]["id"] = f"scan-{site}"
            store.save_document(
                from_contract(json.dumps(document)), site=site, coverage=coverage_ranges([scope])
            )
        for role in ROLES:
            store.accounts().add_user(role, role, PASSWORD, actor="test", address="cli")
    return url


@pytest.fixture
def verdicts(verdicts_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(verdicts_url), raise_server_exceptions=False) as client:
        yield client


def _viewer(url: str) -> dict[str, str]:
    with open_store(url) as store:
        token = store.accounts().issue_token("viewer", actor="test", address="cli")
    return {"authorization": f"Bearer {token}"}


def test_the_api_filters_devices_by_verdict(verdicts: TestClient, verdicts_url: str) -> None:
    viewer = _viewer(verdicts_url)

    def ips(**params: str) -> list[str]:
        response = verdicts.get("/api/v1/devices", params=params, headers=viewer)
        assert response.status_code == 200, response.text
        return sorted(d["ip"] for d in response.json()["devices"])

    assert ips(verdict="restricted") == ["192.0.2.10", "192.0.2.11", "198.51.100.10"]
    assert ips(verdict="review") == ["192.0.2.30"]
    assert ips(verdict="unknown") == ["192.0.2.40"]
    assert ips(verdict="clear") == ["192.0.2.20"]
    assert ips(verdict="restricted", site="branch") == ["198.51.100.10"]
    assert len(ips()) == 6
    # a bad verdict is refused as a bad status is, naming the verdicts there are
    bad = verdicts.get("/api/v1/devices?verdict=maybe", headers=viewer)
    assert bad.status_code == 400
    assert bad.json()["detail"] == (
        "unknown verdict 'maybe' (one of restricted, review, unknown, clear)"
    )
    # the OpenAPI document lists them
    schema = verdicts.get("/api/v1/openapi.json").json()
    params = {p["name"]: p for p in schema["paths"]["/api/v1/devices"]["get"]["parameters"]}
    verdict = params["verdict"]["schema"]
    # the enum on the text, beside the null an absent filter is
    assert [part.get("enum") for part in verdict["anyOf"]] == [list(VERDICTS), None]


def test_unknown_query_parameters_and_sites_are_refused(
    verdicts: TestClient, verdicts_url: str
) -> None:
    viewer = _viewer(verdicts_url)
    misspelt = verdicts.get("/api/v1/devices?verdcit=review", headers=viewer)
    assert misspelt.status_code == 400
    detail = misspelt.json()["detail"]
    assert detail.startswith("unknown query parameter 'verdcit': it takes ")
    assert "verdict" in detail and "site" in detail
    assert verdicts.get("/api/v1/cases?device=x", headers=viewer).status_code == 400
    assert verdicts.get("/api/v1/scans?page=2", headers=viewer).status_code == 400
    assert verdicts.get("/api/v1/sites?x=1", headers=viewer).status_code == 400
    # a site no scan named: 404 with the known ones (as `inventory --site` refuses it)
    for path in ("/api/v1/devices", "/api/v1/cases"):
        nowhere = verdicts.get(f"{path}?site=nosuch", headers=viewer)
        assert nowhere.status_code == 404, path
        assert nowhere.json()["detail"] == "no site 'nosuch': known sites: branch, hq"
    assert "HQ" in verdicts.get("/api/v1/devices?site=HQ", headers=viewer).json()["detail"]


def test_cases_come_a_page_at_a_time_and_by_site(verdicts: TestClient, verdicts_url: str) -> None:
    viewer = _viewer(verdicts_url)
    every = verdicts.get("/api/v1/cases", headers=viewer).json()
    assert every["next"] is None and len(every["cases"]) == 3
    walked: list[int] = []
    cursor: str | None = None
    while True:
        params = {"limit": "1", **({"cursor": cursor} if cursor else {})}
        page = verdicts.get("/api/v1/cases", params=params, headers=viewer).json()
        walked += [case["id"] for case in page["cases"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert walked == [case["id"] for case in every["cases"]]
    at_branch = verdicts.get("/api/v1/cases?site=branch", headers=viewer).json()["cases"]
    devices = verdicts.get("/api/v1/devices?site=branch", headers=viewer).json()["devices"]
    assert [case["device_id"] for case in at_branch] == [devices[0]["device_id"]]
    assert len(verdicts.get("/api/v1/cases?site=hq", headers=viewer).json()["cases"]) == 2
    damaged = verdicts.get("/api/v1/cases?cursor=abc", headers=viewer)
    assert damaged.status_code == 400 and "cursor" in damaged.json()["detail"]
    # one device's cases; a device the inventory does not hold is a 404, not an empty list
    one = devices[0]["device_id"]
    of_one = verdicts.get("/api/v1/cases", params={"device_id": one}, headers=viewer).json()
    assert [case["device_id"] for case in of_one["cases"]] == [one]
    nosuch = verdicts.get("/api/v1/cases", params={"device_id": "nosuch"}, headers=viewer)
    assert nosuch.status_code == 404 and "no device 'nosuch'" in nosuch.json()["detail"]


def test_the_console_shows_and_filters_the_verdict(verdicts: TestClient) -> None:
    page_log_in(verdicts, "viewer")
    html = verdicts.get("/devices?limit=100").text
    rows = {row[1]: row for row in table_rows(html, "devices-table")}
    shown = {ip: row[8] for ip, row in rows.items()}
    assert shown == {
        "192.0.2.10": "restricted",
        "192.0.2.11": "restricted",
        "192.0.2.20": "clear",
        "192.0.2.30": "review",
        "192.0.2.40": "unknown",
        "198.51.100.10": "restricted",
    }
    assert '<label for="verdict">Verdict</label>' in html
    for verdict in VERDICTS:
        assert f'<option value="{verdict}">' in html
    review = verdicts.get("/devices?verdict=review").text
    assert [row[1] for row in table_rows(review, "devices-table")] == ["192.0.2.30"]
    assert '<option value="review" selected>' in review
    # the dashboard's restricted links list the devices its counts count: the restricted
    # devices that remain (tests/web/test_pages_dashboard_now.py), by maker and site too
    dashboard = verdicts.get("/").text
    assert 'href="/devices?remaining=yes"' in dashboard
    assert "verdict=restricted" not in dashboard and "remaining=yes&amp;site=" in dashboard


def _device_page(client: TestClient, ip: str) -> str:
    html = client.get(f"/devices?q={ip}").text
    found = re.search(r'href="(/devices/dev-[^"]+)">' + re.escape(ip) + "<", html)
    assert found is not None, ip
    page = client.get(found.group(1))
    assert page.status_code == 200
    assert inline(page.text) == [] and accessibility_problems(page.text) == []
    return page.text


def _verdict_text(html: str) -> str:
    found = re.search(r'<dd id="verdict">(.*?)</dd>', html, re.S)
    assert found is not None
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip()


def test_a_device_page_says_the_verdict_in_the_clis_words(verdicts: TestClient) -> None:
    page_log_in(verdicts, "viewer")
    review = _device_page(verdicts, "192.0.2.30")
    assert _verdict_text(review) == (
        "To review : a restricted maker is possible, not established, or a measure restricts "
        "only on a condition the evidence cannot settle possibly made by Dahua - "
        "brand Lorex sells only some Dahua-made lines (none of its own rules name the maker)"
    )
    assert "Not restricted" not in review and "to review</span>" in review
    unknown = _device_page(verdicts, "192.0.2.40")
    assert _verdict_text(unknown) == ("Unknown maker : nothing identified it: check it by hand")
    # clear and restricted name whom they were judged for and the maker (pages_agency_review)
    clear = _verdict_text(_device_page(verdicts, "192.0.2.20"))
    assert clear.startswith("Clear for ") and "no measure that binds" in clear, clear
    restricted = _verdict_text(_device_page(verdicts, "192.0.2.10"))
    assert restricted.startswith("Restricted for ") and "names its maker" in restricted


# --- sites ---------------------------------------------------------------------------------


def test_sites_include_those_scans_were_stored_with(
    verdicts: TestClient, verdicts_url: str
) -> None:
    viewer = _viewer(verdicts_url)
    sites = verdicts.get("/api/v1/sites", headers=viewer).json()["sites"]
    assert [(s["name"], s["scanned"], s["sensors"]) for s in sites] == [
        ("branch", True, []),
        ("hq", True, []),
    ]
    page_log_in(verdicts, "viewer")
    html = verdicts.get("/sites").text
    assert "No site yet" not in html
    rows = table_rows(html, "sites-table")
    assert [row[0] for row in rows] == ["branch", "hq"]
    assert rows[1][1] == "no sensor: scans stored with this site (its devices)"
    assert verdicts.get("/sites/hq").status_code == 200


# --- error pages ---------------------------------------------------------------------------


def test_console_errors_are_pages_and_api_errors_json(client: TestClient) -> None:
    # before logging in: a page without the menu
    missing = client.get("/no-such-page")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "There is no page at this address." in missing.text
    assert "content-security-policy" in missing.headers
    page_log_in(client, "viewer")
    for path, status, said in (
        ("/logout", 405, "does not answer a GET request"),
        ("/cases/999", 404, "There is no such case."),
        ("/no-such-page", 404, "There is no page at this address."),
        ("/devices/x/y/z", 404, "There is no page at this address."),
    ):
        response = client.get(path)
        assert response.status_code == status, path
        assert response.headers["content-type"].startswith("text/html"), path
        assert said in response.text and "Log out" in response.text, path  # the menu too
        assert inline(response.text) == [] and accessibility_problems(response.text) == []
    # a case's number leads to it, on its device's page
    case = client.get("/cases/1", follow_redirects=False)
    assert case.status_code == 303 and re.fullmatch(
        r"/devices/[^#]+#case-1", case.headers["location"]
    )
    for path, status in (("/api/v1/no-such", 404), ("/api/v1/cases/1", 405)):
        method = client.post if status == 405 else client.get
        response = method(path)
        assert response.status_code == status
        assert response.headers["content-type"] == "application/json"
        assert "detail" in response.json()


def test_a_too_large_upload_is_a_page_in_the_console_and_json_in_the_api(
    client: TestClient, token_for: Any
) -> None:
    big = b"a,b\n" * (MAX_BODY_BYTES // 4 + 10)
    token = page_log_in(client, "analyst")
    page = client.post(
        "/screen", data={"csrf_token": token}, files={"file": ("big.csv", big, "text/csv")}
    )
    assert page.status_code == 413 and page.headers["content-type"].startswith("text/html")
    assert "choose a smaller file" in page.text and inline(page.text) == []
    api = client.post(
        "/api/v1/screen",
        files={"file": ("big.csv", big, "text/csv")},
        headers=token_for("analyst"),
    )
    assert api.status_code == 413 and api.json() == {"detail": "request body too large"}


# --- targets -------------------------------------------------------------------------------


def test_a_malformed_address_is_called_one(client: TestClient, token_for: Any) -> None:
    analyst = token_for("analyst")
    for target, said in (
        ("127.77.1.300", "bad address '127.77.1.300': not a valid IPv4 or IPv6 address"),
        ("127.77.1.1-300", "bad range '127.77.1.1-300': '300' is not an address"),
        ("127.77.1.0/33", "bad CIDR '127.77.1.0/33'"),
        ("camera-7", "no host names"),
    ):
        response = client.post("/api/v1/scans", json={"targets": [target]}, headers=analyst)
        assert response.status_code == 400
        assert said in response.json()["detail"], response.json()
        assert "no host names" not in response.json()["detail"] or target == "camera-7"

"""The API's answers against the real store they come from."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner
from webtools import HOSTILE, TestClient

from provscan.cli import app as cli_app
from provscan.store.db import open_store
from provscan.web.api import MAX_SCREEN_ROWS
from provscan.web.app import create_app
from provscan.web.security import MAX_BODY_BYTES, SECURITY_HEADERS

Headers = Callable[[str], dict[str, str]]


@pytest.fixture
def viewer(token_for: Headers) -> dict[str, str]:
    return token_for("viewer")


@pytest.fixture
def analyst(token_for: Headers) -> dict[str, str]:
    return token_for("analyst")


def test_scans_and_one_scan_are_what_the_store_holds(
    client: TestClient, viewer: dict[str, str], store_url: str
) -> None:
    listed = client.get("/api/v1/scans", headers=viewer).json()["scans"]
    with open_store(store_url) as store:
        assert listed == [scan.to_json() for scan in store.scans(50)]
        scan_id = listed[-1]["id"]
        detail = client.get(f"/api/v1/scans/{scan_id}", headers=viewer).json()
        assert detail["document"] == store.load(scan_id).model_dump(mode="json")
    assert client.get("/api/v1/scans/nope", headers=viewer).status_code == 404


def test_device_pages_walk_the_whole_inventory_once_in_order(
    client: TestClient, viewer: dict[str, str], store_url: str
) -> None:
    with open_store(store_url) as store:
        expected = store.inventory_documents()
    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/devices", params=query, headers=viewer).json()
        seen.extend(page["devices"])
        cursor, pages = page["next"], pages + 1
        if cursor is None:
            break
    assert pages == len(expected) >= 2
    # the same objects as the inventory JSON, in the same order
    assert seen == json.loads(json.dumps(expected))


def test_device_filters_and_search(client: TestClient, viewer: dict[str, str]) -> None:
    def devices(**params: str) -> list[dict[str, object]]:
        found: list[dict[str, object]] = client.get(
            "/api/v1/devices", params=params, headers=viewer
        ).json()["devices"]
        return found

    restricted = devices(restricted="true")
    assert restricted and all(d["restricted"] for d in restricted)
    assert all(not d["restricted"] for d in devices(restricted="false"))
    assert [d["model"] for d in devices(q="2496")] == ["IP8M-2496EB"]
    assert devices(q="%") == []  # LIKE wildcards are searched for, not expanded
    # a site no scan named is refused (as `inventory --site` refuses it), not an empty page
    nowhere = client.get("/api/v1/devices", params={"site": "nowhere"}, headers=viewer)
    assert nowhere.status_code == 404 and "no site 'nowhere'" in nowhere.json()["detail"]
    bad = client.get("/api/v1/devices", params={"status": "bogus"}, headers=viewer)
    assert bad.status_code == 400
    damaged = client.get("/api/v1/devices", params={"cursor": "!!!"}, headers=viewer)
    assert damaged.status_code == 400 and "cursor" in damaged.json()["detail"]


def test_device_detail_has_evidence_and_cases(
    client: TestClient, viewer: dict[str, str], store_url: str
) -> None:
    first = client.get("/api/v1/devices?restricted=true", headers=viewer).json()["devices"][0]
    detail = client.get(f"/api/v1/devices/{first['device_id']}", headers=viewer).json()
    with open_store(store_url) as store:
        device, document, cases = store.device(first["device_id"])
    assert detail["device"] == json.loads(json.dumps(device.to_json()))
    assert detail["document"] == document and "evidence" in detail["document"]
    assert [c["id"] for c in detail["cases"]] == [c.id for c in cases] != []
    assert client.get("/api/v1/devices/nope", headers=viewer).status_code == 404


def test_diff_and_cases(
    client: TestClient, viewer: dict[str, str], analyst: dict[str, str]
) -> None:
    diff = client.get("/api/v1/diff", headers=viewer).json()
    assert diff["old"]["id"] == "20260101T120000Z-3f2a"
    assert diff["new"]["id"] == "20260102T120000Z-beef"
    assert client.get("/api/v1/diff?old=nope", headers=viewer).status_code == 404
    # no store message gives away the database file's path on the server
    for path in ("/api/v1/diff?old=nope", "/api/v1/diff?old=20260101T120000Z-3f2a&new=nope"):
        detail = client.get(path, headers=viewer).text
        assert "web.db" not in detail and "/tmp" not in detail
    cases = client.get("/api/v1/cases", headers=viewer).json()["cases"]
    assert cases and cases[0]["status"] == "open"
    # a due date after the case was opened (one before it is refused)
    due = (date.fromisoformat(cases[0]["opened_at"][:10]) + timedelta(days=60)).isoformat()
    changed = client.patch(
        f"/api/v1/cases/{cases[0]['id']}",
        json={"status": "planned", "owner": "facilities", "due": due},
        headers=analyst,
    ).json()
    assert (changed["status"], changed["owner"], changed["due"]) == (
        "planned",
        "facilities",
        due,
    )
    assert changed["history"][-1]["actor"] == "analyst"
    refused = client.patch(
        f"/api/v1/cases/{cases[0]['id']}", json={"status": "verified"}, headers=analyst
    )
    assert refused.status_code == 400  # only a covering scan verifies a case
    unknown = client.patch("/api/v1/cases/999", json={"note": "x"}, headers=analyst)
    assert unknown.status_code == 404
    assert client.get("/api/v1/cases?status=bogus", headers=viewer).status_code == 400


def test_lookup_is_the_same_result_as_the_cli(client: TestClient, analyst: dict[str, str]) -> None:
    text = "4MP turret camera LTS CMIP7442W-28M"
    cli = CliRunner().invoke(cli_app, ["lookup", text, "--format", "json"])
    assert cli.exit_code == 0
    answer = client.post("/api/v1/lookup", json={"text": text}, headers=analyst)
    assert answer.json() == json.loads(cli.stdout)
    assert answer.json()["maker"] == "Hikvision"
    too_long = client.post("/api/v1/lookup", json={"text": "x" * 501}, headers=analyst)
    assert too_long.status_code == 422


def test_screening_an_uploaded_list(client: TestClient, analyst: dict[str, str]) -> None:
    listing = b"Brand,Model\nLTS,CMIP7442W-28M\nAxis,M3106-L Mk II\n=cmd|' /C calc'!A0,x\n"
    files = {"file": ("../../etc/passwd", io.BytesIO(listing), "text/csv")}
    response = client.post("/api/v1/screen", files=files, headers=analyst)
    assert response.status_code == 200, response.text
    rows = response.json()["rows"]
    assert [row["restricted"] for row in rows[:2]] == [True, False]
    assert len(rows) == 3
    not_a_table = {"file": ("x.xlsx", io.BytesIO(b"PK\x03\x04 broken"), "application/zip")}
    assert client.post("/api/v1/screen", files=not_a_table, headers=analyst).status_code == 400


def test_the_api_reads_a_vendor_column_as_the_command_line_does(
    client: TestClient, analyst: dict[str, str]
) -> None:
    """A "Vendor" column of makers is the brand, one of distributors the seller (never a
    relabel claim), in the API as on the command line (screening.run.table_columns)."""
    makers = b"Vendor,Model\nLorex,4K bullet camera\nBosch,dome camera\nHikvision,turret camera\n"
    sellers = b"Vendor,Model\nAnixter,DS-2CD2143G2-I\nADI Global,NDE-3502-AL\nWesco,P3265-LVE\n"
    brands = []
    for listing in (makers, sellers):
        files = {"file": ("list.csv", io.BytesIO(listing), "text/csv")}
        response = client.post("/api/v1/screen", files=files, headers=analyst)
        assert response.status_code == 200, response.text
        brands.append([row["brand"] for row in response.json()["rows"]])
    assert brands[0] == ["Lorex", "Bosch", "Hikvision"]
    assert "Anixter" not in brands[1] and brands[1][0] == "Hikvision"


def test_a_list_over_the_row_limit_is_refused(client: TestClient, analyst: dict[str, str]) -> None:
    rows = "".join(f"Axis,M{number}\n" for number in range(MAX_SCREEN_ROWS + 1))
    listing = io.BytesIO(f"Brand,Model\n{rows}".encode())
    response = client.post(
        "/api/v1/screen", files={"file": ("big.csv", listing, "text/csv")}, headers=analyst
    )
    assert response.status_code == 400
    assert str(MAX_SCREEN_ROWS) in response.json()["detail"].replace(",", "")
    assert "/tmp" not in response.text


def test_a_zip_bomb_is_refused_and_no_server_path_is_named(
    client: TestClient, analyst: dict[str, str]
) -> None:
    # Given an "XLSX" of well under the upload limit that unpacks to over 512 MB
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as member:
            chunk = b"\0" * (1 << 20)
            for _ in range(600):
                member.write(chunk)
    assert packed.tell() < MAX_BODY_BYTES
    files = {"file": ("list.xlsx", io.BytesIO(packed.getvalue()), "application/zip")}
    response = client.post("/api/v1/screen", files=files, headers=analyst)
    assert response.status_code == 400
    assert "limit" in response.json()["detail"]
    assert "/tmp" not in response.text and "provscan-screen" not in response.text


def test_bodies_over_the_limit_are_refused_before_they_are_read(
    client: TestClient, analyst: dict[str, str]
) -> None:
    big = {"file": ("big.csv", io.BytesIO(b"a," * (MAX_BODY_BYTES // 2 + 10)), "text/csv")}
    response = client.post("/api/v1/screen", files=big, headers=analyst)
    assert response.status_code == 413


def test_hostile_device_text_comes_back_as_inert_data(
    client: TestClient, viewer: dict[str, str]
) -> None:
    found = client.get("/api/v1/devices", params={"q": "script"}, headers=viewer)
    assert found.headers["content-type"] == "application/json"
    assert found.headers["x-content-type-options"] == "nosniff"
    hostile = found.json()["devices"]
    assert {d["model"] for d in hostile} >= {HOSTILE}
    assert {d["firmware"] for d in hostile} >= {HOSTILE}
    # the HTML report renders it as text
    report = client.get("/api/v1/reports/html", headers=viewer)
    assert report.status_code == 200
    assert report.headers["content-disposition"] == 'attachment; filename="provscan-report.html"'
    assert "<script>alert" not in report.text and "onerror=alert" not in report.text.replace(
        "&lt;img src=x onerror=alert(1)&gt;", ""
    )
    assert "&lt;script&gt;" in report.text


def test_the_pdf_report_downloads(client: TestClient, viewer: dict[str, str]) -> None:
    pdf = client.get("/api/v1/reports/pdf", headers=viewer)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert client.get("/api/v1/reports/..%2F..%2Fetc%2Fpasswd", headers=viewer).status_code in (
        404,
        422,
    )


def test_every_response_carries_the_security_headers(
    client: TestClient, viewer: dict[str, str]
) -> None:
    for response in (
        client.get("/api/v1/summary", headers=viewer),
        client.get("/api/v1/devices"),  # 401
        client.get("/api/v1/nothing-here"),  # 404
        client.get("/api/v1/openapi.json"),
    ):
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value
    csp = SECURITY_HEADERS["content-security-policy"]
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert "server" not in client.get("/api/v1/openapi.json").headers


def test_a_loopback_server_answers_only_loopback_host_names(store_url: str) -> None:
    app = create_app(store_url, allowed_hosts=["127.0.0.1", "localhost"])
    with TestClient(app, base_url="http://127.0.0.1:8080") as local:
        assert local.get("/api/v1/openapi.json").status_code == 200
        # a page on another site whose name was rebound to 127.0.0.1 (DNS rebinding)
        rebound = local.get("/api/v1/openapi.json", headers={"host": "evil.example:8080"})
        assert rebound.status_code == 400
        assert rebound.headers["x-content-type-options"] == "nosniff"


def test_an_internal_error_reveals_nothing(
    client: TestClient, viewer: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> None:
        raise RuntimeError("secret detail /srv/provscan.db password=hunter2")

    monkeypatch.setattr(client.app.state.store, "dashboard", broken)  # type: ignore[attr-defined]
    response = client.get("/api/v1/summary", headers=viewer)
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error"}
    assert response.headers["content-security-policy"]


def test_dashboard_numbers_are_the_databases(
    client: TestClient, viewer: dict[str, str], store_url: str
) -> None:
    numbers = client.get("/api/v1/summary", headers=viewer).json()
    with open_store(store_url) as store:
        devices = store.inventory()
        cases = store.cases(status="active")
    assert numbers["devices"] == len(devices)
    assert numbers["restricted"] == sum(d.restricted for d in devices)
    assert numbers["open_cases"] == len(cases)
    assert numbers["knowledge"]["version"]
    # the console's jurisdiction table and trend, from the same store
    with open_store(store_url) as store:
        jurisdictions = store.restricted_by_jurisdiction()
        points, _ = store.trend()
    assert numbers["restricted_by_jurisdiction"] == jurisdictions
    assert [point["scan_id"] for point in numbers["trend"]] == [p.scan_id for p in points]
    assert numbers["trend"][-1]["restricted"] == numbers["restricted"]


def test_policies_and_knowledge_status(client: TestClient, viewer: dict[str, str]) -> None:
    policies = client.get("/api/v1/policies", headers=viewer).json()["policies"]
    assert policies and all(p["id"] and p["measures"] for p in policies)
    status = client.get("/api/v1/knowledge", headers=viewer).json()
    assert status["version"] and "path" not in status
    assert str(Path.home()) not in json.dumps(status)

"""The console pages at work: devices (filters, order, pages, export), a device and its
case form, the cases board, scans with their progress, screening, users, the audit log and
the password form; device text inert on every page."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pagetools import (
    accessibility_problems,
    form_token,
    inline,
    page_log_in,
    scripts,
    table_rows,
)
from sqlalchemy import create_engine, update
from webtools import GOLDEN, HOSTILE, PASSWORD, TestClient

from provscan.errors import StoreRequestError
from provscan.lab.server import Lab
from provscan.report.contract import from_contract
from provscan.store.db import normalise_db_arg, open_store
from provscan.store.inventory import coverage_ranges
from provscan.store.models import CaseRow
from provscan.web import pages
from provscan.web.app import create_app

ESCAPED = "&lt;script&gt;alert(&#34;pwn&#34;)&lt;/script&gt;"


def _get(client: TestClient, url: str) -> str:
    response = client.get(url, follow_redirects=False)
    assert response.status_code == 200, (url, response.status_code, response.text[:300])
    return response.text


def _audit(store_url: str, action: str) -> list[dict[str, Any]]:
    with open_store(store_url) as store:
        return [e for e in store.accounts().audit_log(1000) if e["action"] == action]


# --- hostile text ------------------------------------------------------------------------


def test_device_text_and_user_text_render_inert_on_every_page(
    client: TestClient, store_url: str
) -> None:
    # Given a hostile model, host name and firmware in the store, and markup typed into a
    # case's owner and note by an analyst
    assert accessibility_problems(client.get("/login").text) == []
    token = page_log_in(client, "analyst")
    update = {"csrf_token": token, "owner": HOSTILE, "note": HOSTILE, "status": "planned"}
    assert client.post("/cases/1", data=update, follow_redirects=False).status_code == 303
    client.cookies.clear()
    page_log_in(client, "admin")
    device_ids = [d["device_id"] for d in client.get("/api/v1/devices").json()["devices"]]
    urls = [
        path
        for (method, path), _ in pages.PAGE_ROLES.items()
        if method == "GET" and "{" not in path and path not in ("/devices/export",)
    ]
    urls += [f"/devices/{device_id}" for device_id in device_ids]
    urls += [
        f"/devices?q={HOSTILE}",
        f"/devices?site={HOSTILE}&maker={HOSTILE}",
        "/cases?state=planned",
    ]
    for url in urls:
        response = client.get(url, follow_redirects=False)
        # a site no scan named is refused (404, the name it was given shown as text)
        assert response.status_code == (404 if url.startswith("/devices?site=") else 200), url
        html = response.text
        # When each page is rendered, Then the markup is text: escaped, never live
        assert HOSTILE not in html, url
        assert "<script>alert" not in html and "<img src=x" not in html, url
        assert inline(html) == [], url
        assert set(scripts(html)) <= {"/static/console.js"}, url
        # and every page is usable without sight: labelled controls, captioned tables
        assert accessibility_problems(html) == [], url
    device_html = "".join(_get(client, f"/devices/{d}") for d in device_ids)
    assert ESCAPED in device_html  # the hostile firmware and model are shown, as text
    assert ESCAPED in _get(client, "/cases?state=planned")  # the owner
    assert "&lt;script&gt;alert(" in _get(client, "/audit")  # the note, in the detail


def test_the_script_is_local_and_writes_text_only(client: TestClient) -> None:
    response = client.get("/static/console.js")
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert "innerHTML" not in response.text and "eval(" not in response.text
    assert "textContent" in response.text


# --- devices -----------------------------------------------------------------------------


@pytest.fixture
def many_url(tmp_path: Path) -> str:
    """A store of 60 devices at two sites, four makers, every fifth one restricted."""
    url = normalise_db_arg(str(tmp_path / "many.db"))
    raw = from_contract(GOLDEN.read_text(encoding="utf-8")).model_dump(mode="json")
    template = raw["devices"][1]  # not restricted
    restricted = raw["devices"][0]
    makers = ["Axis", "Bosch", "Hanwha", "Dahua"]
    for site, offset in (("north", 0), ("south", 30)):
        devices = []
        for index in range(30):
            number = offset + index
            source = restricted if number % 5 == 0 else template
            device = json.loads(json.dumps(source))
            device["ip"] = f"192.0.2.{100 + number}"
            device["mac"] = f"00:40:8c:00:00:{number:02x}"
            device["serial"] = f"SN{number:04d}"
            device["hostname"] = f"host-{number}"
            if number % 5:
                device["manufacturer"] = makers[number % 4]
            devices.append(device)
        raw["devices"] = devices
        raw["scan"]["devices_found"] = raw["scan"]["hosts_responding"] = len(devices)
        raw["scan"]["hosts_scanned"] = 256
        raw["scan"]["restricted_count"] = sum(d["restricted"] for d in devices)
        raw["scan"]["id"] = f"20260103T12000{offset // 30}Z-{site}"
        with open_store(url) as store:
            store.save_document(
                from_contract(raw), site=site, coverage=coverage_ranges(["192.0.2.0/24"])
            )
    with open_store(url) as store:
        store.accounts().add_user("viewer", "viewer", PASSWORD, actor="test", address="cli")
    return url


@pytest.fixture
def many(many_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(many_url), raise_server_exceptions=False) as test_client:
        page_log_in(test_client, "viewer")
        yield test_client


def _rows(html: str) -> list[str]:
    """The addresses of a devices page, in order."""
    import re

    return re.findall(r'<td><a href="/devices/dev-[0-9a-f]+">([0-9.]+)</a></td>', html)


def _next(html: str) -> str | None:
    import re

    found = re.search(r'<a id="next-page" href="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def _walk(client: TestClient, url: str) -> list[str]:
    seen: list[str] = []
    next_url: str | None = url
    while next_url:
        html = _get(client, next_url)
        seen += _rows(html)
        next_url = _next(html)
    return seen


def test_devices_come_a_page_at_a_time_in_every_order(many: TestClient) -> None:
    every = _walk(many, "/devices?limit=25")
    assert len(every) == 60 and len(set(every)) == 60
    # sorted by site (north first), then address
    assert every[:2] == ["192.0.2.100", "192.0.2.101"] and every[30] == "192.0.2.130"
    for order in ("maker", "-maker", "ip", "-ip", "model", "status", "-site"):
        walked = _walk(many, f"/devices?limit=25&sort={order}")
        assert sorted(walked) == sorted(every), order
        if order == "-ip":
            assert walked == sorted(every, key=lambda ip: [int(p) for p in ip.split(".")])[::-1]
    # the makers come out in order (a missing maker first)
    rows = table_rows(_get(many, "/devices?limit=250&sort=-maker"), "devices-table")
    makers = [row[4] for row in rows]
    assert makers == sorted(makers, reverse=True) and len(makers) == 60
    # a cursor from another order is refused, not misread
    first = _get(many, "/devices?limit=25&sort=maker")
    cursor_url = _next(first)
    assert cursor_url is not None
    mixed = many.get(cursor_url.replace("sort=maker", "sort=model"))
    assert mixed.status_code == 400 and "not a cursor" in mixed.text


def test_devices_filter_and_search(many: TestClient) -> None:
    restricted = _walk(many, "/devices?restricted=yes&limit=25")
    assert len(restricted) == 12
    north_axis = _walk(many, "/devices?site=north&maker=Axis")
    assert north_axis and all(int(ip.rsplit(".", 1)[1]) < 130 for ip in north_axis)
    api = many.get("/api/v1/devices?site=north&limit=1000").json()["devices"]
    assert set(north_axis) == {d["ip"] for d in api if d["manufacturer"] == "Axis"}
    assert _walk(many, "/devices?q=SN0042") == ["192.0.2.142"]
    assert _walk(many, "/devices?q=%25") == []  # a LIKE wildcard is searched as text
    none = _get(many, "/devices?status=gone")
    assert "No device matches." in none
    # the filter form shows the choices the inventory holds, each with its label
    html = _get(many, "/devices")
    for label in ("q", "site", "maker", "verdict", "status", "limit"):
        assert f'<label for="{label}">' in html and f'id="{label}"' in html
    assert '<option value="north">' in html and '<option value="Hanwha">' in html


def test_devices_export_every_match(many: TestClient) -> None:
    html = _get(many, "/devices?restricted=no&site=south&limit=25")
    assert 'id="export-csv"' in html
    export = many.get("/devices/export?restricted=no&site=south&format=csv")
    assert export.status_code == 200
    assert export.headers["content-disposition"] == 'attachment; filename="provscan-devices.csv"'
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert len(rows) == 24  # all of them, not one page
    assert {row["site"] for row in rows} == {"south"}
    as_json = many.get("/devices/export?restricted=no&site=south&format=json").json()
    assert {d["ip"] for d in as_json["devices"]} == {row["ip"] for row in rows}
    assert as_json["next"] is None
    assert many.get("/devices/export?format=exe").status_code == 400


# --- a device and its cases --------------------------------------------------------------


def _restricted_device(client: TestClient) -> str:
    devices = client.get("/api/v1/devices?restricted=true").json()["devices"]
    found: str = devices[0]["device_id"]
    return found


def test_the_device_page_shows_identity_evidence_findings_posture_and_cases(
    client: TestClient,
) -> None:
    page_log_in(client, "viewer")
    html = _get(client, f"/devices/{_restricted_device(client)}")
    for expected in (
        "Dahua",
        "Amcrest",
        "oem_relabel",
        "amcrest.http.digest_realm",  # the rule behind the evidence
        "Pub. L. 115-232 s.889(a)(1)(A); FAR 52.204-25",  # the citation
        "procurement-ban",  # the finding's effect
        "CVE-2020-5735",
        "rtsp_unauthenticated",
        'id="case-1"',
        "History of case 1",
    ):
        assert expected in html, expected
    for table in ("evidence", "findings", "vulnerabilities", "exposure", "remediation"):
        assert f'<table id="{table}">' in html
    # a viewer reads the case and gets no form to change it
    assert 'action="/cases/1"' not in html
    assert "needs the analyst role" in html
    assert client.get("/devices/dev-000000000000").status_code == 404


def test_an_analyst_updates_a_case_and_the_change_is_audited(
    client: TestClient, store_url: str
) -> None:
    token = page_log_in(client, "analyst")
    device_id = _restricted_device(client)
    html = _get(client, f"/devices/{device_id}")
    for field in ("status", "owner", "due", "note"):
        assert f'<label for="case-1-{field}">' in html
    assert ">Update case 1</button>" in html
    change = {
        "csrf_token": token,
        "status": "planned",
        "owner": "facilities",
        "due": "2027-01-31",
        "note": "replacement ordered",
    }
    response = client.post("/cases/1", data=change, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/devices/{device_id}?done=case#case-1"
    after = _get(client, response.headers["location"])
    assert "The case was updated." in after and "replacement ordered" in after
    case = client.get("/api/v1/cases/1").json()
    assert (case["status"], case["owner"], case["due"]) == ("planned", "facilities", "2027-01-31")
    assert case["history"][-1]["actor"] == "analyst"
    entries = _audit(store_url, "case.update")
    assert len(entries) == 1 and entries[0]["actor"] == "analyst"
    assert entries[0]["target"] == "1" and entries[0]["detail"]["owner"] == "facilities"
    # a refused change (a bad date) changes nothing and is not audited
    bad = client.post("/cases/1", data={**change, "due": "31/01/2027"})
    assert bad.status_code == 400 and "due date must be YYYY-MM-DD" in bad.text
    assert client.get("/api/v1/cases/1").json()["due"] == "2027-01-31"
    assert len(_audit(store_url, "case.update")) == 1
    assert client.post("/cases/999", data=change).status_code == 404


def test_a_viewer_cannot_update_a_case(client: TestClient, store_url: str) -> None:
    token = page_log_in(client, "viewer")
    change = {"csrf_token": token, "status": "removed", "owner": "mallory"}
    assert client.post("/cases/1", data=change, follow_redirects=False).status_code == 403
    case = client.get("/api/v1/cases/1").json()
    assert (case["status"], case["owner"]) == ("open", None)
    assert _audit(store_url, "case.update") == []


def test_a_case_change_and_its_audit_entry_commit_together(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import provscan.store.db as db

    def failing(*args: Any, **kwargs: Any) -> None:
        raise StoreRequestError("the audit log refused the entry")

    monkeypatch.setattr(db, "audit_entry", failing)
    with open_store(store_url) as store:
        # When the audit entry cannot be written, Then the change is not kept either
        with pytest.raises(StoreRequestError):
            store.update_case(1, actor="analyst", owner="facilities", address="127.0.0.1")
        assert store.case(1).owner is None
        # without an address (the CLI's own trail) nothing is audited here
        assert store.update_case(1, actor="cli:x", owner="facilities").owner == "facilities"


def test_the_cases_board_puts_overdue_cases_first(client: TestClient, store_url: str) -> None:
    token = page_log_in(client, "analyst")
    html = _get(client, "/cases")
    for state in ("open", "planned", "mitigated", "removed", "replaced", "verified"):
        assert f'id="state-{state}"' in html
    # a case opened in 2019 (the console refuses a due date before the opening)
    engine = create_engine(store_url)
    with engine.begin() as connection:
        connection.execute(
            update(CaseRow)
            .where(CaseRow.id == 1)
            .values(opened_at=datetime(2019, 12, 1, tzinfo=UTC))
        )
    engine.dispose()
    change = {"csrf_token": token, "due": "2020-01-01", "note": "late"}
    assert client.post("/cases/1", data=change, follow_redirects=False).status_code == 303
    board = _get(client, "/cases")
    assert "1 overdue" in board and "overdue-badge" in board
    column = _get(client, "/cases?state=open")
    assert 'href="/devices/' in column and "#case-1" in column


# --- scans -------------------------------------------------------------------------------


def test_an_analyst_starts_a_scan_and_watches_it(client: TestClient, lab: Lab) -> None:
    token = page_log_in(client, "analyst")
    devices = [d for d in lab.devices if not d.expect.hostile and d.expect.manufacturer][:2]
    ports = sorted({s.port for d in devices for s in d.services})
    html = _get(client, "/scans")
    assert '<label for="targets">' in html and ">Start scan</button>" in html
    refused = client.post("/scans", data={"csrf_token": token, "targets": "8.8.8.8"})
    assert refused.status_code == 400 and "public" in refused.text
    assert "8.8.8.8" in refused.text  # the form keeps what was typed
    asked = {
        "csrf_token": token,
        "targets": "\n".join(d.address for d in devices),
        "ports": ", ".join(str(p) for p in ports),
        "site": "lab",
    }
    # a site nothing names yet is refused (a misspelt site would split the inventory) unless
    # the person says it is a new one
    unknown = client.post("/scans", data=asked, follow_redirects=False)
    assert unknown.status_code == 404 and "tick &#34;a new site&#34;" in unknown.text
    started = client.post("/scans", data={**asked, "new_site": "1"}, follow_redirects=False)
    assert started.status_code == 303, started.text
    job_url = started.headers["location"]
    assert job_url.startswith("/scans/jobs/")
    page = _get(client, job_url)
    assert 'data-events-url="/api/v1/scans/jobs/' in page
    assert scripts(page) == ["/static/console.js"] and inline(page) == []
    job_id = job_url.rsplit("/", 1)[1]
    deadline = time.monotonic() + 60
    while client.get(f"/api/v1/scans/jobs/{job_id}").json()["state"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    done = _get(client, job_url)
    assert 'id="job-scan-id"' in done and "http-equiv" not in done
    assert done.count("<li>host: ") == 2
    assert client.get("/scans/jobs/nope").status_code == 404
    # a viewer sees the scans and no form
    client.cookies.clear()
    page_log_in(client, "viewer")
    viewer_page = _get(client, "/scans")
    assert 'action="/scans"' not in viewer_page and "lab" in viewer_page


def test_a_running_scan_page_refreshes_itself_without_the_script(
    client: TestClient,
) -> None:
    from provscan.web.scans import ScanJob

    page_log_in(client, "viewer")
    job = ScanJob("f" * 32, "analyst", ["127.0.0.1"], None)
    job.add("started", hosts=1)
    client.app.state.scan_jobs.jobs[job.id] = job  # type: ignore[attr-defined]
    html = _get(client, f"/scans/jobs/{job.id}")
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in html
    assert "0 of 1" in html


# --- screening ---------------------------------------------------------------------------


def _csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


LIST = _csv(
    [
        ["Item", "Brand", "Model", "Qty"],
        ["1", "Hikvision", "DS-2CD2143G2-I", "4"],
        ["2", "Axis", "P3245-LVE", "2"],
        ["3", HOSTILE, '=HYPERLINK("http://x")', "1"],
    ]
)


def test_screening_shows_the_rows_and_offers_the_annotated_list(
    client: TestClient, store_url: str
) -> None:
    token = page_log_in(client, "analyst")
    html = _get(client, "/screen")
    assert '<label for="file">' in html and ">Screen the list</button>" in html
    files = {"file": ("list.csv", LIST.encode(), "text/csv")}
    response = client.post("/screen", data={"csrf_token": token}, files=files)
    assert response.status_code == 200, response.text
    page = response.text
    assert "3 rows: 1 restricted, 0 to review, 1 unknown, 1 clear." in page
    assert HOSTILE not in page and ESCAPED in page and inline(page) == []
    import re

    link = re.search(r'id="download-csv" href="([^"]+)"', page)
    assert link is not None
    download = client.get(link.group(1))
    assert download.status_code == 200
    assert download.headers["content-disposition"] == 'attachment; filename="provscan-screened.csv"'
    lines = list(csv.reader(io.StringIO(download.text)))
    assert lines[0][:4] == ["Item", "Brand", "Model", "Qty"] and "restricted" in lines[0]
    assert lines[1][lines[0].index("restricted")] == "yes"
    assert lines[3][2].startswith("'=")  # the formula is guarded in the download
    xlsx = client.get(link.group(1).replace("/csv", "/xlsx"))
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert _audit(store_url, "screen")[0]["detail"] == {"rows": 3}
    # the result is only for who screened it
    client.cookies.clear()
    page_log_in(client, "admin")
    assert client.get(link.group(1)).status_code == 404


def test_screening_refuses_bad_uploads(client: TestClient) -> None:
    token = page_log_in(client, "analyst")
    empty = client.post(
        "/screen", data={"csrf_token": token}, files={"file": ("e.csv", b"", "text/csv")}
    )
    assert empty.status_code == 400 and "empty" in empty.text
    legacy = client.post(
        "/screen",
        data={"csrf_token": token},
        files={"file": ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "x")},
    )
    assert legacy.status_code == 400 and "legacy Excel" in legacy.text
    assert "/tmp" not in legacy.text and "provscan-screen-" not in legacy.text
    huge = client.post(
        "/screen",
        data={"csrf_token": token},
        files={"file": ("big.csv", b"a,b\n" * (2 * 1024 * 1024), "text/csv")},
    )
    assert huge.status_code == 413


# --- users, audit, password --------------------------------------------------------------


def _second_session(store_url: str, name: str, password: str = PASSWORD) -> TestClient:
    other = TestClient(create_app(store_url), raise_server_exceptions=False)
    page_log_in(other, name, password)
    return other


def test_an_admin_adds_a_user_changes_the_role_disables_and_enables(
    client: TestClient, store_url: str
) -> None:
    token = page_log_in(client, "admin")
    html = _get(client, "/users")
    assert '<label for="new-name">' in html and ">Add user</button>" in html
    new = {"csrf_token": token, "name": "carol", "role": "analyst", "password": "x" * 16}
    mismatch = client.post("/users", data={**new, "password2": "y" * 16})
    assert mismatch.status_code == 400 and "differ" in mismatch.text
    added = client.post("/users", data={**new, "password2": "x" * 16}, follow_redirects=False)
    assert added.headers["location"] == "/users?done=user-added"
    users = _get(client, "/users?done=user-added")
    assert "The user was added." in users and ">Change role of carol</button>" in users
    carol = _second_session(store_url, "carol", "x" * 16)
    assert carol.get("/screen", follow_redirects=False).status_code == 200
    # role change: carol is a viewer from her next request
    role = client.post(
        "/users/carol/role", data={"csrf_token": token, "role": "viewer"}, follow_redirects=False
    )
    assert role.status_code == 303
    assert carol.get("/screen", follow_redirects=False).status_code == 403
    # disabled: her session ends and she cannot log in
    off = client.post("/users/carol/disable", data={"csrf_token": token}, follow_redirects=False)
    assert off.status_code == 303
    assert carol.get("/", follow_redirects=False).headers["location"] == "/login"
    login = form_token(carol.get("/login").text)
    refused = carol.post(
        "/login", data={"name": "carol", "password": "x" * 16, "csrf_token": login}
    )
    assert refused.status_code == 401
    assert "disabled" in _get(client, "/users") and ">Enable carol</button>" in _get(
        client, "/users"
    )
    on = client.post("/users/carol/enable", data={"csrf_token": token}, follow_redirects=False)
    assert on.status_code == 303
    page_log_in(carol, "carol", "x" * 16)
    carol.close()
    # the last admin is neither demoted nor disabled
    last = client.post("/users/admin/role", data={"csrf_token": token, "role": "viewer"})
    assert last.status_code == 400 and "last admin" in last.text
    last = client.post("/users/admin/disable", data={"csrf_token": token})
    assert last.status_code == 400 and "last admin" in last.text
    actions = [e["action"] for e in _audit(store_url, "user.add")]
    assert actions == ["user.add", "user.add", "user.add", "user.add"]
    audit = _get(client, "/audit")
    for action in ("user.add", "user.role", "user.disable", "user.enable", "login.disabled"):
        assert f"<td>{action}</td>" in audit, action


def test_the_audit_log_comes_a_page_at_a_time(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pages, "AUDIT_PAGE", 2)
    page_log_in(client, "admin")
    first = _get(client, "/audit")
    assert first.count("<tr><td>") == 2
    import re

    older = re.search(r'<a href="(/audit\?before=\d+)" rel="next">', first)
    assert older is not None
    second = _get(client, older.group(1))
    ids = [int(n) for n in re.findall(r"<tr><td>(\d+)</td>", first + second)]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 4


def test_a_user_changes_their_own_password(client: TestClient, store_url: str) -> None:
    token = page_log_in(client, "viewer")
    other = _second_session(store_url, "viewer")
    html = _get(client, "/account/password")
    for field in ("old", "new", "new2"):
        assert f'<label for="{field}">' in html
    new = "a brand new passphrase"
    wrong = client.post(
        "/account/password", data={"csrf_token": token, "old": "nope", "new": new, "new2": new}
    )
    assert wrong.status_code == 400 and "current password is wrong" in wrong.text
    assert _audit(store_url, "password.failed")[0]["actor"] == "viewer"
    short = client.post(
        "/account/password",
        data={"csrf_token": token, "old": PASSWORD, "new": "short", "new2": "short"},
    )
    assert short.status_code == 400 and "at least 12" in short.text
    changed = client.post(
        "/account/password",
        data={"csrf_token": token, "old": PASSWORD, "new": new, "new2": new},
        follow_redirects=False,
    )
    assert changed.headers["location"] == "/account/password?done=password"
    # this session goes on; the other one ended; the old password is gone
    assert client.get("/", follow_redirects=False).status_code == 200
    assert other.get("/", follow_redirects=False).status_code == 303
    other.close()
    fresh = TestClient(create_app(store_url), raise_server_exceptions=False)
    login = form_token(fresh.get("/login").text)
    old = fresh.post("/login", data={"name": "viewer", "password": PASSWORD, "csrf_token": login})
    assert old.status_code == 401
    page_log_in(fresh, "viewer", new)
    fresh.close()
    assert [e["actor"] for e in _audit(store_url, "password.change")] == ["viewer"]


def test_reports_are_downloads(client: TestClient) -> None:
    page_log_in(client, "viewer")
    html = _get(client, "/reports")
    assert 'href="/api/v1/reports/html"' in html and 'href="/api/v1/reports/pdf"' in html
    report = client.get("/api/v1/reports/html")
    assert report.status_code == 200
    assert report.headers["content-disposition"].startswith("attachment")

"""A page per stored scan (summary, notes, devices), reached from the dashboard and the scans
page, and the comparison of two scans; device text inert on both."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

from pagetools import accessibility_problems, inline, page_log_in, table_rows
from webtools import HOSTILE, PASSWORD, TestClient

from provscan.store.db import normalise_db_arg, open_store
from provscan.web.app import create_app

OLD, NEW = "20260101T120000Z-3f2a", "20260102T120000Z-beef"  # webtools.fill
ESCAPED = "&lt;script&gt;alert(&#34;pwn&#34;)&lt;/script&gt;"


def _get(client: TestClient, url: str) -> str:
    response = client.get(url, follow_redirects=False)
    assert response.status_code == 200, (url, response.status_code, response.text[:300])
    html = response.text
    assert HOSTILE not in html and "<script>alert" not in html, url
    assert inline(html) == [] and accessibility_problems(html) == [], url
    return html


def test_a_stored_scan_has_its_own_page(client: TestClient, store_url: str) -> None:
    page_log_in(client, "viewer")
    # reached from the dashboard and from the scans page
    for start in ("/", "/scans"):
        assert f'href="/scans/{NEW}"' in _get(client, start), start
    html = _get(client, f"/scans/{NEW}")
    with open_store(store_url) as store:
        summary = store.scan_summary(NEW)
        document = store.load(NEW)
        sighted = store.sightings(NEW)
    facts = dict(re.findall(r"<dt>([^<]+)</dt><dd[^>]*>([^<]*)</dd>", html))
    assert facts["Kind"] == summary.kind and facts["Targets"] == "192.0.2.0/28"
    assert facts["Devices"] == str(summary.devices) and facts["Restricted"] == str(
        summary.restricted
    )
    assert facts["Proves absence in"] == "192.0.2.0–192.0.2.15"  # addresses, not index keys
    assert facts["Complete"] == "yes"
    for note in document.scan.notes:
        assert f"<li>{note}</li>" in html
    rows = table_rows(html, "scan-devices-table")
    assert [row[0] for row in rows] == [device.ip for device in document.devices]
    # each device links to its inventory page, which answers
    for device_id, _ in sighted.values():
        assert f'href="/devices/{device_id}"' in html
        assert client.get(f"/devices/{device_id}").status_code == 200
    assert ESCAPED in html  # the hostile model and host name, as text
    # links to compare it, and to its JSON
    assert f'href="/diff?new={NEW}"' in html and f'href="/api/v1/scans/{NEW}"' in html
    # a unique prefix is enough (as on the command line); no such scan is 404
    assert client.get(f"/scans/{NEW[:12]}").status_code == 200
    missing = client.get("/scans/20991231T000000Z-none")
    assert missing.status_code == 404 and "web.db" not in missing.text
    hostile = client.get(f"/scans/{quote(HOSTILE, safe='')}")
    assert hostile.status_code == 404 and HOSTILE not in hostile.text


def test_two_scans_compared(client: TestClient, store_url: str) -> None:
    page_log_in(client, "viewer")
    # by default the newest two whose scopes overlap
    html = _get(client, "/diff")
    with open_store(store_url) as store:
        expected = store.diff(OLD, NEW)
    summary = re.search(r'<p id="diff-summary">(.*?)</p>', html, re.S)
    assert summary is not None
    text = re.sub(r"<[^>]+>", "", summary.group(1))
    assert f"From {OLD} to {NEW}" in text
    assert f"{len(expected.changed)} changed" in text and "0 added" in text
    changed = table_rows(html, "diff-changed")
    assert [row[0] for row in changed] == [c["device"]["ip"] for c in expected.changed]
    # every change is listed by field, before → after, as text
    for row, change in zip(changed, expected.changed, strict=True):
        for name in change["changes"]:
            assert f"{name}: " in row[2]
    assert ESCAPED in html
    # the choices hold both scans, the pair shown is selected
    assert f'<option value="{OLD}" selected>' in html and f'<option value="{NEW}" selected>' in html
    # named explicitly, either order of arguments gives the same page
    same = _get(client, f"/diff?old={OLD}&new={NEW}")
    assert table_rows(same, "diff-changed") == changed
    # the reverse direction reverses the changes
    back = _get(client, f"/diff?old={NEW}&new={OLD}")
    assert "From" in back and table_rows(back, "diff-changed")[0][0] == changed[0][0]
    # a scan that does not exist is a 400 with the form still there, and nothing echoed raw
    bad = client.get(f"/diff?old={quote(HOSTILE)}&new={NEW}")
    assert bad.status_code == 400 and 'id="old"' in bad.text and HOSTILE not in bad.text
    assert "web.db" not in bad.text and "diff-changed" not in bad.text


def test_without_two_overlapping_scans_the_diff_page_explains(tmp_path: Path) -> None:
    url = normalise_db_arg(str(tmp_path / "empty.db"))
    with open_store(url) as store:
        store.accounts().add_user("viewer", "viewer", PASSWORD, actor="test", address="cli")
    with TestClient(create_app(url), raise_server_exceptions=False) as client:
        page_log_in(client, "viewer")
        html = _get(client, "/diff")
        assert "no two scans whose scopes overlap" in html
        assert "empty.db" not in html
        assert "No scan is stored yet." in _get(client, "/")


def test_values_the_newer_scan_did_not_read_are_said_not_counted(tmp_path: Path) -> None:
    from webtools import GOLDEN

    from provscan.report.contract import from_contract
    from provscan.store.inventory import coverage_ranges

    # Given two scans of the same devices, the newer one reading no firmware and no model of
    # the restricted camera
    first = from_contract(GOLDEN.read_text(encoding="utf-8"))
    raw = first.model_dump(mode="json")
    raw["scan"]["id"], raw["scan"]["started_at"] = NEW, "2026-01-02T12:00:00Z"
    raw["scan"]["finished_at"] = "2026-01-02T12:05:00Z"
    camera = next(d for d in raw["devices"] if d["restricted"])
    camera["firmware"] = camera["model"] = None
    camera["vulnerabilities"] = []
    url = normalise_db_arg(str(tmp_path / "diff.db"))
    with open_store(url) as store:
        for document in (first, from_contract(raw)):
            store.save_document(document, coverage=coverage_ranges(["192.0.2.0/28"]))
        store.accounts().add_user("viewer", "viewer", PASSWORD, actor="test", address="cli")
        expected = store.diff(first.scan.id, NEW)
    (unread,) = expected.not_read
    assert {"firmware", "model", "vulnerabilities"} <= set(unread["fields"])
    with TestClient(create_app(url), raise_server_exceptions=False) as client:
        page_log_in(client, "viewer")
        html = _get(client, "/diff")
    summary = re.search(r'<p id="diff-summary">(.*?)</p>', html, re.S)
    assert summary is not None
    text = " ".join(re.sub(r"<[^>]+>", "", summary.group(1)).split())
    # Then nothing changed, and the page says what was not read
    assert "0 changed" in text and expected.changed == ()
    assert (
        f"1 seen by the newer scan without values the older read "
        f"({', '.join(sorted(unread['fields']))}): not read, not counted as changes"
    ) in text

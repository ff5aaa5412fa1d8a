"""``GET /api/v1/devices/{id}``, the compliance report's device pages and the tickets of
``provscan cases export`` show the evidence a device's verdict comes from: the newest
sighting that identified it (docs/inventory.md), as the console's device page and ``explain
--db`` do, not a newer sighting that identified nothing (an asset register's record of its
address and host name), and say which sighting that is.

Before: all three read ``Store.device()``, the newest sighting's document: a restricted
device the register listed showed no evidence, no restricting measure and no remediation
under a verdict of restricted. The lab capture analysed by ``provscan pcap`` and a CSV
register by ``provscan import`` into a real SQLite store, as a user runs them; the real
console, the real report renderer and the real export over that store."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest
from test_verdict_sighting_evidence import _json, _ok, capture_then_register
from webtools import PASSWORD, TestClient, log_in

from provscan.compliance.report import render_report
from provscan.model import finding_restricts
from provscan.store.db import normalise_db_arg, open_store
from provscan.web.app import create_app


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The lab capture stored at site lab, then an import of an asset register listing two
    of its restricted devices by address and host name only (it identifies nothing)."""
    db, restricted, register = capture_then_register(
        tmp_path_factory.mktemp("sighting-everywhere"), 2
    )
    senders = restricted[:2]
    newest, first = _json("scans", "--db", db, "--all")["scans"][:2]
    assert newest["kind"] == "import" and first["kind"] == "passive"
    url = normalise_db_arg(db)
    with open_store(url) as opened:
        opened.accounts().add_user("viewer", "viewer", PASSWORD, actor="test", address="cli")
        loaded = {scan: opened.load(scan) for scan in (first["id"], newest["id"])}
    after = {d["ip"]: d for d in _json("inventory", "--db", db)["devices"]}
    documents = {
        scan: {d.ip: d.model_dump(mode="json") for d in document.devices}
        for scan, document in loaded.items()
    }
    return {
        "db": db,
        "url": url,
        "first": first,
        "newer": newest,
        "senders": senders,
        "after": after,
        "documents": documents,
        "register": register,
    }


def _identifying(store: dict[str, Any], ip: str) -> dict[str, Any]:
    """The device's document in the capture (the sighting that identified it)."""
    document: dict[str, Any] = store["documents"][store["first"]["id"]][ip]
    return document


def test_the_api_device_answer_is_the_sighting_the_verdict_comes_from(
    store: dict[str, Any],
) -> None:
    ip = store["senders"][0]
    device = store["after"][ip]
    first, newer = store["first"], store["newer"]
    # Given a restricted device whose newest sighting (the register's import) identified
    # nothing
    assert device["last_scan_id"] == newer["id"] and device["verdict"] == "restricted"
    unidentified = store["documents"][newer["id"]][ip]
    assert unidentified["evidence"] == [] or not any(
        e.get("rule_id") for e in unidentified["evidence"]
    )
    with TestClient(create_app(store["url"]), raise_server_exceptions=False) as client:
        log_in(client, "viewer")
        answer = client.get(f"/api/v1/devices/{device['device_id']}")
        assert answer.status_code == 200
        detail = answer.json()
        # Then its document is the capture's: the evidence and the findings the verdict
        # was made of
        identifying = _identifying(store, ip)
        assert detail["document"]["evidence"] == identifying["evidence"] != []
        assert [f for f in detail["document"]["findings"] if finding_restricts(f)]
        # and it says which sighting that is, and the newer one that identified nothing
        assert detail["sighting"]["scan_id"] == first["id"]
        assert detail["sighting"]["kind"] == "passive"
        said = detail["newer_sighting"]
        assert said["scan_id"] == newer["id"] and said["kind"] == "import"
        assert said["targets"] == newer["targets"] and said["unidentified"] == 1
        assert datetime.fromisoformat(said["started_at"]) == datetime.fromisoformat(
            newer["started_at"]
        )
        # a device the register did not list: its newest sighting, no newer one
        other = next(
            d
            for ip_, d in store["after"].items()
            if d["verdict"] == "restricted" and ip_ not in store["senders"]
        )
        plain = client.get(f"/api/v1/devices/{other['device_id']}").json()
        assert plain["sighting"]["scan_id"] == other["last_scan_id"] == first["id"]
        assert plain["newer_sighting"] is None
        assert plain["document"]["evidence"] == _identifying(store, other["ip"])["evidence"]
        # and the OpenAPI document describes both fields
        schema = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
        assert {"sighting", "newer_sighting"} <= set(schema["DeviceDetail"]["properties"])


def test_the_report_device_page_shows_the_identifying_sighting(store: dict[str, Any]) -> None:
    ip = store["senders"][1]
    device = store["after"][ip]
    first, newer = store["first"], store["newer"]
    with open_store(store["url"]) as opened:
        html = render_report(opened, fmt="html", max_device_pages=500).decode("utf-8")
        markdown = render_report(opened, fmt="md", max_device_pages=500).decode("utf-8")
    start = html.index(f'id="device-{device["device_id"]}"')
    page = html[start : html.index("</article>", start)]
    # the evidence rows are the capture's (the strongest first, as the report shows them)
    identifying = _identifying(store, ip)
    rules = {e["rule_id"] for e in identifying["evidence"] if e.get("rule_id")}
    shown = set(
        part.split("</code>", 1)[0].replace("<wbr>", "") for part in page.split("<td><code>")[1:]
    )
    assert rules and rules & shown
    assert "No evidence recorded." not in page
    assert "No applied measure restricts this device." not in page
    # and the page says where they are from, and that the newer sighting identified nothing
    said = " ".join(page.split('class="small evidence-from">', 1)[1].split("</p>", 1)[0].split())
    assert f"From scan <code>{first['id'][:12]}</code>" in said
    assert "A newer sighting identified nothing: import" in said
    assert str(store["register"]) in said and newer["id"][:12] in said
    started = datetime.fromisoformat(newer["started_at"]).astimezone(UTC)
    assert f"{started:%Y-%m-%d %H:%M} UTC" in said
    assert f"GET /api/v1/scans/{first['id'][:12]}" in page or len(identifying["evidence"]) <= 12
    # the Markdown report says the same of the device
    section = markdown.split(f"### {ip} ", 1)[1].split("\n### ", 1)[0]
    assert "A newer sighting identified nothing: import" in section
    assert "No evidence recorded." not in section


def test_the_tickets_carry_the_identifying_evidence(store: dict[str, Any]) -> None:
    ip = store["senders"][0]
    device = store["after"][ip]
    first, newer = store["first"], store["newer"]
    exported = _json("cases", "export", "--db", store["db"])
    tickets = [t for t in exported["tickets"] if t["device"]["device_id"] == device["device_id"]]
    assert tickets
    ticket = next(t for t in tickets if t["case"]["subject"] == "restricted")
    identifying = _identifying(store, ip)
    expected = {e["rule_id"] for e in identifying["evidence"] if e.get("rule_id")}
    assert ticket["evidence"] and {e["rule_id"] for e in ticket["evidence"]} <= expected
    assert ticket["binding_measure"] is not None and ticket["measures"]
    assert ticket["evidence_from"]["scan_id"] == first["id"]
    assert ticket["newer_sighting"]["scan_id"] == newer["id"]
    assert f"Evidence from scan {first['id']}" in ticket["description"]
    assert "a newer sighting identified nothing" in ticket["description"]
    # the CSV row for the service desk carries the same evidence and measure
    text = _ok("cases", "export", "--db", store["db"], "-f", "csv")
    rows = [r for r in csv.DictReader(io.StringIO(text)) if r["device_id"] == device["device_id"]]
    row = next(r for r in rows if r["subject"] == "restricted")
    assert row["measure"] == ticket["binding_measure"]["measure"]
    assert row["evidence"] == " | ".join(
        f"{e['field']}={e['observed']}" for e in ticket["evidence"]
    )
    # a device the register did not list keeps its own newest sighting, no newer one
    others = [t for t in exported["tickets"] if t["device"]["ip"] not in store["senders"]]
    assert others and all(t["newer_sighting"] is None for t in others)
    assert all(t["evidence_from"]["scan_id"] == first["id"] for t in others)

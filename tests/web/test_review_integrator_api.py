"""An integrator's review of the API and the alerts: every path that stores a scan (or a
person's case change) delivers its events, a misspelt site is refused, CEF policies are the
binding ones, NUL and deeply nested input are refused, repeated filters too, the OpenAPI
document says what is sent. Real stores (SQLite files, PostgreSQL), the real app, real files
for the alert sink, the session lab on loopback."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from webtools import GOLDEN, TestClient, fill

from provscan.alerts.formats import cef_body, json_body
from provscan.lab.server import Lab
from provscan.report.contract import from_contract
from provscan.store.db import normalise_db_arg, open_store
from provscan.store.inventory import coverage_ranges
from provscan.web.app import create_app

Headers = Callable[[str], dict[str, str]]


def _file_sink(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config file with one file sink (a real file), named by PROVSCAN_CONFIG."""
    events = tmp_path / "sink" / "events.jsonl"
    events.parent.mkdir()
    config = tmp_path / "config.toml"
    config.write_text(f'[[alerts.file]]\nname = "shipper"\npath = "{events}"\n', encoding="utf-8")
    monkeypatch.setenv("PROVSCAN_CONFIG", str(config))
    return events


def _delivered(path: Path, want: Callable[[list[dict[str, Any]]], bool]) -> list[dict[str, Any]]:
    """The events in the sink file once ``want`` holds of them (delivery is in the
    background: waited for, at most 20 s)."""
    deadline = time.monotonic() + 20
    while True:
        found = (
            [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
            if path.exists()
            else []
        )
        if want(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def _wait_job(client: TestClient, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state: dict[str, Any] = client.get(f"/api/v1/scans/jobs/{job_id}", headers=headers).json()
        if state["state"] != "running":
            return state
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still running")


# --- 1. every stored scan delivers its events ----------------------------------------------


def test_a_scan_started_from_the_api_sends_its_events_to_the_sinks(
    store_url: str, token_for: Headers, lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink = _file_sink(tmp_path, monkeypatch)
    devices = [d for d in lab.devices if d.expect.restricted and not d.expect.hostile][:2]
    assert devices, "the session lab has restricted devices"
    body = {
        "targets": [d.address for d in devices],
        "ports": sorted({s.port for d in devices for s in d.services}),
        "site": "lab-alerts",
        "new_site": True,  # a site nothing names yet, said so
    }
    with TestClient(create_app(store_url), raise_server_exceptions=False) as client:
        analyst = token_for("analyst")
        started = client.post("/api/v1/scans", json=body, headers=analyst)
        assert started.status_code == 202, started.text
        state = _wait_job(client, started.json()["id"], analyst)
        assert state["state"] == "done", state
        events = _delivered(
            sink, lambda found: any(e["scan_id"] == state["scan_id"] for e in found)
        )
    mine = [e for e in events if e["scan_id"] == state["scan_id"]]
    assert {e["device"]["ip"] for e in mine if e["kind"] == "device.restricted"} == {
        d.address for d in devices
    }
    assert all(e["device"]["site"] == "lab-alerts" for e in mine)
    # nothing left pending for the sink: delivered, not only written
    with open_store(store_url) as store:
        assert store.pending_events("shipper", 1000) == []


def test_a_case_change_by_a_person_is_an_event_that_waits_while_the_sink_is_down(
    client: TestClient, token_for: Headers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink = _file_sink(tmp_path, monkeypatch)
    analyst = token_for("analyst")
    case = client.get("/api/v1/cases", headers=analyst).json()["cases"][0]
    # the sink is down (its directory is gone): the change is made, the event waits
    sink.parent.rename(tmp_path / "away")
    changed = client.patch(
        f"/api/v1/cases/{case['id']}", json={"status": "planned", "owner": "dana"}, headers=analyst
    )
    assert changed.status_code == 200, changed.text
    client.app.state.alerts.wait_idle(10)  # type: ignore[attr-defined]
    assert not sink.exists()
    (tmp_path / "away").rename(sink.parent)
    # the next change delivers both, in order: nothing lost
    cleared = client.patch(f"/api/v1/cases/{case['id']}", json={"owner": ""}, headers=analyst)
    assert cleared.status_code == 200 and cleared.json()["owner"] is None, cleared.text
    events = _delivered(sink, lambda found: sum(e["kind"] == "case.updated" for e in found) >= 2)
    updates = [e for e in events if e["kind"] == "case.updated"]
    assert [u["change"]["changes"] for u in updates] == [
        {"status": ["open", "planned"], "owner": [None, "dana"]},
        {"owner": ["dana", None]},
    ]
    assert {u["change"]["actor"] for u in updates} == {"analyst"}
    assert all(u["case_id"] == case["id"] and u["case"]["id"] == case["id"] for u in updates)


def _golden(scan_id: str) -> dict[str, Any]:
    """The golden scan document under another scan id (as JSON)."""
    raw: dict[str, Any] = from_contract(GOLDEN.read_text(encoding="utf-8")).model_dump(mode="json")
    raw["scan"]["id"] = scan_id
    return raw


def _golden_outcome(job_id: str) -> dict[str, Any]:
    raw = _golden(job_id)
    return {
        "job_id": job_id,
        "status": "done",
        "sensor": "north/s1",
        "document": raw,
        "spans": ["192.0.2.0-192.0.2.15"],
        "excluded": [],
    }


def test_a_result_a_sensor_sends_to_the_central_sends_its_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from provscan.sensors.central import Central, SiteKeys
    from provscan.sensors.messages import key_file_text, load_keys, new_key, seal

    sink = _file_sink(tmp_path, monkeypatch)
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "north.key").write_text(key_file_text(new_key(), "north"), encoding="ascii")
    (keys / "north.key").chmod(0o600)
    job_id = "20260301T120000Z-a1a1"
    with open_store(normalise_db_arg(str(tmp_path / "central.db"))) as store:
        store.fleet().add_job(job_id, "north", ["192.0.2.0/28"], requested_by="a1")
        # no broker needed to ingest (a dead address: nothing connects)
        central = Central(store, "amqp://guest:guest@127.0.0.1:9//", SiteKeys(keys))
        try:
            envelope = seal(
                "outcome", "north", _golden_outcome(job_id), load_keys(keys / "north.key")
            )
            assert central.ingest(envelope) == "done"
            events = _delivered(sink, lambda found: any(e["scan_id"] == job_id for e in found))
        finally:
            central.alerts.stop()
    restricted = [e for e in events if e["kind"] == "device.restricted"]
    assert restricted and all(e["scan_id"] == job_id for e in restricted)
    assert all(e["device"]["site"] == "north" for e in restricted)


# --- 2. a misspelt site ----------------------------------------------------------------------


def test_a_scan_for_a_site_nothing_names_is_refused_unless_new_site(
    store_url: str, token_for: Headers, lab: Lab
) -> None:
    with open_store(store_url) as store:  # a site the store knows
        document = from_contract(_golden("20260301T130000Z-a1b2"))
        store.save_document(document, site="plant-3", coverage=coverage_ranges(["192.0.2.0/28"]))
    device = next(d for d in lab.devices if not d.expect.hostile and d.expect.manufacturer)
    body: dict[str, Any] = {
        "targets": [device.address],
        "ports": [s.port for s in device.services],
        "site": "plant-33",
    }
    with TestClient(create_app(store_url), raise_server_exceptions=False) as client:
        analyst = token_for("analyst")
        refused = client.post("/api/v1/scans", json=body, headers=analyst)
        assert refused.status_code == 404, refused.text
        detail = refused.json()["detail"]
        assert "plant-33" in detail and "known sites: plant-3" in detail and "new_site" in detail
        assert "--" not in detail  # the API's words, not the CLI's
        sites = client.get("/api/v1/sites", headers=analyst).json()["sites"]
        assert "plant-33" not in {site["name"] for site in sites}  # nothing made
        # the same case-sensitivity hint as the filters
        body["site"] = "Plant-3"
        assert (
            "did you mean 'plant-3'"
            in client.post("/api/v1/scans", json=body, headers=analyst).json()["detail"]
        )
        body.update(site="plant-33", new_site=True)
        started = client.post("/api/v1/scans", json=body, headers=analyst)
        assert started.status_code == 202, started.text
        assert _wait_job(client, started.json()["id"], analyst)["state"] == "done"


# --- 3. CEF and JSON bodies: binding policies, brand, measure --------------------------------


def test_cef_lists_only_binding_policies_and_names_the_brand_in_a_labelled_field(
    tmp_path: Path,
) -> None:
    raw = from_contract(GOLDEN.read_text(encoding="utf-8")).model_dump(mode="json")
    device = next(d for d in raw["devices"] if d["restricted"] and len(d["findings"]) >= 2)
    device["brand"] = "Lorex"
    device["findings"][-1]["binding"] = False  # a measure naming it that binds someone else
    binding = list(dict.fromkeys(f["policy"] for f in device["findings"][:-1]))
    other = device["findings"][-1]["policy"]
    with open_store(normalise_db_arg(str(tmp_path / "cef.db"))) as store:
        store.save_document(from_contract(raw), coverage=coverage_ranges(["192.0.2.0/28"]))
        event = next(
            e
            for e in store.pending_events("siem", 1000)
            if e.kind == "device.restricted" and e.payload["device"]["ip"] == device["ip"]
        )
    record = cef_body(event)
    fields = dict(part.split("=", 1) for part in record.split("|", 7)[7].split(" ") if "=" in part)
    assert fields["cs4Label"] == "policies"
    assert fields["cs4"].split(",") == binding
    if other not in binding:
        assert other not in fields["cs4"].split(",")
        assert (fields["flexString2Label"], fields["flexString2"]) == ("otherPolicies", other)
    assert (fields["flexString1Label"], fields["flexString1"]) == ("brand", "Lorex")
    assert "deviceCustomString" not in record
    # the webhook/file body: the same policies, and each finding names its measure
    body = json.loads(json_body(event))
    compact = json.loads(json_body(event, compact=True))  # a large event over UDP
    assert compact["device"]["policies"] == binding
    titles = [f["measure"] for f in device["findings"]]
    assert [f["measure"] for f in body["device"]["findings"]] == titles


def test_cef_of_a_case_change_says_who_changed_what(
    client: TestClient, token_for: Headers, store_url: str
) -> None:
    analyst = token_for("analyst")
    case = client.get("/api/v1/cases", headers=analyst).json()["cases"][0]
    assert (
        client.patch(
            f"/api/v1/cases/{case['id']}", json={"due": "2099-01-01"}, headers=analyst
        ).status_code
        == 200
    )
    with open_store(store_url) as store:
        event = [e for e in store.pending_events("siem", 1000) if e.kind == "case.updated"][-1]
    record = cef_body(event)
    assert record.startswith("CEF:0|provscan|provscan|") and "|1006|" in record
    assert "suser=analyst" in record and "msg=changed: due" in record


# --- 6, 7, 8. NUL, nesting, repeated parameters ------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(
    request: pytest.FixtureRequest, tmp_path: Path, make_postgres_database: Callable[[], str]
) -> Iterator[str]:
    url = (
        normalise_db_arg(str(tmp_path / "nul.db"))
        if request.param == "sqlite"
        else make_postgres_database()
    )
    fill(url)
    yield url


def test_a_nul_character_in_any_text_is_a_400_on_both_stores(any_store: str) -> None:
    with open_store(any_store) as store:
        token = store.accounts().issue_token("analyst", actor="test", address="cli")
    analyst = {"authorization": f"Bearer {token}"}
    with TestClient(create_app(any_store), raise_server_exceptions=False) as client:
        number = client.get("/api/v1/cases", headers=analyst).json()["cases"][0]["id"]
        case = client.get(f"/api/v1/cases/{number}", headers=analyst).json()
        answers = [
            client.get("/api/v1/devices?q=%00", headers=analyst),
            client.get("/api/v1/devices?q=%00zzzz", headers=analyst),
            client.get("/api/v1/scans/%00", headers=analyst),
            client.get("/api/v1/diff?old=%00&new=x", headers=analyst),
            client.patch(f"/api/v1/cases/{case['id']}", json={"note": "a\u0000b"}, headers=analyst),
            client.post("/api/v1/session", json={"name": "admin\u0000", "password": "x"}),
            client.post("/api/v1/lookup", json={"text": "DS-2CD\u0000"}, headers=analyst),
        ]
        for answer in answers:
            assert answer.status_code == 400, (answer.request.url, answer.text)
            assert answer.json() == {
                "detail": "text input must not contain a NUL character (\\u0000 or %00)"
            }
        # an escaped backslash followed by "u0000" is text, not NUL
        kept = client.post("/api/v1/lookup", json={"text": "a\\u0000"}, headers=analyst)
        assert kept.status_code == 200, kept.text
        # the note was not written
        after = client.get(f"/api/v1/cases/{case['id']}", headers=analyst).json()
        assert after["history"] == case["history"]


def test_deeply_nested_json_is_a_400_not_a_500(client: TestClient) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    for path in ("/api/v1/session", "/api/v1/lookup"):
        answer = client.post(path, content=deep, headers={"content-type": "application/json"})
        assert answer.status_code in (400, 401), (path, answer.text)  # lookup: no credentials
    answer = client.post(
        "/api/v1/session", content=deep, headers={"content-type": "application/json"}
    )
    assert answer.json() == {"detail": "the body is not JSON that can be read"}


def test_a_repeated_filter_is_refused_naming_it(client: TestClient, token_for: Headers) -> None:
    viewer = token_for("viewer")
    answer = client.get("/api/v1/devices?verdict=restricted&verdict=clear", headers=viewer)
    assert answer.status_code == 400
    assert "'verdict' given more than once" in answer.json()["detail"]
    assert client.get("/api/v1/cases?limit=1&limit=2", headers=viewer).status_code == 400
    assert client.get("/api/v1/devices?verdict=restricted", headers=viewer).status_code == 200


# --- 9. maker, brand, family ---------------------------------------------------------------------


def test_maker_brand_and_family_match_in_any_case(client: TestClient, token_for: Headers) -> None:
    viewer = token_for("viewer")
    every = client.get("/api/v1/devices", headers=viewer).json()["devices"]
    device = next(d for d in every if d["manufacturer"] and d["brand"] and d["family"])

    def ips(query: str) -> set[str]:
        answer = client.get(f"/api/v1/devices?{query}", headers=viewer)
        assert answer.status_code == 200, answer.text
        return {d["ip"] for d in answer.json()["devices"]}

    made = {d["ip"] for d in every if d["manufacturer"] == device["manufacturer"]}
    assert ips(f"maker={device['manufacturer'].lower()}") == made
    assert ips(f"maker={device['manufacturer'].upper()}") == made
    branded = {d["ip"] for d in every if d["brand"] == device["brand"]}
    assert ips(f"brand={device['brand'].swapcase()}") == branded
    family = {d["ip"] for d in every if d["family"] == device["family"]}
    assert ips(f"family={device['family'].upper()}") == family
    assert ips("maker=NoSuchMaker") == set()  # open-ended: an empty page, not a 404


# --- 4, 10. audit paging, sites, export, words -----------------------------------------------


def test_the_audit_log_pages_with_a_cursor_and_since(
    client: TestClient, token_for: Headers
) -> None:
    admin = token_for("admin")
    for _ in range(3):
        token_for("viewer")  # each issue is audited
    first = client.get("/api/v1/audit?limit=2", headers=admin).json()
    assert len(first["entries"]) == 2 and first["next"]
    second = client.get(f"/api/v1/audit?limit=2&cursor={first['next']}", headers=admin).json()
    assert max(e["id"] for e in second["entries"]) < min(e["id"] for e in first["entries"])
    every = client.get("/api/v1/audit?limit=1000", headers=admin).json()
    assert every["next"] is None
    middle = sorted(every["entries"], key=lambda e: e["id"])[len(every["entries"]) // 2]
    since = client.get(
        "/api/v1/audit", params={"since": middle["at"], "limit": 1000}, headers=admin
    ).json()["entries"]
    assert since and all(e["at"] >= middle["at"] for e in since)
    assert middle["id"] in {e["id"] for e in since}
    assert client.get("/api/v1/audit?cursor=abc", headers=admin).status_code == 400


def test_a_site_without_a_sensor_is_not_silent(store_url: str, token_for: Headers) -> None:
    with open_store(store_url) as store:
        document = from_contract(_golden("20260301T140000Z-a1b3"))
        store.save_document(document, site="branch", coverage=coverage_ranges(["192.0.2.0/28"]))
    with TestClient(create_app(store_url), raise_server_exceptions=False) as client:
        sites = client.get("/api/v1/sites", headers=token_for("viewer")).json()["sites"]
    branch = next(site for site in sites if site["name"] == "branch")
    assert branch["silent"] is None and branch["sensors_state"] == "none"


def test_the_export_answers_a_bearer_token(client: TestClient, token_for: Headers) -> None:
    viewer = token_for("viewer")
    csv = client.get("/api/v1/devices/export?format=csv&restricted=true", headers=viewer)
    assert csv.status_code == 200, csv.text
    assert csv.headers["content-type"].startswith("text/csv")
    restricted = client.get("/api/v1/devices?restricted=true", headers=viewer).json()["devices"]
    lines = csv.text.strip().splitlines()
    assert "policies" in lines[0] and len(lines) == 1 + len(restricted)
    whole = client.get("/api/v1/devices/export?format=json", headers=viewer).json()
    every = client.get("/api/v1/devices?limit=1000", headers=viewer).json()["devices"]
    assert [d["device_id"] for d in whole["devices"]] == [d["device_id"] for d in every]
    assert client.get("/api/v1/devices/export?format=xml", headers=viewer).status_code == 422
    assert client.get("/api/v1/devices/export?site=nowhere", headers=viewer).status_code == 404
    assert client.get("/api/v1/devices/export").status_code == 401


def test_api_messages_name_api_parameters_not_cli_options(
    client: TestClient, token_for: Headers
) -> None:
    analyst = token_for("analyst")
    lookup = client.post(
        "/api/v1/lookup",
        json={"text": "DS-2CD2143G2-I", "acting_as": ["xx:nobody"]},
        headers=analyst,
    )
    assert lookup.status_code == 400
    assert "acting_as" in lookup.json()["detail"] and "--as" not in lookup.json()["detail"]
    site = client.get("/api/v1/devices?site=nowhere", headers=analyst).json()["detail"]
    assert "--site" not in site


# --- 5. the OpenAPI document and what is sent ----------------------------------------------------


def test_the_openapi_document_matches_what_is_sent(client: TestClient, token_for: Headers) -> None:
    viewer = token_for("viewer")
    spec = client.get("/api/v1/openapi.json").json()
    # a 422 is the API's one error shape (one line naming the parameter), as documented
    assert "ValidationError" not in spec["components"]["schemas"]
    problem = spec["paths"]["/api/v1/devices"]["get"]["responses"]["422"]
    assert problem["content"]["application/json"]["schema"]["$ref"].endswith("/Problem")
    answer = client.get("/api/v1/devices?limit=0", headers=viewer)
    assert answer.status_code == 422
    assert answer.json() == {
        "detail": "query parameter 'limit': input should be greater than or equal to 1"
    }
    # enums on the filters
    params = {p["name"]: p["schema"] for p in spec["paths"]["/api/v1/devices"]["get"]["parameters"]}

    def enum(schema: dict[str, Any]) -> list[str]:
        return next(part["enum"] for part in schema.get("anyOf", [schema]) if "enum" in part)

    assert "restricted" in enum(params["verdict"]) and "gone" in enum(params["status"])
    assert {"site", "-site", "maker", "-ip"} <= set(enum(params["sort"]))
    cases = {p["name"]: p["schema"] for p in spec["paths"]["/api/v1/cases"]["get"]["parameters"]}
    assert "active" in enum(cases["status"])
    # a scan (the default kind) requires targets; a pcap job does not
    start = spec["components"]["schemas"]["StartScan"]
    assert start["if"] == {"properties": {"kind": {"const": "scan"}}}
    assert start["then"]["required"] == ["targets"]
    assert start["then"]["properties"]["targets"]["minItems"] == 1
    analyst = token_for("analyst")
    for body in ({}, {"targets": []}):
        answer = client.post("/api/v1/scans", json=body, headers=analyst)
        assert answer.status_code == 400 and "names its targets" in answer.text
    # security schemes, and each operation's
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearer"]["scheme"] == "bearer" and schemes["cookie"]["in"] == "cookie"
    assert spec["paths"]["/api/v1/devices"]["get"]["security"] == [{"bearer": []}, {"cookie": []}]
    patch = spec["paths"]["/api/v1/cases/{case_id}"]["patch"]["security"]
    assert {"cookie": [], "csrf": []} in patch
    assert "security" not in spec["paths"]["/api/v1/session"]["post"]
    # 405 lists every method of the path
    wrong = client.put("/api/v1/session", headers=viewer)
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "DELETE, GET, HEAD, POST"  # HEAD wherever GET is
    assert client.options("/api/v1/cases/1", headers=viewer).headers["allow"] == "GET, HEAD, PATCH"

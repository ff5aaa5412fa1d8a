"""Scans started through the API: scope rules, one at a time, progress as server-sent
events, the result stored. Real scans of the session lab on loopback only."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from webtools import TestClient

from provscan.lab.server import Lab

Headers = Callable[[str], dict[str, str]]


def _events(client: TestClient, url: str, headers: dict[str, str]) -> list[dict[str, object]]:
    found = []
    with client.stream("GET", url, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data: "):
                found.append(json.loads(line.removeprefix("data: ")))
    return found


def test_a_scan_started_by_the_api_streams_its_progress_and_is_stored(
    client: TestClient, token_for: Headers, lab: Lab
) -> None:
    analyst, viewer = token_for("analyst"), token_for("viewer")
    devices = [d for d in lab.devices if not d.expect.hostile and d.expect.manufacturer][:2]
    addresses = [d.address for d in devices]
    ports = sorted({s.port for d in devices for s in d.services})
    assert all(address.startswith("127.") for address in addresses)
    # a viewer may watch but not start
    # "lab" is a site nothing names yet: said so (a misspelt site is refused)
    body = {"targets": addresses, "ports": ports, "site": "lab", "new_site": True}
    assert client.post("/api/v1/scans", json=body, headers=viewer).status_code == 403
    started = client.post("/api/v1/scans", json=body, headers=analyst)
    assert started.status_code == 202, started.text
    job = started.json()
    events = _events(client, job["events_url"], viewer)
    kinds = [event["event"] for event in events]
    assert kinds[0] == "started" and kinds[-1] == "stored", kinds
    hosts = {event["ip"] for event in events if event["event"] == "host"}
    assert hosts == set(addresses)
    scan_id = events[-1]["scan_id"]
    state = client.get(f"/api/v1/scans/jobs/{job['id']}", headers=viewer).json()
    assert (state["state"], state["scan_id"]) == ("done", scan_id)
    # the scan is in the store, at its site, and its devices in the inventory
    stored = client.get(f"/api/v1/scans/{scan_id}", headers=viewer).json()
    assert stored["summary"]["site"] == "lab"
    assert {d["ip"] for d in stored["document"]["devices"]} == set(addresses)
    lab_devices = client.get("/api/v1/devices?site=lab", headers=viewer).json()["devices"]
    assert {d["ip"] for d in lab_devices} == set(addresses)
    audit = client.get("/api/v1/audit", headers=token_for("admin")).json()["entries"]
    assert any(e["action"] == "scan.start" and e["target"] == job["id"] for e in audit)


def test_targets_must_pass_the_scope_rules(client: TestClient, token_for: Headers) -> None:
    analyst = token_for("analyst")
    for targets, reason in (
        # a public address: refused, nothing sent, and no option the console lacks suggested
        (["8.8.8.8"], "only `provscan scan` or `provscan discover` with --allow-public"),
        (["10.0.0.1"], "PROVSCAN_ALLOWED_TARGETS"),  # outside the interlock
        (["192.0.2.2"], ""),  # documentation range / this machine: refused either way
        (["example.com"], "no host names"),  # no DNS from the server
        (["@/etc/passwd"], "no @files"),  # no server files
        (["127.0.0.0/8"], "4096"),  # too many hosts for a web scan
    ):
        response = client.post("/api/v1/scans", json={"targets": targets}, headers=analyst)
        assert response.status_code == 400, (targets, response.text)
        assert reason in response.json()["detail"], response.json()
    assert client.get("/api/v1/scans/jobs/nope", headers=analyst).status_code == 404
    assert client.get("/api/v1/scans/jobs/nope/events", headers=analyst).status_code == 404


def test_one_scan_at_a_time(client: TestClient, token_for: Headers, lab: Lab) -> None:
    analyst = token_for("analyst")
    # ten lab hosts on every default port: long enough to still be running at the second
    addresses = [d.address for d in lab.devices if not d.expect.hostile][:10]
    first = client.post("/api/v1/scans", json={"targets": addresses}, headers=analyst)
    assert first.status_code == 202
    second = client.post("/api/v1/scans", json={"targets": addresses[:1]}, headers=analyst)
    assert second.status_code == 409
    deadline = time.monotonic() + 60
    while (
        client.get(first.json()["events_url"].removesuffix("/events"), headers=analyst).json()[
            "state"
        ]
        == "running"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.2)

"""A Crown corporation's review of the console (items 3 to 5): a path near the scan jobs'
routes gets a 404 naming the right ones, a broker URL is shown as given with only a password
masked, and the dashboard's jurisdiction rows say what their two numbers mean. Real store,
real app, no broker."""

from __future__ import annotations

import copy
import html as html_module
import re
from pathlib import Path
from typing import Any

import pytest
from pagetools import page_log_in
from webtools import GOLDEN, TestClient, fill

from provscan.report.contract import from_contract
from provscan.sensors.broker import shown_url
from provscan.store.db import normalise_db_arg, open_store
from provscan.store.inventory import coverage_ranges
from provscan.web.app import create_app


@pytest.mark.parametrize(
    ("path", "names"),
    [
        ("/api/v1/scans/jobs", "/api/v1/scans/jobs/{job_id}"),
        ("/api/v1/jobs", "/api/v1/sites/{name}/jobs"),
        ("/api/v1/jobs/", "/api/v1/scans/jobs/{job_id}"),
        ("/api/v1/jobs/bb222714", "/api/v1/scans/jobs/bb222714"),
    ],
)
def test_a_near_miss_of_the_jobs_routes_is_a_404_naming_them(
    client: TestClient, token_for: Any, path: str, names: str
) -> None:
    answer = client.get(path, headers=token_for("viewer"))
    assert answer.status_code == 404, answer.text
    detail = answer.json()["detail"]
    assert names in detail, detail
    assert "scan id prefix" not in detail and "no scan 'jobs'" not in detail


def test_other_unknown_paths_and_scans_keep_their_404(client: TestClient, token_for: Any) -> None:
    headers = token_for("viewer")
    assert client.get("/api/v1/nothing-here", headers=headers).json() == {"detail": "Not Found"}
    other = client.get("/api/v1/scans/nosuchscan", headers=headers)
    assert other.status_code == 404 and "jobs" not in other.json()["detail"], other.text


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://127.0.0.1:5999/0", "redis://127.0.0.1:5999/0"),
        ("redis://:secret@127.0.0.1:5999/0", "redis://:**@127.0.0.1:5999/0"),
        ("amqp://127.0.0.1:5672//", "amqp://127.0.0.1:5672//"),
        ("amqp://guest@127.0.0.1:5672/v", "amqp://guest@127.0.0.1:5672/v"),
        ("amqp://guest:pa@ss@127.0.0.1:5672/v", "amqp://guest:**@127.0.0.1:5672/v"),
    ],
)
def test_a_broker_url_is_shown_as_given_with_only_a_password_masked(url: str, shown: str) -> None:
    assert shown_url(url) == shown


def _finding(policy: str, jurisdiction: str, binding: bool | None) -> dict[str, Any]:
    return {
        "policy": policy,
        "jurisdiction": jurisdiction,
        "measure": f"{policy} measure",
        "citation": f"{policy} citation",
        "effective": "2020-01-01",
        "family": "dahua",
        "scope_note": "",
        "effect": "use-ban",
        "binding": binding,
        "deadline": None,
    }


@pytest.fixture
def judged_url(tmp_path: Path) -> str:
    """The web tests' store, plus a scan whose devices two measures name: one binds the
    party it was judged for, one (Québec's) binds others."""
    url = normalise_db_arg(str(tmp_path / "judged.db"))
    fill(url)
    raw = from_contract(GOLDEN.read_text(encoding="utf-8")).model_dump(mode="json")
    template = raw["devices"][0]
    devices = []
    for index in range(3):
        device = copy.deepcopy(template)
        device.update(ip=f"127.0.9.{10 + index}", mac=f"00:40:8c:00:09:{10 + index:02x}")
        binding = index == 0
        device.update(serial=f"Q{index}", findings=[_finding("ca-qc-x", "Canada (Québec)", False)])
        if binding:
            device["findings"].append(_finding("ca-federal-x", "Canada", True))
        devices.append(device)
    raw["devices"] = devices
    raw["scan"]["id"] = "20260301T120000Z-crown"
    raw["scan"]["started_at"] = "2026-03-01T12:00:00Z"
    raw["scan"]["finished_at"] = "2026-03-01T12:05:00Z"
    raw["scan"]["devices_found"] = raw["scan"]["hosts_responding"] = len(devices)
    raw["scan"]["restricted_count"] = len(devices)
    with open_store(url) as store:
        store.save_document(from_contract(raw), coverage=coverage_ranges(["127.0.9.0/24"]))
    return url


def test_a_jurisdiction_row_says_what_it_names_and_what_it_restricts(judged_url: str) -> None:
    with open_store(judged_url) as store:
        expected = store.restricted_by_jurisdiction()
    with TestClient(create_app(judged_url)) as client:
        page_log_in(client, "viewer")
        page = client.get("/").text
    body = page[page.index('<table id="jurisdictions"') :]
    body = html_module.unescape(body[: body.index("</table>")])
    rows = re.findall(
        r'<th scope="rowgroup"[^>]*>([^<]+)<br><small><span class="jurisdiction-devices">'
        r'(\d+)</span> ([^<]*)<span class="jurisdiction-named">([^<]*)</span>',
        body,
    )
    heads = {name: (int(restricted), words) for name, restricted, words, _ in rows}
    named = {name: text for name, _, _, text in rows}
    assert "Canada (Québec)" in named, body
    for jurisdiction in expected:
        name = jurisdiction["jurisdiction"]
        restricted, _ = heads[name]
        assert restricted == jurisdiction["devices"]
        most = max(measure["devices"] for measure in jurisdiction["measures"])
        one = len(jurisdiction["measures"]) == 1
        assert named[name] == (
            f"named by it: {most}" if one else f"named by its measures: at least {most}"
        )
    # Québec's measure names three devices and restricts none for the party judged for: the
    # row says both, not "0 devices" beside a Devices cell of 3
    quebec = next(j for j in expected if j["jurisdiction"] == "Canada (Québec)")
    assert quebec["devices"] == 0 and quebec["measures"][0]["devices"] == 3
    assert heads["Canada (Québec)"][0] == 0 and named["Canada (Québec)"] == "named by it: 3"
    assert "restricted for you" in heads["Canada (Québec)"][1]
    assert "0 devices" not in body

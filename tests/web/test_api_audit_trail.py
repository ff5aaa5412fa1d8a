"""The API gives what an auditor asked the command line for (review of 2026-12-07): each
listed case's history, as ``provscan cases list -f json`` now does, and a scan compared with
itself refused as a bad request (400), not as something missing (404)."""

from __future__ import annotations

from collections.abc import Callable

from webtools import TestClient

from provscan.store.db import open_store

Headers = Callable[[str], dict[str, str]]


def test_listed_cases_carry_their_history_as_one_case_does(
    client: TestClient, token_for: Headers, store_url: str
) -> None:
    viewer, analyst = token_for("viewer"), token_for("analyst")
    case_id = client.get("/api/v1/cases", headers=viewer).json()["cases"][0]["id"]
    changed = client.patch(
        f"/api/v1/cases/{case_id}", json={"note": "asked the integrator"}, headers=analyst
    )
    assert changed.status_code == 200, changed.text
    listed = {c["id"]: c for c in client.get("/api/v1/cases", headers=viewer).json()["cases"]}
    one = client.get(f"/api/v1/cases/{case_id}", headers=viewer).json()
    assert listed[case_id]["history"] == one["history"]
    assert any(entry.get("note") == "asked the integrator" for entry in one["history"])
    with open_store(store_url) as store:
        assert len(one["history"]) == len(store.case(case_id).events)


def test_a_scan_compared_with_itself_is_a_bad_request(
    client: TestClient, token_for: Headers
) -> None:
    viewer = token_for("viewer")
    newest = client.get("/api/v1/scans", headers=viewer).json()["scans"][0]["id"]
    answer = client.get(f"/api/v1/diff?old={newest}&new={newest[:12]}", headers=viewer)
    assert answer.status_code == 400
    assert "compared with itself" in answer.json()["detail"]

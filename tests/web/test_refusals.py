"""Refused attempts in the audit log (issue 16): failed and locked logins, login forms and
requests without their CSRF token, changes a role does not allow, from the API and the
console, each one row (who, when, what, from where) within a budget that keeps a flood from
growing the log without bound; and a schedule change that commits with its audit row or
not at all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pagetools import form_token, page_log_in, table_rows
from webtools import PASSWORD, TestClient, csrf_headers, log_in

from provscan.errors import StoreRequestError
from provscan.store import users
from provscan.store.db import open_store


def _entries(store_url: str, *actions: str) -> list[dict[str, Any]]:
    with open_store(store_url) as store:
        found = store.accounts().audit_log(1000)
    return [entry for entry in found if entry["action"] in actions][::-1]  # oldest first


def test_api_refusals_are_audited(client: TestClient, store_url: str, token_for: Any) -> None:
    # Given a viewer's cookie session: a change without the CSRF token is refused and audited
    token = log_in(client, "viewer")
    refused = client.post("/api/v1/scans", json={"targets": ["127.0.0.1"]})
    assert refused.status_code == 403
    # with the token, the role is too weak: refused and audited too
    weak = client.post(
        "/api/v1/scans", json={"targets": ["127.0.0.1"]}, headers=csrf_headers(token)
    )
    assert weak.status_code == 403
    # a Bearer viewer changing a case: refused by role
    viewer = token_for("viewer")
    assert client.patch("/api/v1/cases/1", json={"owner": "x"}, headers=viewer).status_code == 403
    # reading something above the role is refused but is not a change: not audited
    assert client.get("/api/v1/audit", headers=viewer).status_code == 403
    csrf = _entries(store_url, "refused.csrf")
    assert [(e["actor"], e["target"], e["detail"]) for e in csrf] == [
        ("viewer", "/api/v1/scans", {"method": "POST"})
    ]
    assert csrf[0]["address"] == "testclient" and csrf[0]["at"]
    roles = _entries(store_url, "refused.role")
    assert [(e["actor"], e["target"], e["detail"]) for e in roles] == [
        ("viewer", "/api/v1/scans", {"method": "POST", "role": "viewer", "needs": "analyst"}),
        ("viewer", "/api/v1/cases/1", {"method": "PATCH", "role": "viewer", "needs": "analyst"}),
    ]


def test_an_unknown_api_token_is_refused_and_audited_without_the_token(
    client: TestClient, store_url: str
) -> None:
    guessed = "pst_" + "x" * 40
    response = client.get("/api/v1/devices", headers={"Authorization": f"Bearer {guessed}"})
    assert response.status_code == 401
    rows = _entries(store_url, "refused.token")
    assert [(e["actor"], e["target"], e["detail"]) for e in rows] == [
        ("(unknown)", "/api/v1/devices", {"method": "GET"})
    ]
    assert guessed not in str(rows)


def test_console_refusals_are_audited_and_shown_to_admins(
    client: TestClient, store_url: str
) -> None:
    # A login form posted without its double-submit cookie (a stale or forged form)
    client.cookies.clear()
    stale = client.post("/login", data={"name": "admin", "password": "x", "csrf_token": "forged"})
    assert stale.status_code == 403
    # a wrong password
    token = form_token(client.get("/login").text)
    wrong = client.post("/login", data={"name": "analyst", "password": "nope", "csrf_token": token})
    assert wrong.status_code == 401
    # an analyst's form without the session's token, and one above the analyst's role
    analyst = page_log_in(client, "analyst")
    assert client.post("/cases/1", data={"owner": "x"}).status_code == 403
    added = {"csrf_token": analyst, "name": "mallory", "role": "admin", "password": PASSWORD}
    assert client.post("/users", data={**added, "password2": PASSWORD}).status_code == 403
    rows = _entries(store_url, "refused.login-form", "login.failed", "refused.csrf", "refused.role")
    assert [(e["action"], e["actor"], e["target"]) for e in rows] == [
        ("refused.login-form", "-", "admin"),
        ("login.failed", "-", "analyst"),
        ("refused.csrf", "analyst", "/cases/1"),
        ("refused.role", "analyst", "/users"),
    ]
    assert rows[3]["detail"] == {"method": "POST", "role": "analyst", "needs": "admin"}
    # An admin sees them, alone with ?show=refused (logins and changes left out)
    client.cookies.clear()
    page_log_in(client, "admin")
    html = client.get("/audit?show=refused").text
    shown = [row[3] for row in table_rows(html, "audit")]
    assert shown == ["refused.role", "refused.csrf", "login.failed", "refused.login-form"]
    assert 'class="refused"' in html and "Refused attempts only" in html
    every = [row[3] for row in table_rows(client.get("/audit").text, "audit")]
    assert "login" in every and "refused.role" in every


def test_a_flood_of_refusals_is_bounded(
    client: TestClient, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(users, "REFUSALS_PER_ADDRESS", 3)
    client.cookies.clear()
    # When one address posts stale login forms again and again
    for number in range(8):
        answer = client.post(
            "/login", data={"name": f"n{number}", "password": "x", "csrf_token": "forged"}
        )
        assert answer.status_code == 403  # every one is still refused
    # Then three are written, then one entry says the rest of the window was not
    written = _entries(store_url, "refused.login-form", users.SUPPRESSED)
    assert [e["action"] for e in written] == ["refused.login-form"] * 3 + [users.SUPPRESSED]
    assert written[-1]["detail"] == {
        "over": "address",
        "limit": 3,
        "minutes": 15,
        "first": "refused.login-form",
    }
    # A locked account's logins count in the same budget (they add no failures)
    with open_store(store_url) as store:
        accounts = store.accounts()
        for _ in range(users.LOCK_AFTER):
            with pytest.raises(users.LoginRefused):
                accounts.authenticate("viewer", "wrong", address="203.0.113.9")
        for _ in range(6):
            with pytest.raises(users.LoginRefused):
                accounts.authenticate("viewer", PASSWORD, address="203.0.113.9")
    locked = _entries(store_url, "login.locked", users.SUPPRESSED)
    from_there = [e["action"] for e in locked if e["address"] == "203.0.113.9"]
    assert from_there == ["login.locked"] * 3 + [users.SUPPRESSED]
    # failed logins are not in the budget: the login throttle already bounds them
    failed = [e for e in _entries(store_url, "login.failed") if e["address"] == "203.0.113.9"]
    assert len(failed) == users.LOCK_AFTER


def test_everyone_together_has_a_budget(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(users, "REFUSALS_TOTAL", 4)
    with open_store(store_url) as store:
        accounts = store.accounts()
        # an older refusal is outside the window and does not count
        with accounts._writing("test") as session:
            session.add(
                users.AuditRow(
                    at=datetime.now(UTC) - timedelta(hours=1), actor="-",
                    action="refused.csrf", target=None, address="198.51.100.1", detail={},
                )
            )  # fmt: skip
        written = [
            accounts.refused("-", "refused.login-form", f"198.51.100.{number}")
            for number in range(2, 9)
        ]
    assert written == [True] * 4 + [False] * 3
    suppressed = _entries(store_url, users.SUPPRESSED)
    assert len(suppressed) == 1 and suppressed[0]["detail"]["over"] == "everyone"
    with pytest.raises(ValueError):
        store.accounts().refused("-", "user.add", "x")


def test_a_schedule_change_commits_with_its_audit_row(
    client: TestClient, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_store(store_url) as store:
        kept = store.fleet().add_schedule(
            "north", ["127.0.0.0/28"], every_seconds=86400, cron=None,
            next_run=datetime.now(UTC) + timedelta(hours=5),
        )  # fmt: skip
    token = page_log_in(client, "admin")

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise StoreRequestError("the audit log refused the entry")

    # When the audit row cannot be written, Then neither the new schedule nor the removal is
    monkeypatch.setattr(users.Accounts, "_audit", staticmethod(refuse))
    wanted = {"csrf_token": token, "site": "west", "targets": "127.0.2.0/28", "every": "12h"}
    assert client.post("/schedules", data=wanted).status_code == 400
    assert client.post(f"/schedules/{kept.id}/remove", data={"csrf_token": token}).status_code in (
        400,
        404,
    )
    with open_store(store_url) as store:
        assert [s.id for s in store.fleet().schedules()] == [kept.id]
    # With the audit log working, both are written, each with its row
    monkeypatch.undo()
    assert client.post("/schedules", data=wanted, follow_redirects=False).status_code == 303
    removed = client.post(
        f"/schedules/{kept.id}/remove", data={"csrf_token": token}, follow_redirects=False
    )
    assert removed.status_code == 303
    with open_store(store_url) as store:
        schedules = store.fleet().schedules()
    assert [s.site for s in schedules] == ["west"]
    assert [e["target"] for e in _entries(store_url, "schedule.add")] == [str(schedules[0].id)]
    assert [e["target"] for e in _entries(store_url, "schedule.remove")] == [str(kept.id)]

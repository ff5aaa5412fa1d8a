"""Logins, sessions, tokens, throttling and lockout, and the audit log, through the API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, update
from webtools import PASSWORD, TestClient, csrf_headers, log_in

from provscan.store.db import normalise_db_arg, open_store
from provscan.store.users import ADDRESS_LIMIT, LOCK_AFTER, UserRow
from provscan.web.app import create_app


def test_a_new_store_has_no_account_at_all(tmp_path: Path) -> None:
    url = normalise_db_arg(str(tmp_path / "empty.db"))
    with TestClient(create_app(url)) as client:
        for name, password in [("admin", "admin"), ("admin", ""), ("root", "provscan")]:
            response = client.post("/api/v1/session", json={"name": name, "password": password})
            assert response.status_code in (401, 422)
        assert client.get("/api/v1/devices").status_code == 401


def test_login_by_json_sets_a_strict_http_only_cookie(client: TestClient) -> None:
    # A form post is refused: a cross-site form could log a browser into another account.
    form = client.post("/api/v1/session", data={"name": "viewer", "password": PASSWORD})
    assert form.status_code == 415 and "set-cookie" not in form.headers
    response = client.post("/api/v1/session", json={"name": "viewer", "password": PASSWORD})
    assert response.status_code == 200
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert "secure" not in cookie  # plain HTTP on loopback; Secure under TLS (next test)
    assert response.json()["user"] == client.get("/api/v1/session").json()["user"]
    assert client.get("/api/v1/session").json()["csrf_token"] == response.json()["csrf_token"]


def test_under_tls_the_cookie_is_secure_and_hsts_is_sent(store_url: str) -> None:
    with TestClient(create_app(store_url, tls=True), base_url="https://testserver") as client:
        response = client.post("/api/v1/session", json={"name": "viewer", "password": PASSWORD})
        assert "secure" in response.headers["set-cookie"].lower()
        assert response.headers["strict-transport-security"].startswith("max-age=")


def test_a_wrong_password_is_401_and_says_nothing_about_the_account(client: TestClient) -> None:
    wrong = client.post("/api/v1/session", json={"name": "viewer", "password": "nope"})
    unknown = client.post("/api/v1/session", json={"name": "nobody", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert "set-cookie" not in wrong.headers


def test_an_account_locks_after_repeated_failures(client: TestClient, store_url: str) -> None:
    for _ in range(LOCK_AFTER):
        response = client.post("/api/v1/session", json={"name": "analyst", "password": "guess"})
        assert response.status_code == 401
    # Then even the right password is refused while the lock lasts
    right = {"name": "analyst", "password": PASSWORD}
    assert client.post("/api/v1/session", json=right).status_code == 429
    # other accounts are not affected
    assert client.post("/api/v1/session", json={"name": "viewer", "password": PASSWORD}).is_success
    # When the lock has run out, the right password works again
    engine = create_engine(store_url)
    with engine.begin() as connection:
        past = datetime.now(UTC) - timedelta(seconds=1)
        connection.execute(
            update(UserRow).where(UserRow.name == "analyst").values(locked_until=past)
        )
    engine.dispose()
    assert client.post("/api/v1/session", json=right).status_code == 200


def test_one_address_is_throttled_across_accounts(client: TestClient) -> None:
    for number in range(ADDRESS_LIMIT):
        name = f"guess{number}"  # spread over names so no single account locks
        response = client.post("/api/v1/session", json={"name": name, "password": "x"})
        assert response.status_code == 401
    right = {"name": "viewer", "password": PASSWORD}
    assert client.post("/api/v1/session", json=right).status_code == 429


def test_api_tokens_are_bearer_only_and_stored_hashed(
    client: TestClient, token_for: Callable[[str], dict[str, str]], store_url: str
) -> None:
    headers = token_for("analyst")
    token = headers["authorization"].split()[1]
    assert client.get("/api/v1/session", headers=headers).json()["via"] == "token"
    # a token needs no CSRF token (no cookie is involved)
    response = client.post(
        "/api/v1/lookup", json={"text": "Hikvision DS-2CD2143G0-I"}, headers=headers
    )
    assert response.status_code == 200
    # a tampered secret with the right id is refused
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert (
        client.get("/api/v1/session", headers={"authorization": f"Bearer {tampered}"}).status_code
        == 401
    )
    # and the database holds no token in clear
    raw = Path(store_url.removeprefix("sqlite:///")).read_bytes()
    assert token.encode() not in raw
    assert PASSWORD.encode() not in raw


def test_state_changes_reach_the_audit_log_for_admins_only(
    client: TestClient, token_for: Callable[[str], dict[str, str]]
) -> None:
    csrf = log_in(client, "analyst")
    client.patch("/api/v1/cases/1", json={"note": "checked"}, headers=csrf_headers(csrf))
    client.post("/api/v1/session", json={"name": "admin", "password": "wrong"})
    admin = token_for("admin")
    entries = client.get("/api/v1/audit", headers=admin).json()["entries"]
    actions = [(e["actor"], e["action"], e["target"]) for e in entries]
    assert ("analyst", "case.update", "1") in actions
    assert ("-", "login.failed", "admin") in actions
    assert ("analyst", "login", "analyst") in actions
    assert all(e["address"] and e["at"] for e in entries)
    new_user = {"name": "auditor", "role": "viewer", "password": "long enough pass"}
    assert client.post("/api/v1/users", json=new_user, headers=admin).status_code == 201
    assert client.post("/api/v1/users", json=new_user, headers=admin).status_code == 400
    names = [u["name"] for u in client.get("/api/v1/users", headers=admin).json()["users"]]
    assert "auditor" in names
    latest = client.get("/api/v1/audit?limit=1", headers=admin).json()["entries"][0]
    assert latest["action"] == "user.add" and latest["target"] == "auditor"
    assert "password" not in str(latest["detail"])


def test_a_removed_user_loses_tokens_and_sessions(
    client: TestClient, token_for: Callable[[str], dict[str, str]], store_url: str
) -> None:
    analyst_token = token_for("analyst")
    log_in(client, "analyst")
    admin = token_for("admin")
    assert client.delete("/api/v1/users/nobody", headers=admin).status_code == 404
    assert client.delete("/api/v1/users/analyst", headers=admin).json() == {"removed": "analyst"}
    assert client.get("/api/v1/session", headers=analyst_token).status_code == 401
    assert client.get("/api/v1/session").status_code == 401  # the cookie's session is gone
    # the last admin stays
    refused = client.delete("/api/v1/users/admin", headers=admin)
    assert refused.status_code == 400 and "last admin" in refused.json()["detail"]


def test_revoked_tokens_stop_working(
    client: TestClient, token_for: Callable[[str], dict[str, str]], store_url: str
) -> None:
    first, second = token_for("viewer"), token_for("viewer")
    with open_store(store_url) as store:
        assert store.accounts().revoke_tokens("viewer", actor="test", address="cli") == 2
    assert client.get("/api/v1/session", headers=first).status_code == 401
    assert client.get("/api/v1/session", headers=second).status_code == 401
    assert client.post(
        "/api/v1/session", json={"name": "viewer", "password": PASSWORD}
    ).is_success  # the password still works

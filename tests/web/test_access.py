"""Every route of the app against every role: the list comes from the app itself (its
OpenAPI document, which FastAPI builds from its routes), so a new route cannot escape."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from webtools import TestClient, csrf_headers, log_in

from provscan.store.users import ROLES
from provscan.web import api
from provscan.web.auth import ROLE_KEY

#: The one route open to everyone: logging in.
PUBLIC = {("POST", "/api/v1/session")}
#: Values for path parameters that exist in the test store (404s would hide nothing, but a
#: real id proves the role check comes before the work).
PATH_VALUES = {
    "scan_id": "20260101T120000Z-3f2a",
    "case_id": "1",
    "fmt": "html",
    "job_id": "no-such-job",
    "name": "no-such-user",
}


def _operations(client: TestClient) -> list[tuple[str, str, str | None]]:
    document = client.get("/api/v1/openapi.json").json()
    found = []
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            found.append((method.upper(), path, operation.get(ROLE_KEY)))
    return found


def _url(path: str, device_id: str) -> str:
    values = {**PATH_VALUES, "device_id": device_id}
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


def _device_id(client: TestClient, headers: dict[str, str]) -> str:
    found: str = client.get("/api/v1/devices", headers=headers).json()["devices"][0]["device_id"]
    return found


def test_every_route_is_in_the_openapi_document_and_names_a_role(client: TestClient) -> None:
    operations = _operations(client)
    documented = {(method, path) for method, path, _ in operations}
    # every route the router holds is documented (none hidden with include_in_schema=False)
    for route in api.router.routes:
        for method in getattr(route, "methods", ()):
            assert (method, getattr(route, "path", "")) in documented
    for method, path, role in operations:
        assert (method, path) in PUBLIC or role in ROLES, (method, path)
    assert len(operations) >= 18


def _call(client: TestClient, method: str, url: str, headers: dict[str, Any]) -> int:
    body: dict[str, Any] = {"json": {}} if method in ("POST", "PATCH", "PUT") else {}
    return client.request(method, url, headers=headers, **body).status_code


def test_without_credentials_every_route_but_login_is_401(client: TestClient) -> None:
    for method, path, _ in _operations(client):
        if (method, path) in PUBLIC:
            continue
        url = _url(path, "some-device")
        assert _call(client, method, url, {}) == 401, (method, path)
        # a wrong token is no better
        assert _call(client, method, url, {"authorization": "Bearer pst_0_x"}) == 401
        assert _call(client, method, url, {"authorization": "Basic YTpi"}) == 401


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_exactly_the_routes_its_rank_allows(
    client: TestClient, token_for: Callable[[str], dict[str, str]], role: str
) -> None:
    headers = token_for(role)
    device_id = _device_id(client, headers)
    for method, path, needed in _operations(client):
        if (method, path) in PUBLIC or (method, path) == ("DELETE", "/api/v1/session"):
            continue
        assert needed is not None
        status = _call(client, method, _url(path, device_id), headers)
        if ROLES.index(role) < ROLES.index(needed):
            assert status == 403, (role, method, path, status)
        else:
            assert status not in (401, 403), (role, method, path, status)


def test_a_viewer_changes_nothing_and_an_analyst_manages_no_users(
    client: TestClient, token_for: Callable[[str], dict[str, str]]
) -> None:
    viewer, analyst = token_for("viewer"), token_for("analyst")
    change = {"status": "planned", "note": "ordered a replacement"}
    assert client.patch("/api/v1/cases/1", json=change, headers=viewer).status_code == 403
    new_user = {"name": "mallory", "role": "admin", "password": "x" * 20}
    assert client.post("/api/v1/users", json=new_user, headers=analyst).status_code == 403
    assert client.get("/api/v1/audit", headers=analyst).status_code == 403
    # and the case is unchanged
    assert client.get("/api/v1/cases/1", headers=viewer).json()["status"] == "open"


def test_cookie_writes_need_the_csrf_token(client: TestClient) -> None:
    csrf = log_in(client, "analyst")
    change = {"owner": "facilities"}
    # Given a logged-in browser session, When a write comes without the token (a forged
    # cross-site request), Then it is refused and nothing changes
    assert client.patch("/api/v1/cases/1", json=change).status_code == 403
    wrong = csrf_headers("not-the-token")
    assert client.patch("/api/v1/cases/1", json=change, headers=wrong).status_code == 403
    assert client.get("/api/v1/cases/1").json()["owner"] is None
    # With the token it goes through, and it is audited by the admin's log
    response = client.patch("/api/v1/cases/1", json=change, headers=csrf_headers(csrf))
    assert response.status_code == 200
    assert response.json()["owner"] == "facilities"
    assert client.delete("/api/v1/session").status_code == 403  # logging out is a write too
    assert client.delete("/api/v1/session", headers=csrf_headers(csrf)).status_code == 200
    assert client.get("/api/v1/cases/1").status_code == 401

"""Every console page against every role: the list comes from the page router itself, so a
new page cannot escape. Without a session: the login page; below the page's role: 403; a
POST without the session's form token: 403, whatever the role."""

from __future__ import annotations

import re

import pytest
from pagetools import form_token, page_log_in
from webtools import TestClient

from provscan.store.users import ROLES
from provscan.web import pages

#: Values for path parameters: real where it matters (a device, a case), harmless elsewhere
#: (a POST that reaches its handler must change nothing: no such user, no such job).
PATH_VALUES = {
    "case_id": "1",
    "job_id": "no-such-job",
    "result_id": "no-such-result",
    "fmt": "csv",
    "name": "no-such-user",
    "scan_id": "20260102T120000Z-beef",  # a stored scan (webtools.fill)
    "schedule_id": "999",
}
#: Pages that may answer 404 to the values above (their object does not exist).
MISSING = {
    "/scans/jobs/{job_id}",
    "/screen/results/{result_id}",
    "/screen/results/{result_id}/{fmt}",
    "/sites/{name}",
}
#: GET pages that lead to another (a case: its place on its device's page).
LEADS_ON = {"/cases/{case_id}"}


def _routes() -> list[tuple[str, str]]:
    found = []
    for route in pages.router.routes:
        for method in sorted(getattr(route, "methods", ())):
            found.append((method, getattr(route, "path", "")))
    return found


def _url(path: str, device_id: str) -> str:
    values = {**PATH_VALUES, "device_id": device_id}
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


def _device_id(client: TestClient) -> str:
    found: str = client.get("/api/v1/devices").json()["devices"][0]["device_id"]
    return found


def test_every_page_names_its_role() -> None:
    routes = _routes()
    assert len(routes) >= 24
    for method, path in routes:
        assert (method, path) in pages.PAGE_ROLES, (method, path)
        role = pages.PAGE_ROLES[(method, path)]
        assert role in ROLES or path == "/login", (method, path)
    # and nothing is registered that the router does not serve
    assert set(pages.PAGE_ROLES) == set(routes)


def test_without_a_session_every_page_leads_to_the_login(client: TestClient) -> None:
    for method, path in _routes():
        if path == "/login":
            continue
        response = client.request(method, _url(path, "dev-0"), follow_redirects=False)
        assert response.status_code == 303, (method, path, response.status_code)
        assert response.headers["location"] == "/login"
        # a stale or forged cookie is no better
        client.cookies.set("provscan_session", "forged")
        again = client.request(method, _url(path, "dev-0"), follow_redirects=False)
        client.cookies.clear()
        assert again.status_code == 303 and again.headers["location"] == "/login"


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_exactly_the_pages_its_rank_allows(client: TestClient, role: str) -> None:
    token = page_log_in(client, role)
    device_id = _device_id(client)
    for method, path in _routes():
        if path in ("/login", "/logout"):
            continue
        needed = pages.PAGE_ROLES[(method, path)]
        assert needed is not None
        url = _url(path, device_id)
        if method == "GET":
            status = client.get(url, follow_redirects=False).status_code
            if ROLES.index(role) < ROLES.index(needed):
                assert status == 403, (role, path, status)
            else:
                expected = 404 if path in MISSING else 303 if path in LEADS_ON else 200
                assert status == expected, (role, path, status)
            continue
        # Given the session's own token, Then the role decides; the empty form changes
        # nothing (no such user, nothing to change in the case, no file, no targets)
        status = client.post(url, data={"csrf_token": token}, follow_redirects=False).status_code
        if ROLES.index(role) < ROLES.index(needed):
            assert status == 403, (role, method, path, status)
        else:
            assert status in (400, 404), (role, method, path, status)
        # Without the token (a forged cross-site form) every POST is refused, for every role
        for data in ({}, {"csrf_token": "forged"}):
            forged = client.post(url, data=data, follow_redirects=False)
            assert forged.status_code == 403, (role, method, path, data)
    # the session is still there after all of it
    assert client.get("/", follow_redirects=False).status_code == 200


def test_logging_out_needs_the_form_token(client: TestClient) -> None:
    token = page_log_in(client, "viewer")
    assert client.post("/logout", data={}, follow_redirects=False).status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 200
    out = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert client.get("/devices", follow_redirects=False).headers["location"] == "/login"
    # the old token is worth nothing now
    assert form_token(client.get("/login").text) != token

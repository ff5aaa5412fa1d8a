"""The server-rendered console pages: login with its CSRF token, the dashboard's numbers,
escaping, and the strict CSP (no inline script or style anywhere)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from webtools import HOSTILE, PASSWORD, TestClient

from provscan.store.db import open_store
from provscan.web import pages
from provscan.web.security import SECURITY_HEADERS


class _Inline(HTMLParser):
    """Collects what a strict CSP would block: script elements, style elements and
    attributes, event handler attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.blocked: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.blocked.append(tag)
        self.blocked += [name for name, _ in attrs if name == "style" or name.startswith("on")]


def _inline(html: str) -> list[str]:
    parser = _Inline()
    parser.feed(html)
    return parser.blocked


def _form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def _log_in(client: TestClient, name: str = "viewer") -> str:
    token = _form_token(client.get("/login").text)
    response = client.post(
        "/login",
        data={"name": name, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/"
    return client.get("/").text


def test_every_page_route_needs_a_session_or_a_form_token(client: TestClient) -> None:
    for route in pages.router.routes:
        path = getattr(route, "path", "")
        for method in getattr(route, "methods", ()):
            response = client.request(method, path, follow_redirects=False)
            if method == "GET":
                assert response.status_code in (200, 303), path
                if path != "/login":
                    assert response.headers["location"] == "/login"
            elif path == "/login":
                assert response.status_code == 403  # no form token
            else:
                assert response.status_code == 303  # nothing to log out of


def test_login_form_needs_its_token(client: TestClient) -> None:
    client.get("/login")  # the cookie is set, but a forged form has no matching field
    forged = client.post(
        "/login", data={"name": "viewer", "password": PASSWORD, "csrf_token": "guess"}
    )
    assert forged.status_code == 403
    assert "provscan_session" not in client.cookies
    wrong = client.post(
        "/login",
        data={
            "name": "viewer",
            "password": "nope",
            "csrf_token": _form_token(client.get("/login").text),
        },
    )
    assert wrong.status_code == 401 and "Wrong user name or password." in wrong.text


def test_the_dashboard_shows_the_databases_numbers_escaped(
    client: TestClient, store_url: str
) -> None:
    html = _log_in(client)
    with open_store(store_url) as store:
        counts = store.dashboard()
    for element, value in (
        ("devices", counts["devices"]),
        ("restricted", counts["restricted"]),
        ("open-cases", counts["open_cases"]),
        ("overdue-cases", counts["overdue_cases"]),
    ):
        assert f'<strong id="{element}">{value}</strong>' in html
    # the hostile firmware is text, not markup
    assert "&lt;script&gt;alert(&#34;pwn&#34;)&lt;/script&gt;" in html
    assert HOSTILE not in html
    assert _inline(html) == []


def test_pages_carry_the_strict_csp_and_the_stylesheet_is_local(client: TestClient) -> None:
    login = client.get("/login")
    assert login.headers["content-security-policy"] == SECURITY_HEADERS["content-security-policy"]
    assert _inline(login.text) == []
    css = client.get("/static/console.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    for attempt in ("/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2fapp.py"):
        assert client.get(attempt).status_code == 404


def test_logging_out_needs_the_session_token(client: TestClient) -> None:
    html = _log_in(client)
    assert client.post("/logout", data={}, follow_redirects=False).status_code == 403
    logout = client.post("/logout", data={"csrf_token": _form_token(html)}, follow_redirects=False)
    assert logout.status_code == 303
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"

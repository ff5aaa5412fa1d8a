"""The console in a real browser: log in, the dashboard's numbers against the database, a
viewer refused, a hostile device's markup inert, log out. Tests whose pages read the same
store code over either database run over SQLite only (the PostgreSQL console costs time)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from webtools import PASSWORD

from provscan.web.auth import CSRF_HEADER, SESSION_COOKIE

Shoot = Callable[..., Path | None]
LogIn = Callable[[str], None]


def _session_digest(page: Any) -> str:
    cookie = next(c for c in page.context.cookies() if c["name"] == SESSION_COOKIE)
    return hashlib.sha256(cookie["value"].encode()).hexdigest()


@pytest.mark.parametrize("console", ["sqlite"], indirect=True)
def test_logging_in_through_the_form(
    page: Any, console: Any, screenshot: Shoot, log_in: LogIn
) -> None:
    # Given the login page
    page.goto("/")
    page.wait_for_url("**/login")
    screenshot("login")
    # When a wrong password is sent, the form says so and no session is made
    page.get_by_label("User name").fill("analyst")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_role("alert").inner_text() == "Wrong user name or password."
    assert SESSION_COOKIE not in {c["name"] for c in page.context.cookies()}
    screenshot("login-refused")
    # When the right one is sent, the dashboard greets the user with their role
    log_in("analyst")
    assert page.get_by_role("heading", level=1).inner_text() == "Dashboard"
    assert "analyst (analyst)" in page.locator("header").inner_text()
    assert (
        console.scalar(
            "SELECT count(*) FROM sessions WHERE id = :digest", digest=_session_digest(page)
        )
        == 1
    )


def test_the_dashboard_shows_the_databases_numbers(
    page: Any, console: Any, screenshot: Shoot, log_in: LogIn
) -> None:
    log_in("viewer")
    screenshot("dashboard")
    today = datetime.now(UTC).date().isoformat()
    expected = {
        "devices": console.scalar("SELECT count(*) FROM inventory"),
        "restricted": console.scalar("SELECT count(*) FROM inventory WHERE restricted"),
        "open-cases": console.scalar("SELECT count(*) FROM cases WHERE status <> 'verified'"),
        "overdue-cases": console.scalar(
            "SELECT count(*) FROM cases WHERE status <> 'verified' AND due < :today",
            today=today,
        ),
    }
    shown = {name: int(page.locator(f"#{name}").inner_text()) for name in expected}
    assert shown == expected
    # the lab: five devices, three of them restricted (two Hikvision, one Dahua), one case
    # made overdue by the fixture
    assert expected == {"devices": 5, "restricted": 3, "open-cases": 3, "overdue-cases": 1}
    assert console.overdue_since < today
    by_maker = page.locator("table", has=page.get_by_role("columnheader", name="Maker"))
    rows = by_maker.first.locator("tbody tr").all_inner_texts()
    counted = console.rows(
        "SELECT manufacturer, count(*) FROM inventory WHERE restricted"
        " GROUP BY manufacturer ORDER BY count(*) DESC, manufacturer"
    )
    assert [row.split("\t") for row in rows] == [[maker, str(n)] for maker, n in counted]
    assert counted == [("Hikvision", 2), ("Dahua", 1)]


def test_a_viewer_is_refused_a_state_change(
    page: Any, console: Any, screenshot: Shoot, log_in: LogIn, csrf_of: Callable[[], str]
) -> None:
    log_in("viewer")
    case_id = console.scalar("SELECT min(id) FROM cases")
    before = console.scalar("SELECT count(*) FROM case_events WHERE case_id = :id", id=case_id)
    # the browser's own session, with its CSRF token: the role is what refuses it
    refused = page.request.patch(
        f"/api/v1/cases/{case_id}",
        data={"owner": "viewer-was-here"},
        headers={CSRF_HEADER: csrf_of()},
    )
    assert refused.status == 403
    assert "viewer-was-here" not in refused.text()
    upload = page.request.post(
        "/api/v1/screen",
        multipart={"file": {"name": "list.csv", "mimeType": "text/csv", "buffer": b"Model\nX\n"}},
        headers={CSRF_HEADER: csrf_of()},
    )
    assert upload.status == 403
    owner = console.scalar("SELECT owner FROM cases WHERE id = :id", id=case_id)
    assert owner != "viewer-was-here"
    after = console.scalar("SELECT count(*) FROM case_events WHERE case_id = :id", id=case_id)
    assert after == before


# The same templates over either database: once, over SQLite, is enough (the device page's
# hostile text is checked over both in test_browser_pages.py).
@pytest.mark.parametrize("console", ["sqlite"], indirect=True)
def test_a_hostile_devices_markup_renders_as_text(
    page: Any,
    console: Any,
    screenshot: Shoot,
    log_in: LogIn,
    assert_inert: Callable[[], None],
) -> None:
    log_in("viewer")
    # the hostile camera is restricted, so the dashboard lists it with its firmware
    assert page.get_by_role("cell", name=console.markup, exact=True).count() == 1
    assert_inert()
    screenshot("dashboard-hostile", "table[aria-labelledby=first-restricted]")


@pytest.mark.parametrize("console", ["sqlite"], indirect=True)
def test_logging_out(page: Any, console: Any, screenshot: Shoot, log_in: LogIn) -> None:
    log_in("admin")
    digest = _session_digest(page)
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login")
    assert console.scalar("SELECT count(*) FROM sessions WHERE id = :digest", digest=digest) == 0
    assert SESSION_COOKIE not in {c["name"] for c in page.context.cookies()}
    page.goto("/")
    page.wait_for_url("**/login")
    screenshot("logged-out")


@pytest.mark.parametrize("console", ["sqlite"], indirect=True)
def test_logging_in_and_skipping_to_the_content_by_keyboard(page: Any, console: Any) -> None:
    def focused() -> str:
        found: str = page.evaluate(
            "document.activeElement.id || document.activeElement.textContent.trim()"
        )
        return found

    page.goto("/login")
    page.keyboard.press("Tab")
    assert focused() == "Skip to the content"
    page.keyboard.press("Tab")
    assert focused() == "name"
    page.keyboard.type("viewer")
    page.keyboard.press("Tab")
    assert focused() == "password"
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/")
    assert page.get_by_role("heading", level=1).inner_text() == "Dashboard"
    page.keyboard.press("Tab")
    assert focused() == "Skip to the content"
    page.keyboard.press("Enter")
    assert focused() == "main"

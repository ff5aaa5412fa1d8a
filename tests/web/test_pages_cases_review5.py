"""Review 5: the console's case form and the API's PATCH follow the command line's due-date
rule: a due date before the case was opened is refused with one clear message (400) and
nothing changes; a past date after the opening is accepted, and the answer says the case is
overdue. Real app, real SQLite store (tests/web/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from pagetools import page_log_in
from sqlalchemy import create_engine, update
from webtools import TestClient

from provscan.store.db import open_store
from provscan.store.models import CaseRow

OPENED = datetime(2024, 3, 10, 9, 0, tzinfo=UTC)


def _open_case_on(store_url: str, case_id: int, when: datetime) -> None:
    """Backdate a case's opening (the fixture's cases open the day the test runs)."""
    engine = create_engine(store_url)
    with engine.begin() as connection:
        connection.execute(update(CaseRow).where(CaseRow.id == case_id).values(opened_at=when))
    engine.dispose()


def _trail_length(store_url: str, case_id: int) -> int:
    with open_store(store_url) as store:
        return len(store.case(case_id).events)


def test_the_api_refuses_a_due_date_before_the_case_was_opened(
    client: TestClient, store_url: str, token_for: Callable[[str], dict[str, str]]
) -> None:
    analyst = token_for("analyst")
    _open_case_on(store_url, 1, OPENED)
    before = client.get("/api/v1/cases/1", headers=analyst).json()
    trail = _trail_length(store_url, 1)
    # When an analyst sets a due date the day before the case was opened
    refused = client.patch("/api/v1/cases/1", json={"due": "2024-03-09"}, headers=analyst)
    # Then it is refused with one message saying why, and nothing changed
    assert refused.status_code == 400
    assert refused.json()["detail"] == (
        "due date 2024-03-09 is before case 1 was opened (2024-03-10)"
    )
    assert client.get("/api/v1/cases/1", headers=analyst).json()["due"] == before["due"]
    assert _trail_length(store_url, 1) == trail
    # When the date is past but not before the opening, Then it is kept, with a warning
    kept = client.patch("/api/v1/cases/1", json={"due": "2024-03-10"}, headers=analyst)
    assert kept.status_code == 200
    answer = kept.json()
    assert answer["due"] == "2024-03-10" and answer["overdue"] is True
    assert answer["warning"] == "case 1 is overdue: its due date 2024-03-10 has passed"
    # And a future date is kept without one
    later = (date.today() + timedelta(days=30)).isoformat()
    future = client.patch("/api/v1/cases/1", json={"due": later}, headers=analyst).json()
    assert future["due"] == later and future["overdue"] is False
    assert "warning" not in future


def test_the_case_form_refuses_a_due_date_before_the_case_was_opened(
    client: TestClient, store_url: str
) -> None:
    token = page_log_in(client, "analyst")
    _open_case_on(store_url, 1, OPENED)
    device_id = client.get("/api/v1/cases/1").json()["device_id"]
    trail = _trail_length(store_url, 1)
    # When the form asks for a due date before the opening
    refused = client.post("/cases/1", data={"csrf_token": token, "due": "2020-01-01"})
    # Then the device page says why, and the case is as it was
    assert refused.status_code == 400
    assert "Case 1 was not changed: due date 2020-01-01 is before case 1 was opened" in (
        refused.text
    )
    assert _trail_length(store_url, 1) == trail
    # When the date is past but after the opening
    kept = client.post(
        "/cases/1", data={"csrf_token": token, "due": "2024-04-01"}, follow_redirects=False
    )
    # Then it is kept, and the page says the case is overdue
    assert kept.status_code == 303
    assert kept.headers["location"] == f"/devices/{device_id}?done=case-overdue#case-1"
    page = client.get(kept.headers["location"]).text
    assert "The case was updated. Its due date has already passed: it is overdue." in page
    assert client.get("/api/v1/cases/1").json()["due"] == "2024-04-01"

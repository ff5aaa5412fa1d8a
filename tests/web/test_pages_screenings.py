"""Screened lists are kept in the store: a restart keeps them, only their owner reads them,
they expire after a week (purged when results are next read) and their downloads are the
same bytes as before the restart."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from pagetools import accessibility_problems, inline, page_log_in
from webtools import HOSTILE, PASSWORD, TestClient, fill

from provscan.store import screenings
from provscan.store.db import open_store
from provscan.web.app import create_app

ESCAPED = "&lt;script&gt;alert(&#34;pwn&#34;)&lt;/script&gt;"


def _csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode()


LIST = _csv(
    [
        ["Item", "Brand", "Model", "Qty"],
        ["1", "Hikvision", "DS-2CD2143G2-I", "4"],
        ["2", "Axis", "P3245-LVE", "2"],
        ["3", HOSTILE, '=HYPERLINK("http://x")', "1"],
    ]
)


def _screen(client: TestClient, token: str, data: bytes = LIST) -> str:
    """Screen ``data``; the result's own page."""
    files = {"file": ("list.csv", data, "text/csv")}
    response = client.post("/screen", data={"csrf_token": token}, files=files)
    assert response.status_code == 200, response.text
    found = re.search(r'href="(/screen/results/[A-Za-z0-9_-]+)">this result', response.text)
    assert found is not None
    return found.group(1)


def _stored(store_url: str) -> list[tuple[str, str]]:
    engine = sa.create_engine(store_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT id, owner FROM screenings")).all()
            return [(str(key), str(owner)) for key, owner in rows]
    finally:
        engine.dispose()


def test_a_screened_list_survives_a_restart_for_its_owner_only(store_url: str) -> None:
    # Given an analyst who screened a list
    with TestClient(create_app(store_url), raise_server_exceptions=False) as first:
        token = page_log_in(first, "analyst")
        result = _screen(first, token)
        before = {fmt: first.get(f"{result}/{fmt}").content for fmt in ("csv", "xlsx")}
    assert before["xlsx"][:2] == b"PK"
    # When the server restarts (a new app over the same store)
    with TestClient(create_app(store_url), raise_server_exceptions=False) as second:
        page_log_in(second, "analyst")
        # Then the result page, the list of kept results and both downloads are still there
        page = second.get(result)
        assert page.status_code == 200
        assert "3 rows: 1 restricted, 0 to review, 1 unknown, 1 clear." in page.text
        assert HOSTILE not in page.text and ESCAPED in page.text and inline(page.text) == []
        assert accessibility_problems(page.text) == []
        listing = second.get("/screen").text
        assert 'id="kept-results"' in listing and f'href="{result}"' in listing
        for fmt, body in before.items():
            download = second.get(f"{result}/{fmt}")
            assert download.status_code == 200 and download.content == body, fmt
            expected = f'attachment; filename="provscan-screened.{fmt}"'
            assert download.headers["content-disposition"] == expected
        lines = list(csv.reader(io.StringIO(before["csv"].decode("utf-8-sig"))))
        assert lines[3][2].startswith("'=")  # still formula-guarded
        # the verdict column in the words of a scan's and an inventory's devices, in its
        # place; then the measures the verdicts rest on (added after it)
        assert lines[0][-2:] == ["verdict", "measures"]
        assert {line[-2] for line in lines[1:]} <= {"restricted", "review", "unknown", "clear"}
        assert lines[1][-1].startswith("ca: Federal government purchase and use of Hikvision")
        # and only for its owner: another analyst and an admin get 404 and see no link
        second.cookies.clear()
        with open_store(store_url) as store:
            store.accounts().add_user("bob", "analyst", PASSWORD, actor="test", address="cli")
        page_log_in(second, "bob")
        assert second.get(result).status_code == 404
        assert second.get(f"{result}/csv").status_code == 404
        assert result not in second.get("/screen").text
        second.cookies.clear()
        page_log_in(second, "admin")
        assert second.get(f"{result}/xlsx").status_code == 404
        # an unknown format is no download either
        second.cookies.clear()
        page_log_in(second, "analyst")
        assert second.get(f"{result}/exe").status_code == 404
    # the result and its audit entry were written together, the entry names the result
    with open_store(store_url) as store:
        entries = [e for e in store.accounts().audit_log(100) if e["action"] == "screen"]
    assert len(entries) == 1 and entries[0]["detail"] == {"rows": 3}
    assert entries[0]["target"] == result.rsplit("/", 1)[1]


def test_results_expire_after_a_week_and_are_purged_on_access(
    client: TestClient, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = page_log_in(client, "analyst")
    result = _screen(client, token)
    key = result.rsplit("/", 1)[1]
    assert _stored(store_url) == [(key, "analyst")]
    real_now = screenings.now
    # six days later it is still there
    monkeypatch.setattr(screenings, "now", lambda: real_now() + timedelta(days=6))
    assert client.get(result).status_code == 200
    # eight days later it is gone: the page says so, and the row left the database
    monkeypatch.setattr(screenings, "now", lambda: real_now() + timedelta(days=8))
    gone = client.get(f"{result}/csv")
    assert gone.status_code == 404 and "That result is gone" in gone.text
    assert _stored(store_url) == []
    assert 'id="kept-results"' not in client.get("/screen").text


def test_a_user_keeps_a_bounded_number_of_results(
    client: TestClient, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(screenings, "PER_USER", 3)
    token = page_log_in(client, "analyst")
    made = [_screen(client, token) for _ in range(5)]
    kept = {key for key, _ in _stored(store_url)}
    assert len(kept) == 3
    assert kept == {url.rsplit("/", 1)[1] for url in made[-3:]}  # the newest stay
    assert client.get(made[0]).status_code == 404
    assert client.get(made[-1]).status_code == 200


def test_a_removed_user_takes_their_results_along(client: TestClient, store_url: str) -> None:
    with open_store(store_url) as store:
        store.accounts().add_user("carol", "analyst", PASSWORD, actor="test", address="cli")
    token = page_log_in(client, "carol")
    _screen(client, token)
    assert [owner for _, owner in _stored(store_url)] == ["carol"]
    with open_store(store_url) as store:
        store.accounts().remove_user("carol", actor="test", address="cli")
    assert _stored(store_url) == []


def test_a_screening_without_the_form_token_keeps_nothing(
    client: TestClient, store_url: str
) -> None:
    page_log_in(client, "analyst")
    files = {"file": ("list.csv", LIST, "text/csv")}
    for data in ({}, {"csrf_token": "forged"}):
        assert client.post("/screen", data=data, files=files).status_code == 403
    assert _stored(store_url) == []


def test_the_migration_adds_and_removes_the_table(tmp_path: Path) -> None:
    from alembic import command

    from provscan.store.db import _alembic_config, normalise_db_arg

    url = normalise_db_arg(str(tmp_path / "m.db"))
    open_store(url).close()
    config = _alembic_config(sa.engine.make_url(url))
    command.downgrade(config, "0007")
    engine = sa.create_engine(url)
    assert "screenings" not in sa.inspect(engine).get_table_names()
    command.upgrade(config, "head")
    assert "screenings" in sa.inspect(engine).get_table_names()
    engine.dispose()


def test_screened_lists_are_kept_on_postgresql(make_postgres_database: Callable[[], str]) -> None:
    url = make_postgres_database()
    fill(url)
    with TestClient(create_app(url), raise_server_exceptions=False) as first:
        result = _screen(first, page_log_in(first, "analyst"))
        before = first.get(f"{result}/xlsx").content
    with TestClient(create_app(url), raise_server_exceptions=False) as second:
        page_log_in(second, "analyst")
        assert second.get(f"{result}/xlsx").content == before
        assert "3 rows: 1 restricted" in second.get(result).text


def test_a_list_without_a_recognised_part_number_column_is_read_as_text_and_said(
    client: TestClient, store_url: str
) -> None:
    """The console reads an upload as `provscan screen` does: a part-number column whose
    header it does not know is read as text (not dropped), and the page says so."""
    with open_store(store_url) as store:
        store.accounts().add_user("dana", "analyst", PASSWORD, actor="test", address="cli")
    token = page_log_in(client, "dana")
    data = _csv([["Item", "Desc", "Widget", "Qty"], ["1", "PTZ", "DS-2DE4425IW-DE", "1"]])
    files = {"file": ("list.csv", data, "text/csv")}
    response = client.post("/screen", data={"csrf_token": token}, files=files)
    assert response.status_code == 200, response.text
    assert "no part-number column recognised" in response.text
    assert "DS-2DE4425IW-DE" in response.text and "Hikvision" in response.text

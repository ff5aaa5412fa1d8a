"""Small fixes of the console and of ``provscan serve``: an empty PostgreSQL database says how
to start a store, a refused Host header is answered like every other error, an error page
shows braces as text, and the diff page says what its "not counted" devices are."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from pagetools import page_log_in
from typer.testing import CliRunner
from webtools import PASSWORD, TestClient, log_in

from provscan.cli import app as cli
from provscan.errors import StoreRequestError
from provscan.store.db import normalise_db_arg, open_store
from provscan.web.app import create_app

#: What a refused Host header gets on every address (a page on another site that rebinds
#: its DNS name to 127.0.0.1).
REBOUND = {"host": "evil.example:8080"}


def _problem(html: str) -> str:
    found = re.search(r'role="alert"[^>]*>(.*?)</p>', html, re.S)
    assert found is not None, html[:400]
    return found.group(1)


# --- 1. serve on an empty PostgreSQL database ---------------------------------------------


def test_serve_on_an_empty_postgres_database_says_how_to_start_a_store(
    make_postgres_database: Callable[[], str],
) -> None:
    url = make_postgres_database()
    # a password in the URL (the test server trusts any): never repeated in the message
    secret = url.replace("postgres@", "postgres:hunter2secret@", 1)
    result = CliRunner().invoke(cli, ["serve", "--db", secret, "--port", "1"])
    assert result.exit_code == 2, result.stderr
    said = " ".join(result.stderr.split())
    assert "no provscan tables in the database" in said
    assert "provscan users add NAME --role admin --create, with the same --db" in said
    assert "hunter2secret" not in result.stderr
    # and what it says works: the first account starts the store, serve then accepts it
    env = {"PROVSCAN_PASSWORD": PASSWORD}
    added = CliRunner().invoke(
        cli, ["users", "add", "admin", "--role", "admin", "--create", "--db", url], env=env
    )
    assert added.exit_code == 0, added.stderr
    with open_store(url) as store:
        assert [user.name for user in store.accounts().users()] == ["admin"]
    with TestClient(create_app(url), raise_server_exceptions=False) as served:
        assert served.get("/login").status_code == 200


def test_serve_on_a_missing_sqlite_file_gives_the_same_advice(tmp_path: Path) -> None:
    typo = tmp_path / "typo.db"
    result = CliRunner().invoke(cli, ["serve", "--db", str(typo), "--port", "1"])
    assert result.exit_code == 2
    said = " ".join(result.stderr.split())
    assert f"no provscan database at {typo}" in said and "--create" in said
    assert len(result.stderr.strip().splitlines()) == 1 and not typo.exists()


# --- 2. a refused Host header -------------------------------------------------------------


@pytest.fixture
def local(store_url: str) -> TestClient:
    return TestClient(
        create_app(store_url, allowed_hosts=["127.0.0.1", "localhost"]),
        base_url="http://127.0.0.1:8080",
        raise_server_exceptions=False,
    )


def test_a_refused_host_gets_json_from_the_api(local: TestClient) -> None:
    with local:
        assert local.get("/api/v1/openapi.json").status_code == 200
        assert local.get("/api/v1/openapi.json", headers={"host": "localhost:8080"}).is_success
        for path in ("/api/v1/openapi.json", "/api/v1/summary", "/api"):
            refused = local.get(path, headers=REBOUND)
            assert refused.status_code == 400, path
            assert refused.headers["content-type"] == "application/json", path
            detail = refused.json()["detail"]
            assert set(refused.json()) == {"detail"} and "Host header" in detail
            assert "evil.example" not in detail  # the input is not echoed
            assert refused.headers["x-content-type-options"] == "nosniff"
        # as every other error of the API: one line in {"detail": ...}
        other = local.get("/api/v1/nowhere")
        assert set(other.json()) == {"detail"}
        # no Host header at all is refused too
        empty = local.get("/api/v1/openapi.json", headers={"host": ""})
        assert empty.status_code == 400 and "detail" in empty.json()


def test_a_refused_host_gets_a_page_on_a_console_address(local: TestClient) -> None:
    with local:
        for path in ("/", "/login", "/scans", "/static/console.css"):
            refused = local.get(path, headers=REBOUND)
            assert refused.status_code == 400, path
            assert refused.headers["content-type"].startswith("text/html"), path
            html = refused.text
            assert html.startswith("<!DOCTYPE html>") and "<h1>Not done</h1>" in html
            assert "127.0.0.1, localhost" in _problem(html) and "evil.example" not in html
            assert refused.headers["content-security-policy"]
        assert local.head("/", headers=REBOUND).status_code == 400
        assert local.get("/login").status_code == 200


def test_without_allowed_hosts_any_name_is_answered(client: TestClient) -> None:
    assert client.get("/api/v1/openapi.json", headers=REBOUND).status_code == 200


# --- 3. braces in an error page -----------------------------------------------------------


@pytest.mark.parametrize("message", ["no site '{hq}' here", "a {} and }{ and {{x}}", "{0}"])
def test_an_error_page_shows_braces_as_text(client: TestClient, message: str) -> None:
    page_log_in(client, "viewer")

    def refused(*args: object, **kwargs: object) -> None:
        raise StoreRequestError(message)

    client.app.state.store.dashboard = refused  # type: ignore[attr-defined]
    response = client.get("/")
    assert response.status_code == 400, response.text[:300]
    assert _problem(response.text).replace("&#39;", "'") == message
    assert "Log out" in response.text  # the console's page, not the last-resort one


def test_a_validation_error_page_keeps_braces_once(client: TestClient) -> None:
    page_log_in(client, "viewer")
    response = client.get("/scans?{a}=1")
    assert response.status_code == 400
    said = _problem(response.text)
    assert "'{a}'" in said.replace("&#39;", "'") and "{{" not in said


def test_a_wrong_method_still_names_it(client: TestClient) -> None:
    response = client.request("PUT", "/scans")
    assert response.status_code == 405
    assert "does not answer a PUT request" in _problem(response.text)


def test_the_api_keeps_braces_as_they_are(client: TestClient) -> None:
    log_in(client, "viewer")
    response = client.get("/api/v1/scans?{a}=1")
    assert response.status_code == 400 and "{a}" in response.json()["detail"]


# --- 4. the diff page's devices not counted as removed ------------------------------------


def test_the_diff_page_says_why_devices_are_not_counted_as_removed(tmp_path: Path) -> None:
    from webtools import GOLDEN

    from provscan.report.contract import from_contract
    from provscan.store.inventory import coverage_ranges

    # An interrupted older scan and a complete newer one of the same block, which no longer
    # finds one of the older scan's devices: the newer scan covered its address, the older
    # one (incomplete) covers none, so it is not counted as removed
    first = from_contract(GOLDEN.read_text(encoding="utf-8"))
    older = first.model_dump(mode="json")
    older["scan"]["complete"] = False
    newer = first.model_dump(mode="json")
    newer["scan"]["id"], newer["scan"]["started_at"] = (
        "20260102T120000Z-beef",
        "2026-01-02T12:00:00Z",
    )
    newer["scan"]["finished_at"] = "2026-01-02T12:05:00Z"
    gone = newer["devices"].pop()
    newer["scan"]["devices_found"] = len(newer["devices"])
    newer["scan"]["restricted_count"] = sum(d["restricted"] for d in newer["devices"])
    url = normalise_db_arg(str(tmp_path / "diff.db"))
    with open_store(url) as store:
        for raw in (older, newer):
            store.save_document(
                from_contract(json.dumps(raw)), coverage=coverage_ranges(["192.0.2.0/28"])
            )
        store.accounts().add_user("viewer", "viewer", PASSWORD, actor="test", address="cli")
        expected = store.diff(first.scan.id, newer["scan"]["id"])
    assert [d["ip"] for d in expected.not_covered] == [gone["ip"]] and expected.removed == ()
    with TestClient(create_app(url), raise_server_exceptions=False) as client:
        page_log_in(client, "viewer")
        html = client.get(f"/diff?old={first.scan.id}&new={newer['scan']['id']}").text
    summary = re.search(r'<p id="diff-summary">(.*?)</p>', html, re.S)
    assert summary is not None
    assert "1 not counted as removed" in " ".join(re.sub(r"<[^>]+>", "", summary[1]).split())
    caption = re.search(r'<table id="diff-not-covered">\s*<caption>(.*?)</caption>', html, re.S)
    assert caption is not None
    assert "newer scan's coverage" not in caption[1]  # the newer scan did cover the address
    assert caption[1].startswith("Not counted as removed: found by the older scan only")
    assert "did not both cover" in caption[1] and "incomplete scan covers no address" in caption[1]

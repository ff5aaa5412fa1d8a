"""Newcomer review (an integrator on PostgreSQL for a provincial agency): whom an uploaded
list is judged for through the API, one shape for every error answer, unlocking and
resetting accounts (CLI and API), HEAD where GET is answered, and an OpenAPI document that
says what the routes do."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pagetools import page_log_in
from typer.testing import CliRunner
from webtools import PASSWORD, TestClient, csrf_headers, fill, log_in

from provscan.cli import app as cli_app
from provscan.store.db import normalise_db_arg, open_store
from provscan.store.users import LOCK_AFTER
from provscan.web.app import create_app

Headers = Callable[[str], dict[str, str]]

#: A Hikvision camera: restricted for a national government body, not binding a provincial
#: or municipal body in Canada (the federal measures do not bind it).
LIST = b"Brand,Model\nHikvision,DS-2CD2043G2-I\nAxis,M3106-L Mk II\n"
PROVINCIAL = "ca:provincial-or-municipal-body"
NEW_PASSWORD = "a fresh long passphrase"


def _upload(data: bytes = LIST) -> dict[str, Any]:
    return {"file": ("buy.csv", io.BytesIO(data), "text/csv")}


def _cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli_app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def _cli_screen(tmp_path: Path, acting_as: str | None) -> dict[str, Any]:
    listing = tmp_path / "buy.csv"
    listing.write_bytes(LIST)
    extra = ["--as", acting_as] if acting_as is not None else []
    code, out, err = _cli("screen", str(listing), "-f", "json", *extra)
    assert code == 0, err
    result: dict[str, Any] = json.loads(out)
    return result


# --- 1. POST /screen judges for acting_as ----------------------------------------------------


@pytest.mark.parametrize("acting_as", [PROVINCIAL, "all", None])
def test_screen_judges_the_list_for_acting_as_as_the_cli_does(
    client: TestClient, token_for: Headers, tmp_path: Path, acting_as: str | None
) -> None:
    data = {"acting_as": acting_as} if acting_as is not None else {}
    answer = client.post("/api/v1/screen", files=_upload(), data=data, headers=token_for("analyst"))
    assert answer.status_code == 200, answer.text
    result = answer.json()
    cli = _cli_screen(tmp_path, acting_as)
    # the same rows as `provscan screen --as`, and whom they were judged for, as its summary
    # (the CLI's JSON gives each measure's citation and scope note once, in `measures`: its
    # rows' findings refer to them by policy and title)
    referred = [
        {
            **row,
            "findings": [
                {**{k: v for k, v in f.items() if k != "scope_note"}, "citation": ""}
                for f in row["findings"]
            ],
        }
        for row in result["rows"]
    ]
    assert referred == cli["rows"]
    citations = {(m["policy"], m["title"]): m["citation"] for m in cli["measures"]}
    for row in result["rows"]:
        for finding in row["findings"]:
            assert citations[(finding["policy"], finding["measure"])] == finding["citation"]
    assert result["acting_as"] == cli["summary"]["acting_as"]
    assert result["judged_for"] == cli["summary"]["judged_for"]
    hikvision = result["rows"][0]
    assert hikvision["model"] == "DS-2CD2043G2-I"
    if acting_as == PROVINCIAL:
        assert hikvision["restricted"] is False and hikvision["verdict"] == "clear"
        assert result["acting_as"] == [PROVINCIAL] and result["judged_for"] == PROVINCIAL
    else:
        assert hikvision["restricted"] is True


def test_screen_says_whom_and_the_audit_log_keeps_it(
    client: TestClient, token_for: Headers, store_url: str
) -> None:
    # several org types, comma-separated, as `--as` takes them
    both = f"{PROVINCIAL},ca:federal-institution"
    answer = client.post(
        "/api/v1/screen", files=_upload(), data={"acting_as": both}, headers=token_for("analyst")
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["acting_as"] == [PROVINCIAL, "ca:federal-institution"]
    assert answer.json()["rows"][0]["restricted"] is True  # the federal measure binds one
    with open_store(store_url) as store:
        entry = store.accounts().audit_log(1)[0]
    assert entry["action"] == "screen" and entry["detail"]["acting_as"] == [
        PROVINCIAL,
        "ca:federal-institution",
    ]


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ({"acting_as": "xx:nobody"}, "unknown organisation type(s) for acting_as: xx:nobody"),
        ({"acting_as": " , "}, "acting_as needs at least one org type (or 'all')"),
        ({"acting-as": PROVINCIAL}, "unknown form field 'acting-as': it takes file, sheet"),
        ({"judge_for": PROVINCIAL}, "unknown form field 'judge_for'"),
        ({"acting_as": [PROVINCIAL, "all"]}, "form field 'acting_as' given more than once"),
    ],
)
def test_a_bad_acting_as_or_an_unknown_form_field_is_a_400_that_names_it(
    client: TestClient, token_for: Headers, data: dict[str, Any], said: str
) -> None:
    answer = client.post("/api/v1/screen", files=_upload(), data=data, headers=token_for("analyst"))
    assert answer.status_code == 400, answer.text
    detail = answer.json()["detail"]
    assert said in detail and "\n" not in detail and "--as" not in detail
    assert list(answer.json()) == ["detail"]


# --- 2. one error shape ---------------------------------------------------------------------

_JSON = {"content-type": "application/json"}
_TEXT = {"content-type": "text/plain"}


def _requests(analyst: dict[str, str], admin: dict[str, str]) -> list[tuple[Any, ...]]:
    """(method, url, options, status, words in the detail) of refused requests."""
    return [
        ("GET", "/api/v1/devices?limit=-1", {}, 422, "query parameter 'limit'"),
        ("GET", "/api/v1/devices?limit=100000", {}, 422, "less than or equal to 1000"),
        ("GET", "/api/v1/cases/0", {}, 422, "path parameter 'case_id'"),
        ("GET", "/api/v1/devices?restricted=maybe", {}, 422, "query parameter 'restricted'"),
        ("GET", "/api/v1/devices?bogus=1", {}, 400, "unknown query parameter 'bogus'"),
        ("GET", "/api/v1/devices/export?format=xml", {}, 422, "'csv' or 'json'"),
        ("GET", "/api/v1/nothing-here", {}, 404, "Not Found"),
        ("PUT", "/api/v1/devices", {}, 405, "Method Not Allowed"),
        ("GET", "/api/v1/users", {}, 403, "this needs the admin role"),
        # malformed JSON: the same 400 on every JSON route
        ("POST", "/api/v1/scans", {"content": b'{"targets": [,]', "headers": _JSON}, 400,
         "the body is not JSON that can be read"),
        ("POST", "/api/v1/session", {"content": b'{"name": ', "headers": _JSON}, 400,
         "the body is not JSON that can be read"),
        ("POST", "/api/v1/lookup", {"content": b"\xff\xfe", "headers": _JSON}, 400,
         "the body is not JSON that can be read"),
        ("PATCH", "/api/v1/cases/1", {"content": b"[1,", "headers": _JSON}, 400,
         "the body is not JSON that can be read"),
        # another content type: the same 415 on every JSON route
        ("PATCH", "/api/v1/cases/1", {"content": b'{"note": "x"}', "headers": _TEXT}, 415,
         "the body must be JSON"),
        ("POST", "/api/v1/session", {"content": b'{"name": "x"}', "headers": _TEXT}, 415,
         "the body must be JSON"),
        ("POST", "/api/v1/users", {"data": {"name": "x"}, "admin": True}, 415,
         "the body must be JSON"),
        ("POST", "/api/v1/screen", {"json": {"file": "x"}}, 415, "multipart/form-data"),
        # a field the route does not take, or a value that does not fit
        ("PATCH", "/api/v1/cases/1", {"json": {"note": "x", "colour": "red"}}, 400,
         "unknown JSON field 'colour': it takes status, owner, due, note"),
        ("POST", "/api/v1/scans", {"json": {"targets": [""]}}, 422, "JSON field 'targets[0]'"),
        ("POST", "/api/v1/scans", {"json": [1, 2]}, 422, "the body: must be a JSON object"),
        ("POST", "/api/v1/session", {"json": {"name": "x"}}, 422, "JSON field 'password'"),
        ("POST", "/api/v1/lookup", {"json": {"text": "x" * 501}}, 422, "JSON field 'text'"),
    ]  # fmt: skip


def test_every_api_error_is_one_line_of_detail(client: TestClient, token_for: Headers) -> None:
    analyst, admin = token_for("analyst"), token_for("admin")
    texts: dict[int, set[str]] = {}
    for method, url, options, status, words in _requests(analyst, admin):
        options = dict(options)
        headers = {
            **(admin if options.pop("admin", False) else analyst),
            **options.pop("headers", {}),
        }
        if url == "/api/v1/session":
            headers.pop("authorization")
        answer = client.request(method, url, headers=headers, **options)
        assert answer.status_code == status, (method, url, answer.text)
        body = answer.json()
        assert list(body) == ["detail"] and isinstance(body["detail"], str), (url, body)
        assert "\n" not in body["detail"] and words in body["detail"], (url, body)
        texts.setdefault(status, set()).add(body["detail"])
    # one text for an unreadable body, one for a JSON route sent another type
    assert texts[400] >= {"the body is not JSON that can be read"}
    assert sum("not JSON that can be read" in text for text in texts[400]) == 1
    assert len([text for text in texts[415] if "must be JSON" in text]) == 1


def test_the_openapi_document_describes_the_one_error_shape(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert schemas["Problem"]["properties"]["detail"]["type"] == "string"
    assert not {"HTTPValidationError", "ValidationError"} & set(schemas)
    assert not [name for name in schemas if "__" in name or name.startswith("Body_")]
    assert '{"detail": "<one line>"}' in spec["info"]["description"]
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            where = f"{method.upper()} {path}"
            for status, answer in operation["responses"].items():
                if status.startswith(("4", "5")):
                    ref = answer["content"]["application/json"]["schema"]["$ref"]
                    assert ref == "#/components/schemas/Problem", where
            statuses = set(operation["responses"])
            # 409 only where a scan starts; 413 and 415 only where a body is read
            assert ("409" in statuses) == (where == "POST /api/v1/scans"), where
            assert ("413" in statuses) == ("requestBody" in operation), where
            assert ("415" in statuses) == ("requestBody" in operation), where
            if method == "get" and operation["x-provscan-role"] == "viewer":
                assert "403" not in statuses, where
            # a summary a person wrote, an operation id without the path in it
            summary = operation["summary"]
            words = operation["operationId"].replace("_", " ").title()
            assert summary != words and "Api" not in summary.split(), where
            assert "api_v1" not in operation["operationId"], where
    screen = spec["paths"]["/api/v1/screen"]["post"]
    assert "its first" not in screen["description"] and "BOM" in screen["description"]
    form = schemas["ScreenUpload"]["properties"]
    assert set(form) == {"file", "sheet", "acting_as"}
    assert spec["paths"]["/api/v1/sites"]["get"]["summary"] == "Sites and their sensors"


# --- 3. accounts: unlock, reset; own password ----------------------------------------------


def _lock_out(client: TestClient, name: str) -> None:
    for _ in range(LOCK_AFTER):
        wrong = client.post("/api/v1/session", json={"name": name, "password": "wrong one!"})
        assert wrong.status_code == 401
    right = client.post("/api/v1/session", json={"name": name, "password": PASSWORD})
    assert right.status_code == 429 and "locked" in right.json()["detail"]


def _actions(url: str, action: str) -> list[dict[str, Any]]:
    with open_store(url) as store:
        return [e for e in store.accounts().audit_log(500) if e["action"] == action]


def test_cli_unlocks_a_locked_out_account(store_url: str, tmp_path: Path) -> None:
    db = str(store_url).removeprefix("sqlite:///")
    with TestClient(create_app(store_url), raise_server_exceptions=False) as client:
        _lock_out(client, "viewer")
        code, out, _ = _cli("users", "list", "--db", db)
        assert code == 0 and "locked until" in out
        code, out, err = _cli("users", "unlock", "viewer", "--db", db)
        assert (code, out.strip()) == (0, "unlocked viewer"), err
        log_in(client, "viewer")  # the right password works again at once
    code, out, _ = _cli("users", "unlock", "viewer", "--db", db)
    assert (code, out.strip()) == (0, "viewer was not locked out; nothing to do")
    code, _, err = _cli("users", "unlock", "nobody", "--db", db)
    assert code == 2 and "no user 'nobody'" in err and "Traceback" not in err
    entries = _actions(store_url, "user.unlock")
    assert [e["detail"]["was_locked"] for e in entries] == [False, True]
    assert all(e["actor"].startswith("cli") and e["target"] == "viewer" for e in entries)
    # a disabled account is not "locked out": it stays disabled
    with open_store(store_url) as store:
        store.accounts().set_disabled("viewer", True, actor="test", address="cli")
    code, _, err = _cli("users", "unlock", "viewer", "--db", db)
    assert code == 2 and "disabled" in err


def test_cli_reset_ends_sessions_and_tokens_and_says_so(store_url: str, token_for: Headers) -> None:
    db = str(store_url).removeprefix("sqlite:///")
    token = token_for("analyst")
    with TestClient(create_app(store_url), raise_server_exceptions=False) as client:
        log_in(client, "analyst")
        assert client.get("/api/v1/session").status_code == 200
        assert client.get("/api/v1/session", headers=token).status_code == 200
        # refused before anything changes: no password, a short one, an unknown user
        code, _, err = _cli("users", "reset-password", "analyst", "--db", db,
                            env={"PROVSCAN_PASSWORD": ""})  # fmt: skip
        assert code == 2 and "PROVSCAN_PASSWORD" in err
        code, _, err = _cli("users", "reset-password", "analyst", "--db", db,
                            env={"PROVSCAN_PASSWORD": "short"})  # fmt: skip
        assert code == 2 and "at least 12" in err
        code, _, err = _cli("users", "reset-password", "nobody", "--db", db,
                            env={"PROVSCAN_PASSWORD": ""})  # fmt: skip
        assert code == 2 and "no user 'nobody'" in err  # said before a password is asked for
        assert client.get("/api/v1/session", headers=token).status_code == 200
        code, out, err = _cli("users", "reset-password", "analyst", "--db", db,
                              env={"PROVSCAN_PASSWORD": NEW_PASSWORD})  # fmt: skip
        assert code == 0, err
        assert out.strip() == (
            "reset the password of analyst: ended 1 session(s), revoked 1 API token(s)"
        )
        # the session and the token are gone, the old password too
        assert client.get("/api/v1/session").status_code == 401
        assert client.get("/api/v1/session", headers=token).status_code == 401
        old = client.post("/api/v1/session", json={"name": "analyst", "password": PASSWORD})
        assert old.status_code == 401
        log_in(client, "analyst", NEW_PASSWORD)
    [entry] = _actions(store_url, "password.reset")
    assert entry["target"] == "analyst" and entry["actor"].startswith("cli")
    assert entry["detail"] == {"sessions_ended": 1, "tokens_revoked": 1}


def test_changing_your_own_password_keeps_tokens_and_ends_other_sessions(
    client: TestClient, store_url: str, token_for: Headers
) -> None:
    token = token_for("viewer")
    form = page_log_in(client, "viewer")
    with TestClient(create_app(store_url), raise_server_exceptions=False) as other:
        log_in(other, "viewer")
        changed = client.post(
            "/account/password",
            data={"csrf_token": form, "old": PASSWORD, "new": NEW_PASSWORD, "new2": NEW_PASSWORD},
            follow_redirects=False,
        )
        assert changed.status_code == 303, changed.text
        assert client.get("/api/v1/session").status_code == 200  # this session goes on
        assert other.get("/api/v1/session").status_code == 401  # the other one ended
        assert client.get("/api/v1/session", headers=token).status_code == 200  # tokens stay


def test_an_admin_unlocks_and_resets_through_the_api(
    client: TestClient, token_for: Headers, store_url: str
) -> None:
    admin, analyst = token_for("admin"), token_for("analyst")
    viewer_token = token_for("viewer")
    _lock_out(client, "viewer")
    # not for an analyst; a change refused by role is audited
    refused = client.post("/api/v1/users/viewer/unlock", headers=analyst)
    assert refused.status_code == 403
    unlocked = client.post("/api/v1/users/viewer/unlock", headers=admin)
    assert unlocked.status_code == 200, unlocked.text
    assert unlocked.json()["was_locked"] is True
    assert unlocked.json()["user"]["locked_until"] is None
    assert client.post("/api/v1/users/nobody/unlock", headers=admin).status_code == 404
    [entry] = _actions(store_url, "user.unlock")
    assert (entry["actor"], entry["target"], entry["address"]) == ("admin", "viewer", "testclient")
    # a reset: the user's session and token end
    csrf = log_in(client, "viewer")
    short = client.put("/api/v1/users/viewer/password", json={"password": "short"}, headers=admin)
    assert short.status_code == 400 and "at least 12" in short.json()["detail"]
    reset = client.put(
        "/api/v1/users/viewer/password", json={"password": NEW_PASSWORD}, headers=admin
    )
    assert reset.status_code == 200, reset.text
    assert reset.json()["sessions_ended"] == 1 and reset.json()["tokens_revoked"] == 1
    assert client.get("/api/v1/session").status_code == 401
    assert client.get("/api/v1/session", headers=viewer_token).status_code == 401
    assert client.delete("/api/v1/session", headers=csrf_headers(csrf)).status_code == 401
    log_in(client, "viewer", NEW_PASSWORD)
    [entry] = _actions(store_url, "password.reset")
    assert (entry["actor"], entry["target"]) == ("admin", "viewer")
    # your own password is changed in the console, not reset here
    own = client.put("/api/v1/users/admin/password", json={"password": NEW_PASSWORD}, headers=admin)
    assert own.status_code == 400 and "/account/password" in own.json()["detail"]
    refused = client.put(
        "/api/v1/users/viewer/password", json={"password": NEW_PASSWORD}, headers=analyst
    )
    assert refused.status_code == 403
    assert client.put("/api/v1/users/nobody/password", json={"password": NEW_PASSWORD},
                      headers=admin).status_code == 404  # fmt: skip


def test_unlock_and_reset_over_postgresql(make_postgres_database: Callable[[], str]) -> None:
    url = make_postgres_database()
    fill(url)
    with open_store(url) as store:
        token = store.accounts().issue_token("admin", actor="test", address="cli")
        analyst_token = store.accounts().issue_token("analyst", actor="test", address="cli")
    admin = {"authorization": f"Bearer {token}"}
    with TestClient(create_app(url), raise_server_exceptions=False) as client:
        _lock_out(client, "analyst")
        assert client.post("/api/v1/users/analyst/unlock", headers=admin).json()["was_locked"]
        log_in(client, "analyst")
        reset = client.put(
            "/api/v1/users/analyst/password", json={"password": NEW_PASSWORD}, headers=admin
        )
        assert reset.json()["sessions_ended"] == 1 and reset.json()["tokens_revoked"] == 1
        gone = client.get("/api/v1/session", headers={"authorization": f"Bearer {analyst_token}"})
        assert gone.status_code == 401
        # the CLI against the same server database
        code, out, err = _cli("users", "unlock", "analyst", "--db", url)
        assert code == 0 and "was not locked out" in out, err
        screened = client.post(
            "/api/v1/screen", files=_upload(), data={"acting_as": PROVINCIAL}, headers=admin
        )
        assert screened.json()["judged_for"] == PROVINCIAL
        assert screened.json()["rows"][0]["restricted"] is False


# --- 4. HEAD where GET is answered -----------------------------------------------------------


def test_head_is_answered_where_get_is(client: TestClient, token_for: Headers) -> None:
    viewer = token_for("viewer")
    for path, headers in [
        ("/", {}),
        ("/login", {}),
        ("/api/v1/openapi.json", {}),
        ("/api/v1/summary", viewer),
        ("/api/v1/devices", {}),  # 401, as GET
    ]:
        got = client.get(path, headers=headers, follow_redirects=False)
        head = client.head(path, headers=headers, follow_redirects=False)
        assert head.status_code == got.status_code != 405, path
        assert head.content == b"", path
        assert head.headers.get("content-type") == got.headers.get("content-type"), path
    assert client.post("/api/v1/summary", headers=viewer).headers["allow"] == "GET, HEAD"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.mark.timeout(60)
def test_a_real_server_answers_head_for_an_uptime_monitor(tmp_path: Path) -> None:
    db = str(tmp_path / "served.db")
    fill(normalise_db_arg(db))
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "provscan", "serve", "--db", db, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PROVSCAN_ALLOWED_TARGETS": "127.0.0.0/8,::1/128"},
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                head = httpx.head(f"{base}/", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        # as GET answers it: the dashboard sends a visitor without a session to log in
        assert head.status_code == 303 and head.headers["location"].startswith("/login")
        assert head.content == b""
        with httpx.Client(base_url=base, timeout=5) as monitor:
            # the connection stays usable after a HEAD (no stray body on the wire)
            for path in ("/login", "/api/v1/openapi.json", "/login"):
                answer = monitor.head(path)
                assert answer.status_code == 200 and answer.content == b"", path
                assert int(answer.headers["content-length"]) > 0
            assert monitor.get("/api/v1/openapi.json").json()["info"]["title"] == "provscan"
    finally:
        server.terminate()
        server.wait(timeout=10)
        assert server.stdout is not None
        server.stdout.close()

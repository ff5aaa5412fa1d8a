"""``provscan users`` and ``provscan serve`` from the command line, and a real server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from provscan.cli import app
from provscan.store.db import normalise_db_arg, open_store

PASSWORD = "a long test password"


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_users_add_token_and_list(tmp_path: Path) -> None:
    db = str(tmp_path / "users.db")
    # no terminal and no PROVSCAN_PASSWORD: refused, nothing added
    code, _, err = _run(
        "users", "add", "alice", "--role", "analyst", "--db", db, "--create",
        env={"PROVSCAN_PASSWORD": ""},
    )  # fmt: skip
    assert code == 2 and "PROVSCAN_PASSWORD" in err
    env = {"PROVSCAN_PASSWORD": PASSWORD}
    # --create: the first account of a new console starts its store
    assert (
        _run("users", "add", "alice", "--role", "analyst", "--db", db, "--create", env=env)[0] == 0
    )
    code, _, err = _run("users", "add", "alice", "--role", "admin", "--db", db, env=env)
    assert code == 2 and "already exists" in err
    code, _, err = _run(
        "users", "add", "bob", "--role", "admin", "--db", db, env={"PROVSCAN_PASSWORD": "short"}
    )
    assert code == 2 and "at least" in err
    code, out, _ = _run("users", "token", "alice", "--db", db)
    assert code == 0
    token = out.strip().splitlines()[-1]
    with open_store(normalise_db_arg(db)) as store:
        user = store.accounts().token_user(token)
        assert user is not None and (user.name, user.role) == ("alice", "analyst")
        actions = [e["action"] for e in store.accounts().audit_log()]
    assert actions == ["token.issue", "user.add"]
    assert _run("users", "token", "nobody", "--db", db)[0] == 2
    code, out, _ = _run("users", "list", "--db", db)
    header, row = out.splitlines()
    assert code == 0 and header.split() == ["Name", "Role", "Created"]
    assert row.split()[:2] == ["alice", "analyst"]
    code, out, _ = _run("users", "revoke", "alice", "--db", db)
    assert code == 0 and out.strip() == "revoked 1 token(s) of alice"
    with open_store(normalise_db_arg(db)) as store:
        assert store.accounts().token_user(token) is None
    assert _run("users", "remove", "alice", "--db", db)[0] == 0
    assert _run("users", "remove", "alice", "--db", db)[0] == 2
    assert _run("users", "list", "--db", db)[1] == "no users\n"


def test_there_is_no_password_option() -> None:
    code, _, _ = _run("users", "add", "x", "--role", "admin", "--password", "y")
    assert code == 2


def test_serve_refuses_a_non_loopback_host_without_allow_remote(tmp_path: Path) -> None:
    code, _, err = _run("serve", "--db", str(tmp_path / "s.db"), "--host", "0.0.0.0")
    assert code == 2 and "--allow-remote" in err
    code, _, err = _run("serve", "--db", str(tmp_path / "s.db"), "--tls-cert", "x.pem")
    assert code == 2 and "go together" in err


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.mark.timeout(60)
def test_provscan_serve_answers_on_loopback(tmp_path: Path) -> None:
    db = str(tmp_path / "served.db")
    env = {**os.environ, "PROVSCAN_PASSWORD": PASSWORD}
    assert _run("users", "add", "admin", "--role", "admin", "--db", db, "--create", env=env)[0] == 0
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "provscan", "serve", "--db", db, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/api/v1/openapi.json", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        with httpx.Client(base_url=base) as client:
            login = client.post("/api/v1/session", json={"name": "admin", "password": PASSWORD})
            assert login.status_code == 200
            assert client.get("/api/v1/summary").json()["devices"] == 0
            assert "server" not in login.headers
    finally:
        server.terminate()
        server.wait(timeout=10)
        assert server.stdout is not None
        server.stdout.close()


def test_a_taken_port_is_exit_1_with_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        db = tmp_path / "p.db"
        open_store(normalise_db_arg(str(db))).close()  # serve refuses a store that is not there
        command = [sys.executable, "-m", "provscan", "serve", "--db", str(db)]
        result = subprocess.run(
            [*command, "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1
    assert f"cannot serve on 127.0.0.1:{port}: the port is taken" in result.stderr
    # one line: uvicorn's own start-up and failure logs never begin
    assert result.stderr.count("\n") == 1 and "INFO" not in result.stderr


def test_a_mistyped_db_is_refused_not_created(tmp_path: Path) -> None:
    """serve and users refuse a SQLite --db that is not there (an empty new store serves a
    console nobody can log in to); `users add --create` is how a new console's store starts."""
    typo = tmp_path / "typo.db"
    said = f"no provscan database at {typo}"
    for args in (
        ["serve", "--db", str(typo)],
        ["users", "list", "--db", str(typo)],
        ["users", "token", "alice", "--db", str(typo)],
        ["users", "revoke", "alice", "--db", str(typo)],
        ["users", "remove", "alice", "--db", str(typo)],
    ):
        code, _, err = _run(*args)
        assert code == 2 and said in err, (args, err)
        assert len(err.strip().splitlines()) == 1
    env = {"PROVSCAN_PASSWORD": PASSWORD}
    code, _, err = _run("users", "add", "admin", "--role", "admin", "--db", str(typo), env=env)
    assert code == 2 and said in err and "--create" in err
    assert not typo.exists()
    assert (
        _run("users", "add", "admin", "--role", "admin", "--db", str(typo), "--create", env=env)[0]
        == 0
    )
    code, out, _ = _run("users", "list", "--db", str(typo))
    assert code == 0 and out.splitlines()[1].split()[:2] == ["admin", "admin"]

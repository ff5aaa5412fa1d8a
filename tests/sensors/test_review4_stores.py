"""Fourth review, item 2: "a store that does not exist is refused unless --create" covers a
PostgreSQL database without provscan's tables (serve, users add, inventory) and `schedule
add`. Real PostgreSQL databases (empty ones made and dropped here) and real SQLite files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from review4_tools import empty_postgres, tables_of
from typer.testing import CliRunner

from provscan.cli import app
from provscan.store.db import open_store


@pytest.fixture
def empty_db() -> Iterator[str]:
    with empty_postgres() as url:
        yield url


def _cli(*args: str, **env: str) -> Any:
    done = CliRunner().invoke(app, list(args), env=env or None)
    assert done.exception is None or isinstance(done.exception, SystemExit), done.output
    return done


def _refused(done: Any, said: str) -> None:
    assert done.exit_code == 2, done.output
    assert said in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_review4_an_empty_postgres_database_is_refused_unless_created(empty_db: str) -> None:
    shown = empty_db.replace("postgresql://", "postgresql+psycopg://")
    said = f"no provscan tables in the database {shown}"
    # Given a PostgreSQL database without provscan's tables (a mistyped name, a new one)
    for args in (["serve", "--db", empty_db], ["inventory", "--db", empty_db]):
        _refused(_cli(*args), said)
    added = _cli("users", "add", "admin", "--role", "admin", "--db", empty_db,
                 PROVSCAN_PASSWORD="review-four-password")  # fmt: skip
    _refused(added, said)
    assert "add --create to start a new store" in added.stderr
    # Then nothing was created in it
    assert tables_of(empty_db) == []
    # With --create, users add starts the store, and the others take it
    created = _cli("users", "add", "admin", "--role", "admin", "--db", empty_db, "--create",
                   PROVSCAN_PASSWORD="review-four-password")  # fmt: skip
    assert created.exit_code == 0, created.output
    assert "alembic_version" in tables_of(empty_db) and "users" in tables_of(empty_db)
    assert _cli("inventory", "--db", empty_db, "--format", "json").exit_code == 0


def test_review4_schedule_add_refuses_a_missing_store(empty_db: str, tmp_path: Path) -> None:
    typo = tmp_path / "typo.db"
    schedule = ("schedule", "add", "--site", "plant-3", "--targets", "127.0.1.0/24",
                "--every", "1h", "--new-site")  # fmt: skip
    # a SQLite file that is not there is not created
    _refused(_cli(*schedule, "--db", str(typo)), f"no provscan database at {typo}")
    assert not typo.exists()
    # a PostgreSQL database without provscan's tables is not filled
    _refused(_cli(*schedule, "--db", empty_db), "no provscan tables in the database")
    assert tables_of(empty_db) == []
    # --create starts one
    done = _cli(*schedule, "--db", empty_db, "--create")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["site"] == "plant-3"
    with open_store(empty_db) as store:
        assert [s.site for s in store.fleet().schedules()] == ["plant-3"]

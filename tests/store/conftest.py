"""Shared by the store tests: throwaway databases on the PostgreSQL test server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from provscan.store.db import Store, normalise_db_arg, open_store

SERVER = os.environ.get("PROVSCAN_TEST_PG", "postgresql://postgres@127.0.0.1:5432")


@contextmanager
def _throwaway_postgres_database() -> Iterator[str]:
    """The URL of a new, empty database on the test server, dropped afterwards.

    Skips when there is no server (or no driver), except on CI, which runs PostgreSQL.
    """
    psycopg = pytest.importorskip("psycopg", reason="the postgres extra is not installed")
    name = f"provscan_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(f"{SERVER}/postgres", autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            raise  # CI machines run PostgreSQL: its absence is a failure there
        pytest.skip(f"no PostgreSQL server at {SERVER}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{SERVER}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """One database for the whole test module."""
    with _throwaway_postgres_database() as url:
        yield url


@pytest.fixture
def make_postgres_database() -> Iterator[Callable[[], str]]:
    """Makes new databases for one test; all are dropped after it."""
    with ExitStack() as stack:
        yield lambda: stack.enter_context(_throwaway_postgres_database())


@pytest.fixture(params=["sqlite", "postgresql"])
def store(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    make_postgres_database: Callable[[], str],
) -> Iterator[Store]:
    """An empty store, once on SQLite and once on a throwaway PostgreSQL database."""
    url = (
        normalise_db_arg(str(tmp_path / "store.db"))
        if request.param == "sqlite"
        else make_postgres_database()
    )
    with open_store(url) as opened:
        yield opened

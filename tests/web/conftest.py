"""Shared by the web tests: a real store (a throwaway SQLite file, or PostgreSQL) with real
scans and one user per role, and the real app over it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path

import pytest
from helpers import throwaway_postgres_database
from webtools import TestClient, fill

from provscan.store.db import normalise_db_arg, open_store
from provscan.web.app import create_app


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    url = normalise_db_arg(str(tmp_path / "web.db"))
    fill(url)
    return url


@pytest.fixture
def client(store_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(store_url), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def token_for(store_url: str) -> Callable[[str], dict[str, str]]:
    """Bearer headers for a role's user (a real token issued by the store)."""

    def headers(role: str) -> dict[str, str]:
        with open_store(store_url) as store:
            token = store.accounts().issue_token(role, actor="test", address="cli")
        return {"authorization": f"Bearer {token}"}

    return headers


# --- PostgreSQL (the same throwaway databases as tests/store/conftest.py) -----------------


def _throwaway_postgres_database() -> AbstractContextManager[str]:
    return throwaway_postgres_database()


@pytest.fixture
def make_postgres_database() -> Iterator[Callable[[], str]]:
    """Makes new databases for one test; all are dropped after it."""
    with ExitStack() as stack:
        yield lambda: stack.enter_context(_throwaway_postgres_database())

"""Helpers of the web tests (imported by conftest.py and the tests)."""

from __future__ import annotations

import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

from provscan.report.contract import ScanDocument, from_contract
from provscan.store.db import open_store
from provscan.store.inventory import coverage_ranges
from provscan.store.users import ROLES
from provscan.web.auth import CSRF_HEADER

with warnings.catch_warnings():
    # starlette asks for its httpx fork; the tests use httpx itself
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

#: Markup a hostile device puts in its model name and host name.
HOSTILE = '<script>alert("pwn")</script><img src=x onerror=alert(1)>'
PASSWORD = "correct horse battery"


def log_in(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Log ``client`` in (the cookie stays in it); returns the CSRF token."""
    response = client.post("/api/v1/session", json={"name": name, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["csrf_token"]
    return token


def csrf_headers(token: str) -> dict[str, Any]:
    return {CSRF_HEADER: token}


GOLDEN = Path(__file__).resolve().parents[1] / "report" / "golden" / "scan_v1.json"


def _documents() -> list[ScanDocument]:
    first = from_contract(GOLDEN.read_text(encoding="utf-8"))
    raw = first.model_dump(mode="json")
    raw["scan"]["id"] = "20260102T120000Z-beef"
    raw["scan"]["started_at"] = "2026-01-02T12:00:00Z"
    raw["scan"]["finished_at"] = "2026-01-02T12:05:00Z"
    raw["devices"][1]["model"] = HOSTILE
    raw["devices"][1]["hostname"] = HOSTILE
    raw["devices"][0]["firmware"] = HOSTILE  # a restricted device: shown in the report
    second = from_contract(raw)
    assert second.scan.started_at - first.scan.started_at >= timedelta(hours=1)
    return [first, second]


def fill(url: str) -> None:
    """Two real scans of 192.0.2.0/28 (the second with a hostile model name) and users
    viewer, analyst, admin with PASSWORD."""
    with open_store(url) as store:
        for document in _documents():
            store.save_document(document, coverage=coverage_ranges(["192.0.2.0/28"]))
        accounts = store.accounts()
        for role in ROLES:
            accounts.add_user(role, role, PASSWORD, actor="test", address="cli")


__all__ = ["HOSTILE", "PASSWORD", "TestClient", "csrf_headers", "fill", "log_in"]

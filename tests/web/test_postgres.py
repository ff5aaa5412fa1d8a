"""The API over a PostgreSQL store: the same keyset pages, logins and lockout."""

from __future__ import annotations

from collections.abc import Callable

from webtools import PASSWORD, TestClient, csrf_headers, fill, log_in

from provscan.store.db import open_store
from provscan.store.users import LOCK_AFTER
from provscan.web.app import create_app


def test_the_api_over_postgresql(make_postgres_database: Callable[[], str]) -> None:
    url = make_postgres_database()
    fill(url)
    with open_store(url) as store:
        expected = [d["device_id"] for d in store.inventory_documents()]
    with TestClient(create_app(url), raise_server_exceptions=False) as client:
        csrf = log_in(client, "analyst")
        seen, cursor = [], None
        while True:
            params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
            page = client.get("/api/v1/devices", params=params).json()
            seen += [d["device_id"] for d in page["devices"]]
            if (cursor := page["next"]) is None:
                break
        assert seen == expected
        assert [d["model"] for d in client.get("/api/v1/devices?q=2496").json()["devices"]] == [
            "IP8M-2496EB"
        ]
        changed = client.patch("/api/v1/cases/1", json={"owner": "it"}, headers=csrf_headers(csrf))
        assert changed.json()["owner"] == "it"
        for _ in range(LOCK_AFTER):
            client.post("/api/v1/session", json={"name": "viewer", "password": "wrong"})
        right = {"name": "viewer", "password": PASSWORD}
        assert client.post("/api/v1/session", json=right).status_code == 429

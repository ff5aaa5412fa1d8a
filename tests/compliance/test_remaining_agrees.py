"""The inventory, the console (its dashboard and ``/api/v1/summary``) and the compliance
report count restricted devices *remaining* the same way (store/remaining.py; docs/reports.md
"How the numbers are defined"), after a restricted camera's case was set to replaced and a
covering scan that no longer saw it verified the case, as a user does it: `provscan scan`
over loopback into a SQLite store, `provscan cases update`, then `provscan inventory`,
`provscan report` and the console over the same file.

The newcomer review's store said 47 restricted on the console and in the inventory, 46 in
the report: the verified camera was counted on one side only."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import warnings
from collections.abc import Iterator
from itertools import product
from pathlib import Path
from typing import Any

import pytest
from helpers import SESSION_DEVICES

from provscan.lab.server import run_lab_in_thread
from provscan.lab.spec import DeviceSpec
from provscan.store.db import normalise_db_arg, open_store
from provscan.store.remaining import remaining_clause, remains
from provscan.web.app import create_app

with warnings.catch_warnings():
    # starlette asks for its httpx fork; the tests use httpx itself (as tests/web/webtools.py)
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

#: 127.20-29.18x.x: away from the session labs and the other report tests (171-175, <100).
OCTET = 20 + os.getpid() % 10
#: lab address block (127.77.X.Y) -> third octet here: Hikvision, its relabels, Dahua and
#: its relabels, makers no measure restricts.
BLOCKS = {"1": 181, "2": 182, "3": 183, "5": 185}
HOSTS = range(10, 16)
#: The Hikvision camera whose case is replaced, then verified by a covering scan.
REPLACED = f"127.{OCTET}.181.12"
PASSWORD = "correct horse battery"


def _placed(device: DeviceSpec) -> DeviceSpec | None:
    _, _, block, host = device.address.split(".")
    if block not in BLOCKS or int(host) not in HOSTS:
        return None
    return device.model_copy(update={"address": f"127.{OCTET}.{BLOCKS[block]}.{host}"})


DEVICES = [d for d in (_placed(device) for device in SESSION_DEVICES) if d is not None]


def _run(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "provscan", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Two scans of the lab at site hq; the camera at REPLACED replaced (its case says so);
    the lab down; a scan of that one address verifies the case."""
    assert any(d.address == REPLACED for d in DEVICES)
    path = str(tmp_path_factory.mktemp("remaining") / "store.db")
    targets = [f"127.{OCTET}.{octet}.0/28" for octet in BLOCKS.values()]
    with run_lab_in_thread(DEVICES):
        for _ in range(2):
            _run("scan", *targets, "--site", "hq", "-q", "--db", path)
    cases = json.loads(_run("cases", "list", "--db", path, "-f", "json"))["cases"]
    devices = json.loads(_run("inventory", "--db", path, "-f", "json"))["devices"]
    address = {device["device_id"]: device["ip"] for device in devices}
    case = next(
        c for c in cases if c["subject"] == "restricted" and address[c["device_id"]] == REPLACED
    )
    _run("cases", "update", str(case["id"]), "--status", "replaced", "--db", path)
    _run("scan", REPLACED, "--site", "hq", "-q", "--db", path)  # nothing answers there now
    shown = json.loads(_run("cases", "list", "--db", path, "-f", "json"))["cases"]
    assert next(c for c in shown if c["id"] == case["id"])["status"] == "verified"
    with open_store(normalise_db_arg(path)) as store:
        store.accounts().add_user("viewer", "viewer", PASSWORD, actor="test", address="cli")
    yield path


@pytest.fixture(scope="module")
def inventory(db: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(_run("inventory", "--db", db, "-f", "json"))
    return document


@pytest.fixture(scope="module")
def report(db: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("remaining-report") / "rep.md"
    _run("report", "--db", db, "-f", "md", "-o", str(out))
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def summary(db: str) -> dict[str, Any]:
    with TestClient(create_app(normalise_db_arg(db)), raise_server_exceptions=False) as client:
        login = client.post("/api/v1/session", json={"name": "viewer", "password": PASSWORD})
        assert login.status_code == 200, login.text
        response = client.get("/api/v1/summary")
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found


def _section(text: str, heading: str) -> str:
    return text.split(heading, 1)[1].split("###", 1)[0]


def _headline(report: str) -> int:
    found = re.search(r"As of [0-9-]+, (\d+) restricted devices? remains?\.", report)
    assert found is not None, report[:2000]
    return int(found.group(1))


def _by_maker(report: str) -> dict[str, int]:
    rows = re.findall(r"^\| ([^|]+?) \| (\d+) \|$", _section(report, "### By maker"), re.M)
    return {maker: int(count) for maker, count in rows}


def _trend(report: str) -> list[int]:
    table = _section(report, "### Restricted devices over time")
    rows = [line for line in table.splitlines() if line.startswith("| 20")]
    return [int(row.rstrip(" |").rsplit("|", 1)[1]) for row in rows]


def test_the_verified_camera_no_longer_counts_anywhere(
    inventory: dict[str, Any], report: str, summary: dict[str, Any]
) -> None:
    devices = inventory["devices"]
    restricted = sum(d["restricted"] for d in devices)
    camera = next(d for d in devices if d["ip"] == REPLACED)
    # still listed as what the newest sighting judged it, missing from its covering scan
    assert camera["restricted"] and camera["status"] == "missing"
    assert camera["case"]["status"] == "verified"
    assert inventory["inventory"]["restricted"] == restricted
    remaining = inventory["inventory"]["remaining"]
    assert remaining == restricted - 1 > 0
    assert summary["restricted"] == remaining
    assert _headline(report) == remaining


def test_by_maker_and_site_agree(report: str, summary: dict[str, Any]) -> None:
    console = {row["manufacturer"]: row["devices"] for row in summary["restricted_by_maker"]}
    assert console == _by_maker(report)
    assert len(console) >= 2  # Hikvision and Dahua, relabels under their makers
    assert [(row["site"], row["devices"]) for row in summary["restricted_by_site"]] == [
        ("hq", summary["restricted"])
    ]
    by_site = re.findall(r"^\| ([^|]+?) \| (\d+) \|$", _section(report, "### By site"), re.M)
    assert by_site == [("hq", str(summary["restricted"]))]


def test_the_trend_ends_at_the_headline_in_both(report: str, summary: dict[str, Any]) -> None:
    console = [point["restricted"] for point in summary["trend"]]
    assert console == _trend(report)
    assert console[-1] == summary["restricted"] == _headline(report)
    assert console[-2] == console[-1] + 1  # the covering scan took the camera off


def test_each_jurisdiction_counts_remaining_devices(report: str, summary: dict[str, Any]) -> None:
    counts = {row["jurisdiction"]: row["devices"] for row in summary["restricted_by_jurisdiction"]}
    assert max(counts.values()) == summary["restricted"]  # US restricts both makers
    table = _section(report, "### By jurisdiction")
    in_report = {name: int(n) for name, n in re.findall(r"^\| ([^|]+?) \| (\d+) \|$", table, re.M)}
    # the console also lists measures that bind others, with no device counted
    assert {name: n for name, n in counts.items() if n} == in_report


def test_the_inventory_table_says_how_many_remain(db: str, inventory: dict[str, Any]) -> None:
    text = " ".join(_run("inventory", "--db", db).split())
    restricted = inventory["inventory"]["restricted"]
    remaining = inventory["inventory"]["remaining"]
    assert f"{restricted} restricted ({remaining} remaining; 1 gone or verified removed)" in text


def test_the_dashboard_says_whom_the_stored_verdicts_were_judged_for(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The review's console was configured for a Crown corporation; the stored scans were
    judged for the default national body, whose verdicts (and Binding column) it shows."""
    config = tmp_path / "config.toml"
    config.write_text('[organisation]\nas = ["ca:crown-corporation"]\n', encoding="utf-8")
    monkeypatch.setenv("PROVSCAN_CONFIG", str(config))
    with TestClient(create_app(normalise_db_arg(db)), raise_server_exceptions=False) as client:
        login = client.post("/api/v1/session", json={"name": "viewer", "password": PASSWORD})
        assert login.status_code == 200, login.text
        html = client.get("/").text
    heading = re.search(r'<p id="judged-for">(.*?)</p>', html, re.S)
    assert heading is not None
    said = heading.group(1)
    assert "Judged for <strong>a national government body (default)</strong>" in said
    assert "crown" in said.lower() and "not judged again" in said
    restricted = re.search(r'<strong id="restricted">(\d+)</strong>', html)
    assert restricted is not None
    assert int(restricted.group(1)) == len(_remaining_ids(db))


def _remaining_ids(db: str) -> set[str]:
    with open_store(normalise_db_arg(db)) as store:
        return store.remaining()


def test_the_sql_and_python_definitions_agree(db: str) -> None:
    """remaining_clause is remains() for every combination of verdict, status and case."""
    from sqlalchemy import create_engine, select

    from provscan.store.models import CaseRow, InventoryRow

    engine = create_engine(normalise_db_arg(db))
    table = InventoryRow.__table__
    with engine.connect() as connection:
        rows = connection.execute(
            select(table.c.device_id, table.c.restricted, table.c.status)
        ).all()
        cases = dict(
            connection.execute(
                select(CaseRow.device_id, CaseRow.status).where(CaseRow.subject == "restricted")
            ).all()
        )
        by_sql = set(
            connection.execute(select(table.c.device_id).where(remaining_clause(table))).scalars()
        )
    engine.dispose()
    by_python = {
        device_id
        for device_id, restricted, status in rows
        if remains(restricted, status, cases.get(device_id))
    }
    assert by_sql == by_python == _remaining_ids(db)
    # and the Python definition itself, case by case
    for restricted, status, case in product(
        (True, False), ("present", "missing", "gone"), (None, "open", "replaced", "verified")
    ):
        expected = restricted and status != "gone" and case != "verified"
        assert remains(restricted, status, case) is expected

"""A device's page and ``provscan explain --db`` show the evidence its verdict comes from: the
newest sighting that identified it (docs/inventory.md), not a newer one that identified
nothing (an asset register's record of its address and host name, a capture of its TCP
resets), and say plainly that the newer sighting identified nothing, with its time and
source. The lab capture analysed by ``provscan pcap`` and a CSV register by ``provscan
import`` into a real SQLite store, as a user runs them; the real console over that store."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import run_provscan
from pagetools import page_log_in, table_rows
from webtools import PASSWORD, TestClient

from provscan.store.db import normalise_db_arg, open_store
from provscan.web.app import create_app

FIXTURE = Path(__file__).resolve().parents[1] / "pcap" / "fixtures" / "lab_scan.pcap.gz"
ENV = {"PROVSCAN_ALLOWED_TARGETS": "127.0.0.0/8,::1/128"}


def _ok(*args: str, width: int | None = None) -> str:
    result = run_provscan(*args, env=ENV, width=width, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _json(*args: str) -> Any:
    return json.loads(_ok(*args, "-f", "json"))


def capture_then_register(folder: Path, count: int) -> tuple[str, list[str], Path]:
    """A store (its path) holding the lab capture at site lab, then an import of an asset
    register listing ``count`` of its restricted devices by address and host name only (it
    identifies nothing); the restricted devices' addresses before the import (the first
    ``count`` are those listed), and the register."""
    db = str(folder / "store.db")
    _ok("pcap", str(FIXTURE), "--db", db, "--site", "lab")
    before = {d["ip"]: d for d in _json("inventory", "--db", db)["devices"]}
    restricted = sorted(ip for ip, d in before.items() if d["verdict"] == "restricted")
    assert len(restricted) > count
    senders = restricted[:count]
    register = folder / "cmdb.csv"
    register.write_text(
        "ip,hostname\n" + "".join(f"{ip},camera-{n}\n" for n, ip in enumerate(senders)),
        encoding="utf-8",
    )
    _ok("import", str(register), "--db", db, "--site", "lab")
    return db, restricted, register


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The lab capture stored at site lab, then, later, an import of an asset register that
    lists some of its restricted devices by address and host name only (no maker: it
    identifies nothing); the users of the console."""
    db, restricted, register = capture_then_register(tmp_path_factory.mktemp("verdict-sighting"), 4)
    senders = restricted[:4]
    scans = _json("scans", "--db", db, "--all")["scans"]
    newest, first = scans[0], scans[1]
    assert newest["kind"] == "import" and newest["restricted"] == 0
    assert datetime.fromisoformat(newest["started_at"]) > datetime.fromisoformat(
        first["started_at"]
    )
    url = normalise_db_arg(db)
    with open_store(url) as opened:
        opened.accounts().add_user("viewer", "viewer", PASSWORD, actor="test", address="cli")
    after = {d["ip"]: d for d in _json("inventory", "--db", db)["devices"]}
    return {
        "db": db,
        "url": url,
        "first": first,
        "newer": newest,
        "senders": senders,
        "untouched": restricted[4:],
        "after": after,
        "register": register,
    }


def _evidence_of(db: str, scan_id: str, ip: str) -> list[dict[str, Any]]:
    """The evidence the scan ``scan_id`` recorded of the device at ``ip`` (the whole scan
    loaded back from the store)."""
    with open_store(normalise_db_arg(db)) as opened:
        loaded = opened.load(scan_id)
    (entry,) = [d for d in loaded.devices if d.ip == ip]
    return [item.model_dump(mode="json") for item in entry.evidence]


def test_the_device_page_shows_the_sighting_its_verdict_comes_from(
    store: dict[str, Any],
) -> None:
    # Given a restricted device the register's import saw last (and identified nothing of)
    ip = store["senders"][0]
    device = store["after"][ip]
    newer, first = store["newer"], store["first"]
    assert device["last_scan_id"] == newer["id"]
    assert (device["verdict"], device["restricted"]) == ("restricted", True)
    expected = _evidence_of(store["db"], first["id"], ip)
    assert expected  # the lab capture read something of it
    with open_store(store["url"]) as opened:
        (imported,) = [d for d in opened.load(newer["id"]).devices if d.ip == ip]
    assert imported.verdict == "unknown" and imported.manufacturer is None

    with TestClient(create_app(store["url"]), raise_server_exceptions=False) as client:
        page_log_in(client, "viewer")
        html = client.get(f"/devices/{device['device_id']}").text
        # Then its evidence is the identifying sighting's, item by item
        rows = table_rows(html, "evidence")
        assert [row[3] for row in rows] == [item["observed"].strip() for item in expected]
        binding = html.split('id="binding-measures">', 1)[1].split("</dd>", 1)[0]
        assert binding.strip() != "none"
        # and the page says plainly that a newer sighting identified nothing, when, what
        started = datetime.fromisoformat(newer["started_at"]).astimezone(UTC)
        said = " ".join(html.split('id="verdict-sighting">', 1)[1].split("</dd>", 1)[0].split())
        assert "A newer sighting identified nothing: import" in said
        assert str(store["register"]) in said and newer["id"] in said
        assert started.strftime("%Y-%m-%d") in said and started.strftime("%H:%M") in said
        assert first["id"] in said  # the sighting the verdict, evidence and findings are from
        # and a restricted device the register did not list shows its newest sighting as ever
        other = store["after"][store["untouched"][0]]
        assert other["last_scan_id"] == first["id"]
        plain = client.get(f"/devices/{other['device_id']}").text
        assert 'id="verdict-sighting"' not in plain
        assert table_rows(plain, "evidence")


def test_explain_db_explains_the_sighting_its_verdict_comes_from(
    store: dict[str, Any],
) -> None:
    ip = store["senders"][-1]
    newer, first = store["newer"], store["first"]
    db = store["db"]
    # When the device is explained from the store
    explained = _json("explain", ip, "--db", db)
    # Then it is the sighting that identified it: its verdict, its evidence (as the same
    # sighting explained by its scan gives them)
    chosen = _json("explain", ip, "--db", db, "--scan", first["id"])
    assert explained["verdict"] == chosen["verdict"] == "restricted"
    assert explained["evidence"] == chosen["evidence"] != []
    assert explained["origin"]["scan_id"] == first["id"]
    # and it names the newer sighting that identified nothing: its scan, time and source
    said = explained["origin"]["newer_sighting"]
    assert said["scan_id"] == newer["id"] and said["kind"] == "import"
    assert said["targets"] == newer["targets"] and str(store["register"]) in newer["targets"][0]
    assert datetime.fromisoformat(said["started_at"]) == datetime.fromisoformat(newer["started_at"])
    assert chosen["origin"]["newer_sighting"] is None
    table = " ".join(_ok("explain", ip, "--db", db, width=300).split())
    started = datetime.fromisoformat(newer["started_at"]).astimezone(UTC)
    assert (
        f"a newer sighting identified nothing: an import of {newer['targets'][0]}, "
        f"scan {newer['id'][:12]} of {started:%Y-%m-%d %H:%M} UTC"
    ) in table
    # and the import's own sighting, asked for, is explained as it is: nothing identified
    own = _json("explain", ip, "--db", db, "--scan", newer["id"])
    assert own["verdict"] == "unknown" and own["origin"]["newer_sighting"] is None

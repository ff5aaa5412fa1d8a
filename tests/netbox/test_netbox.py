"""`provscan netbox pull|push` against a recorded NetBox API on 127.0.0.1 (never a real
instance): devices screened into the inventory with their origin, the same verdicts as
`provscan screen`, and push writing nothing without --apply."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from netbox_server import FIXTURE, TOKEN, netbox_server

DEVICES = json.loads(FIXTURE.read_text(encoding="utf-8"))["devices"]


def _run(*args: str, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if config is not None:
        env["PROVSCAN_CONFIG"] = str(config)
    return subprocess.run(
        [sys.executable, "-m", "provscan", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "netbox-token"
    path.write_text(TOKEN + "\n")
    path.chmod(0o600)
    return path


def _inventory(db: str) -> list[dict[str, Any]]:
    result = _run("inventory", "-f", "json", "--db", db)
    assert result.returncode == 0, result.stderr
    devices: list[dict[str, Any]] = json.loads(result.stdout)["devices"]
    return devices


def test_pull_screens_every_device_with_an_ip_into_the_inventory(
    tmp_path: Path, token_file: Path
) -> None:
    db = str(tmp_path / "store.db")
    with netbox_server() as (url, state):
        pulled = _run(
            "netbox",
            "pull",
            "--url",
            url,
            "--token-file",
            str(token_file),
            "--db",
            db,
            "-f",
            "json",
        )
    assert pulled.returncode == 0, pulled.stderr
    # only reads, every page (the server pages two at a time), all on the server given
    assert state.writes() == []
    device_pages = [r for r in state.requests if r["path"] == "/api/dcim/devices/"]
    assert [int(r["query"].get("offset", 0)) for r in device_pages] == [0, 2, 4, 6]
    assert all(r["headers"]["authorization"] == f"Token {TOKEN}" for r in state.requests)
    assert TOKEN not in pulled.stdout + pulled.stderr
    # the result is an import of that NetBox; each device says where it came from
    document = json.loads(pulled.stdout)
    assert document["scan"]["kind"] == "import"
    assert document["scan"]["targets"] == [f"netbox:{url}"]
    with_ip = [d for d in DEVICES if d["primary_ip4"] or d["primary_ip6"]]
    assert len(document["devices"]) == len(with_ip)
    origin = {
        int(note.split()[3]): device
        for device in document["devices"]
        for note in device["notes"]
        if note.startswith("netbox: device id ")
    }
    assert sorted(origin) == sorted(d["id"] for d in with_ip)
    for item in with_ip:
        device = origin[item["id"]]
        address = (item["primary_ip4"] or item["primary_ip6"])["address"].split("/")[0]
        assert device["ip"] == address
        assert device["hostname"] == item["name"]
        assert device["serial"] == (item["serial"] or None)
    # the device without a primary IP is counted, not stored
    assert "1 without a primary IP left out" in pulled.stderr
    assert any("without a primary IP left out: 106" in n for n in document["scan"]["notes"])
    # the inventory has them, present (an import proves no absence, and marks nothing missing)
    inventory = _inventory(db)
    assert {d["ip"] for d in inventory} == {d["ip"] for d in origin.values()}
    assert {d["status"] for d in inventory} == {"present"}
    by_ip = {d["ip"]: d for d in inventory}
    assert by_ip["10.20.0.11"]["manufacturer"] == "Hikvision" and by_ip["10.20.0.11"]["restricted"]
    # Lorex LNB4321B: Lorex's own numbering names no year, and Dahua owned Lorex only in
    # 2018-2022: Dahua through Lorex's dated relation, a possible maker for review
    assert by_ip["2001:db8:30::13"]["manufacturer"] == "Dahua"
    assert not by_ip["2001:db8:30::13"]["restricted"]
    lorex = next(d for d in document["devices"] if d["ip"] == "2001:db8:30::13")
    # it reads as review, not as clear for its possible maker (contract 1.4 verdict)
    assert any(note.startswith("review: screened: ") for note in lorex["notes"])
    assert lorex["verdict"] == "review"
    assert next(d for d in document["devices"] if d["ip"] == "10.20.0.11")["verdict"] == (
        "restricted"
    )
    assert by_ip["10.20.0.17"]["manufacturer"] == "Hikvision"  # EZVIZ, a consumer brand
    assert not by_ip["10.20.0.14"]["restricted"]  # Axis
    assert not by_ip["10.20.0.1"]["restricted"]  # Cisco
    assert all(d["case"] for d in inventory if d["restricted"])


def test_pull_gives_the_same_verdicts_as_screen(tmp_path: Path, token_file: Path) -> None:
    # Given the NetBox devices as a procurement list (manufacturer, model)
    listing = tmp_path / "list.csv"
    with listing.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Manufacturer", "Model", "Name"])
        for item in DEVICES:
            writer.writerow(
                [
                    item["device_type"]["manufacturer"]["name"],
                    item["device_type"]["model"],
                    item["name"],
                ]
            )
    screened = _run(
        "screen",
        str(listing),
        "-f",
        "json",
        "--brand-col",
        "Manufacturer",
        "--model-col",
        "Model",
        "--desc-col",
        "Name",
    )
    assert screened.returncode == 0, screened.stderr
    rows = json.loads(screened.stdout)["rows"]
    expected = {
        item["name"]: (row["maker"], row["restricted"] is True)
        for item, row in zip(DEVICES, rows, strict=True)
        if item["primary_ip4"] or item["primary_ip6"]
    }
    with netbox_server() as (url, _):
        pulled = _run(
            "netbox", "pull", "--url", url, "--token-file", str(token_file), "--no-db", "-f", "json"
        )
    assert pulled.returncode == 0, pulled.stderr
    got = {
        d["hostname"]: (d["manufacturer"], d["restricted"])
        for d in json.loads(pulled.stdout)["devices"]
    }
    assert got == expected
    # Lorex LNB4321B is for review (Lorex's dated relation), not one of them
    assert sum(restricted for _, restricted in got.values()) == 3


def test_pull_of_one_site_asks_netbox_for_that_site(tmp_path: Path, token_file: Path) -> None:
    db = str(tmp_path / "store.db")
    with netbox_server() as (url, state):
        pulled = _run(
            "netbox",
            "pull",
            "--url",
            url,
            "--token-file",
            str(token_file),
            "--site",
            "depot",
            "--db",
            db,
            "--fail-on-restricted",
        )
    assert pulled.returncode == 3, pulled.stderr  # restricted devices at the depot
    assert {r["query"].get("site") for r in state.requests} == {"depot"}
    inventory = _inventory(db)
    assert {d["ip"] for d in inventory} == {"10.30.0.12", "2001:db8:30::13"}
    assert {d["site"] for d in inventory} == {"depot"}


def _pull_then(
    tmp_path: Path, token_file: Path, *push: str
) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]], Any]:
    """Pull into a new store, then run push with ``push``'s options; the requests push made."""
    db = str(tmp_path / "store.db")
    with netbox_server() as (url, state):
        pulled = _run("netbox", "pull", "--url", url, "--token-file", str(token_file), "--db", db)
        assert pulled.returncode == 0, pulled.stderr
        state.requests.clear()
        pushed = _run(
            "netbox", "push", "--url", url, "--token-file", str(token_file), "--db", db, *push
        )
        requests = list(state.requests)
    return pushed, requests, state


def test_push_without_apply_shows_the_changes_and_writes_nothing(
    tmp_path: Path, token_file: Path
) -> None:
    pushed, requests, state = _pull_then(tmp_path, token_file, "-f", "json")
    assert pushed.returncode == 0, pushed.stderr
    # no write request reached NetBox
    assert [r["method"] for r in requests] == ["GET"] * len(requests)
    assert state.writes() == []
    assert json.loads(FIXTURE.read_text())["devices"] == state.devices
    plan = json.loads(pushed.stdout)
    assert plan["applied"] is False
    changes = {c["netbox_id"]: c for c in plan["changes"]}
    assert plan["not_in_inventory"] == [106]
    assert changes[101]["tag"] == "add"
    assert changes[101]["status_after"].startswith("restricted; measures: ")
    assert changes[104]["tag"] == "remove"  # the Axis camera was tagged by mistake
    assert changes[104]["status_after"] == "clear"
    assert changes[105]["tag"] is None and changes[105]["status_after"] == "clear"
    # the Lorex camera is for review (Lorex's dated relation): the field says so, never
    # "not restricted", and it gets no tag
    assert changes[103]["status_after"].startswith("review (")
    assert changes[103]["tag"] is None
    assert "nothing written" in pushed.stderr
    table = _run(
        "netbox",
        "push",
        "--url",
        "http://127.0.0.1:9",
        "--token-file",
        str(token_file),
        "--db",
        str(tmp_path / "store.db"),
    )
    assert table.returncode == 1 and "Connect" in table.stderr  # nothing listens there


def test_push_with_apply_sends_the_right_bodies_and_is_idempotent(
    tmp_path: Path, token_file: Path
) -> None:
    db = str(tmp_path / "store.db")
    with netbox_server() as (url, state):
        state.tags = [t for t in state.tags if t["slug"] != "provscan-restricted"]
        assert (
            _run(
                "netbox", "pull", "--url", url, "--token-file", str(token_file), "--db", db
            ).returncode
            == 0
        )
        state.requests.clear()
        applied = _run(
            "netbox",
            "push",
            "--url",
            url,
            "--token-file",
            str(token_file),
            "--db",
            db,
            "--apply",
            "-f",
            "json",
        )
        writes = state.writes()
        state.requests.clear()
        again = _run(
            "netbox", "push", "--url", url, "--token-file", str(token_file), "--db", db, "--apply"
        )
        second_writes = state.writes()
        devices = {d["id"]: d for d in state.devices}
    assert applied.returncode == 0, applied.stderr
    posts = [w for w in writes if w["method"] == "POST"]
    assert [p["path"] for p in posts] == ["/api/extras/tags/", "/api/extras/custom-fields/"]
    assert posts[0]["body"]["slug"] == "provscan-restricted"
    assert posts[1]["body"]["name"] == "provscan_status"
    assert posts[1]["body"]["object_types"] == ["dcim.device"]
    patches = {int(w["path"].split("/")[-2]): w["body"] for w in writes if w["method"] == "PATCH"}
    assert sorted(patches) == [101, 102, 103, 104, 105, 107]
    # other tags are kept, ours is added or taken away
    assert patches[101]["tags"] == [{"slug": "cctv"}, {"slug": "provscan-restricted"}]
    assert patches[104]["tags"] == [{"slug": "cctv"}]
    assert "tags" not in patches[105]
    assert patches[102]["custom_fields"]["provscan_status"].startswith("restricted; measures:")
    assert "case " in patches[102]["custom_fields"]["provscan_status"]
    assert "open" in patches[102]["custom_fields"]["provscan_status"]
    assert patches[105] == {"custom_fields": {"provscan_status": "clear"}}
    assert patches[103]["custom_fields"]["provscan_status"].startswith("review (")
    assert [t["slug"] for t in devices[107]["tags"]] == ["provscan-restricted"]
    # a second push finds nothing to change
    assert again.returncode == 0, again.stderr
    assert second_writes == []
    assert "0 device(s) written, 6 already up to date" in again.stderr


def test_bad_token_files_urls_and_answers_are_one_line_errors(
    tmp_path: Path, token_file: Path
) -> None:
    db = str(tmp_path / "store.db")
    missing = _run(
        "netbox",
        "pull",
        "--url",
        "http://127.0.0.1:9",
        "--token-file",
        str(tmp_path / "absent"),
        "--db",
        db,
    )
    assert missing.returncode == 2 and "token file" in missing.stderr
    two_lines = tmp_path / "two"
    two_lines.write_text("abc def\n")
    spaced = _run(
        "netbox", "pull", "--url", "http://127.0.0.1:9", "--token-file", str(two_lines), "--db", db
    )
    assert spaced.returncode == 2 and "on one line" in spaced.stderr
    userinfo = _run(
        "netbox",
        "pull",
        "--url",
        "http://me:pw@127.0.0.1:9",
        "--token-file",
        str(token_file),
        "--db",
        db,
    )
    assert userinfo.returncode == 2 and "user or password" in userinfo.stderr
    outside = _run(
        "netbox",
        "pull",
        "--url",
        "https://netbox.example.org",
        "--token-file",
        str(token_file),
        "--db",
        db,
    )
    assert outside.returncode == 2 and "PROVSCAN_ALLOWED_TARGETS" in outside.stderr
    wrong = tmp_path / "wrong"
    wrong.write_text("f" * 40)
    wrong.chmod(0o644)
    with netbox_server() as (url, _):
        refused = _run("netbox", "pull", "--url", url, "--token-file", str(wrong), "--db", db)
    assert refused.returncode == 1 and "HTTP 403" in refused.stderr
    assert "f" * 40 not in refused.stderr
    warning, error = refused.stderr.strip().splitlines()
    assert "readable by others" in warning and error.startswith("provscan: error: NetBox")
    for result in (missing, spaced, userinfo, outside):
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "store.db").exists() or _inventory(db) == []


def test_the_status_field_starts_with_the_verdict_word(tmp_path: Path, token_file: Path) -> None:
    """restricted, review, unknown or clear: never "not restricted" for a device that is only
    not established (review) or not identified (unknown)."""
    import dataclasses

    from provscan.netbox.push import status_text
    from provscan.store.db import normalise_db_arg, open_store

    pushed, _, _ = _pull_then(tmp_path, token_file, "-f", "json")
    assert pushed.returncode == 0, pushed.stderr
    after = {c["netbox_id"]: c["status_after"] for c in json.loads(pushed.stdout)["changes"]}
    assert after[101].split(";")[0] == "restricted" and after[103].startswith("review (")
    with open_store(normalise_db_arg(str(tmp_path / "store.db"))) as store:
        device = next(d for d in store.inventory() if d.verdict == "clear")
    unknown = dataclasses.replace(device, verdict="unknown", restricted=False)
    assert status_text(unknown) == "unknown (the maker was not identified: not cleared)"
    assert status_text(dataclasses.replace(device, verdict="")) == status_text(unknown)
    assert status_text(device) == "clear"


def test_push_refuses_a_store_that_is_not_there(tmp_path: Path, token_file: Path) -> None:
    typo = tmp_path / "stor.db"
    pushed = _run(
        "netbox", "push", "--url", "http://127.0.0.1:9", "--token-file", str(token_file),
        "--db", str(typo),
    )  # fmt: skip
    assert pushed.returncode == 2 and f"no provscan database at {typo}" in pushed.stderr
    assert not typo.exists()

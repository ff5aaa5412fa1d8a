"""`provscan netbox pull` without --site against the recorded NetBox on 127.0.0.1: each
device keeps its NetBox site in the inventory (a newcomer found every device filed under no
site, so that `inventory --site hq` missed them and a later scan of the site could not match
them), and -q/--quiet on pull and push alike."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from netbox_server import FIXTURE, TOKEN, netbox_server

from provscan.store.db import normalise_db_arg, open_store

DEVICES = json.loads(FIXTURE.read_text(encoding="utf-8"))["devices"]
#: NetBox's own site of each device that has an address, by its address.
SITES = {
    (d["primary_ip4"] or d["primary_ip6"])["address"].split("/")[0]: d["site"]["slug"]
    for d in DEVICES
    if d["primary_ip4"] or d["primary_ip6"]
}


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "provscan", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "80"},
    )
    assert "Traceback" not in result.stderr
    return result


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "netbox-token"
    path.write_text(TOKEN + "\n")
    path.chmod(0o600)
    return path


def _inventory(db: str, *args: str) -> list[dict[str, Any]]:
    result = _run("inventory", "-f", "json", "--db", db, *args)
    assert result.returncode == 0, result.stderr
    devices: list[dict[str, Any]] = json.loads(result.stdout)["devices"]
    return devices


def test_pull_without_site_files_each_device_under_its_netbox_site(
    tmp_path: Path, token_file: Path
) -> None:
    assert len(set(SITES.values())) == 2  # the recording has two sites: hq and depot
    db = str(tmp_path / "store.db")
    report = tmp_path / "pull.json"
    with netbox_server() as (url, state):
        pulled = _run(
            "netbox", "pull", "--url", url, "--token-file", str(token_file), "--db", db,
            "-o", str(report),
        )  # fmt: skip
    assert pulled.returncode == 0, pulled.stderr
    assert {r["query"].get("site") for r in state.requests} == {None}  # one read of all
    # every device at its own NetBox site, none at no site
    inventory = _inventory(db)
    assert {d["ip"]: d["site"] for d in inventory} == SITES
    hq = _inventory(db, "--site", "hq")
    assert {d["ip"] for d in hq} == {ip for ip, site in SITES.items() if site == "hq"}
    # one import per site, each stored at its site, and said so
    with open_store(normalise_db_arg(db)) as store:
        scans = store.scans(None)
    assert sorted((s.kind, s.site) for s in scans) == [("import", "depot"), ("import", "hq")]
    for scan in scans:
        assert (
            f"stored scan {scan.id} in " in pulled.stderr and f"(site {scan.site})" in pulled.stderr
        )
    summary = next(line for line in pulled.stderr.splitlines() if "device(s) read" in line)
    assert "(sites hq, depot)" in summary
    # one report of them all: a single JSON document with every device
    document = json.loads(report.read_text(encoding="utf-8"))
    assert {d["ip"] for d in document["devices"]} == set(SITES)
    assert document["scan"]["kind"] == "import" and document["scan"]["targets"] == [f"netbox:{url}"]
    assert any("sites hq, depot" in note for note in document["scan"]["notes"])
    assert any("without a primary IP left out: 106" in n for n in document["scan"]["notes"])


def test_a_pull_of_every_site_matches_what_a_pull_of_one_site_stored(
    tmp_path: Path, token_file: Path
) -> None:
    db = str(tmp_path / "store.db")
    common = ("--token-file", str(token_file), "--db", db, "-q")
    with netbox_server() as (url, _):
        assert _run("netbox", "pull", "--url", url, "--site", "depot", *common).returncode == 0
        depot = {d["ip"]: d["device_id"] for d in _inventory(db)}
        assert _run("netbox", "pull", "--url", url, *common).returncode == 0
    # the depot's devices are the same inventory devices, not a second copy at no site
    inventory = _inventory(db)
    assert len(inventory) == len(SITES)
    by_ip = {d["ip"]: d["device_id"] for d in inventory}
    assert all(by_ip[ip] == device_id for ip, device_id in depot.items())


def test_a_netbox_of_one_site_is_pulled_at_that_site(tmp_path: Path, token_file: Path) -> None:
    db = str(tmp_path / "store.db")
    with netbox_server() as (url, state):
        state.devices[:] = [d for d in state.devices if d["site"]["slug"] == "hq"]
        pulled = _run(
            "netbox", "pull", "--url", url, "--token-file", str(token_file), "--db", db,
            "-f", "json",
        )  # fmt: skip
    assert pulled.returncode == 0, pulled.stderr
    document = json.loads(pulled.stdout)
    with open_store(normalise_db_arg(db)) as store:
        (scan,) = store.scans(None)
    # one import, stored with the id its report carries, at the site NetBox gave
    assert scan.site == "hq" and scan.id == document["scan"]["id"]
    assert {d["site"] for d in _inventory(db)} == {"hq"}


def test_quiet_leaves_out_the_summary_of_pull_and_push(tmp_path: Path, token_file: Path) -> None:
    db = str(tmp_path / "store.db")
    base = ("--token-file", str(token_file), "--db", db)
    with netbox_server() as (url, _):
        pull = ("netbox", "pull", "--url", url, "--token-file", str(token_file), "--no-db")
        loud = _run(*pull, "-f", "json")
        quiet = _run(*pull, "-f", "json", "-q")
        assert loud.returncode == quiet.returncode == 0, (loud.stderr, quiet.stderr)
        assert "device(s) read" in loud.stderr and quiet.stderr == ""
        # the same report: only stderr is quieter
        ips = [{d["ip"] for d in json.loads(r.stdout)["devices"]} for r in (loud, quiet)]
        assert ips[0] == ips[1] == set(SITES)
        assert _run("netbox", "pull", "--url", url, *base, "--quiet").returncode == 0
        pushed = _run("netbox", "push", "--url", url, *base, "-f", "json", "-q")
        assert pushed.returncode == 0 and pushed.stderr == ""
        assert json.loads(pushed.stdout)["changes"]
        assert "already up to date" in _run("netbox", "push", "--url", url, *base).stderr
    for command in ("pull", "push"):
        assert "-q, --quiet" in _run("netbox", command, "--help").stdout

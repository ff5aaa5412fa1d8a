"""Mistakes a newcomer makes with `provscan scan` (the built-in lab standing in for a home
network), and what provscan says now.

1. The lab not started (on a real network: a VPN down, the wrong interface): the scan said
   "0 devices ... 256 hosts without answers", exit 0, and stored it, counting every device
   seen there before missing. Now a warning says nothing answered, and such a scan is not
   stored when it would count missing devices nobody said were taken away (``--store-empty``
   stores it); a camera whose case says removed is still proved gone by it.
2. A public address was refused with a ready-to-paste command scanning it: the refusal says
   when such a scan is allowed and where the docs explain it, with no command line.
3. ``127.77.1.10:80``, ``http://127.77.1.10/`` and ``127.77.1.*`` were refused with words
   that did not say what to write instead.
4. The "stored scan <uuid> in <path>" line did not fit 80 columns.
5. ``provscan report`` on an empty default store said to "store a scan with --db <path>".

Nothing here leaves loopback: refusals run with name lookups and the scan patched to fail
the test, and the scans that run reach only this module's own 127.x addresses.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

import pytest
from helpers import SESSION_DEVICES, run_provscan
from typer.testing import CliRunner

from provscan import pipeline
from provscan.cli import app
from provscan.errors import TargetError
from provscan.lab.server import run_lab_in_thread
from provscan.targets import build_targets

RUNNER = CliRunner()
#: This module's own addresses (second octet 120-129: the inventory tests'; third octet 97).
NET = f"127.{120 + os.getpid() % 10}.97"
BY_ID = {device.id: device for device in SESSION_DEVICES}
CAMERAS = [
    BY_ID["hik-ipc-legacy"].model_copy(update={"address": f"{NET}.10"}),
    BY_ID["dahua-ipc"].model_copy(update={"address": f"{NET}.11"}),
]
PORTS = ",".join(str(p) for p in sorted({s.port for d in CAMERAS for s in d.services}))


@pytest.fixture
def nothing_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    """No name is resolved and no scan starts: either fails the test."""

    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a target reached DNS or the scan")

    monkeypatch.setattr(socket, "getaddrinfo", never)
    monkeypatch.setattr(pipeline, "run_scan", never)
    monkeypatch.setattr(pipeline, "run_interruptibly", never)


def _one_error(result: Any, code: int = 2) -> str:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("provscan: error: "), lines
    assert "Traceback" not in result.output
    return str(lines[0]).removeprefix("provscan: error: ")


# -- 3. targets written as another tool writes them -----------------------------------------

MISSHAPEN = [
    (
        "127.77.1.10:80",
        "bad target '127.77.1.10:80': a port is not part of the address; "
        "write 127.77.1.10 --ports 80",
    ),
    (
        "[::1]:8000",
        "bad target '[::1]:8000': a port is not part of the address; write ::1 --ports 8000",
    ),
    (
        "http://127.77.1.10/",
        "bad target 'http://127.77.1.10/': a URL, not an address; write its host part: 127.77.1.10",
    ),
    (
        "https://127.77.1.10:8443/doc/page/login.asp",
        "bad target 'https://127.77.1.10:8443/doc/page/login.asp': a URL, not an address; "
        "write its host part: 127.77.1.10 --ports 8443",
    ),
    (
        "127.77.1.*",
        "bad target '127.77.1.*': wildcards are not accepted; write 127.77.1.0/24 for the "
        "whole network, or a range such as 127.77.1.1-20",
    ),
    ("127.77.*.*", "bad target '127.77.*.*': wildcards are not accepted; write 127.77.0.0/16"),
]


@pytest.mark.parametrize(("spec", "message"), MISSHAPEN)
def test_a_port_a_url_or_a_wildcard_says_what_to_write_instead(
    nothing_sent: None, spec: str, message: str
) -> None:
    with pytest.raises(TargetError) as refused:
        build_targets([spec])
    assert str(refused.value) == message
    assert _one_error(RUNNER.invoke(app, ["scan", spec, "--no-db", "--no-discovery"])) == message
    # explain refuses it the same way, without first saying it probes it now
    assert _one_error(RUNNER.invoke(app, ["explain", spec])) == message


def test_what_the_messages_suggest_is_accepted(nothing_sent: None) -> None:
    # the suggestions are targets provscan takes (read without the network)
    for suggested in ("127.77.1.10", "::1", "127.77.1.0/24", "127.77.1.1-20", "127.77.0.0/16"):
        assert build_targets([suggested]).size_upper_bound >= 1


def test_a_target_file_line_gets_the_same_words(nothing_sent: None, tmp_path: Path) -> None:
    listed = tmp_path / "targets.txt"
    listed.write_text("127.77.1.11\n127.77.1.10:554\n", encoding="utf-8")
    line = _one_error(RUNNER.invoke(app, ["scan", f"@{listed}", "--no-db", "--no-discovery"]))
    assert line.endswith("write 127.77.1.10 --ports 554")


# -- 2. a public address: no command that would scan it -------------------------------------


def test_a_refused_public_address_gets_no_command_that_scans_it(
    nothing_sent: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # without the scope interlock, where --allow-public would let it through (nothing is sent:
    # the refusal comes first, and the scan and DNS are patched to fail)
    monkeypatch.delenv("PROVSCAN_ALLOWED_TARGETS")
    address = "8.8.8.8"  # data only
    for argv in (["scan", address, "--no-db", "--no-discovery"], ["explain", address]):
        line = _one_error(RUNNER.invoke(app, argv))
        assert line.startswith(f"refusing target {address}: public address; ")
        assert line.count(address) == 1, line  # named once: in no suggested command
        assert "provscan scan" not in line and "-o scan.json" not in line
        assert "unless you own it" in line or "only one you own" in line
        assert 'README "Safety model" explains --allow-public' in line


# -- 5. an empty default store --------------------------------------------------------------


def test_report_on_an_empty_default_store_says_to_store_a_scan_first(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {"XDG_DATA_HOME": str(home)}
    result = run_provscan("report", "-o", str(tmp_path / "r.html"), env=env)
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    default = home / "provscan" / "provscan.db"
    assert line == (
        f"provscan: error: no provscan database at {default} (the default): nothing was "
        "stored yet; store a scan first (provscan scan TARGET)"
    )
    assert not default.exists() and not (tmp_path / "r.html").exists()
    # with a --db the user named, the words name it
    named = tmp_path / "mine.db"
    result = run_provscan("report", "-o", str(tmp_path / "r.html"), "--db", str(named), env=env)
    assert result.returncode == 2
    assert f"store a scan with --db {named} first" in result.stderr


# -- 1. and 4. a scan nothing answered, and the "stored scan" line ---------------------------


def _scan(db: Path, *args: str) -> Any:
    result = run_provscan(
        "scan", *args, "--db", str(db), "--no-discovery", "--ports", PORTS, "-q", width=80
    )
    assert result.returncode in (0, 3, 5), result.stderr  # 5: nothing answered, devices known
    assert "Traceback" not in result.stderr
    return result


def _statuses(db: Path) -> dict[str, str]:
    result = run_provscan("inventory", "--db", str(db), "-f", "json")
    assert result.returncode == 0, result.stderr
    return {d["ip"]: d["status"] for d in json.loads(result.stdout)["devices"]}


def _scan_ids(db: Path) -> list[str]:
    result = run_provscan("scans", "--db", str(db), "-f", "json", "--all")
    assert result.returncode == 0, result.stderr
    return [scan["id"] for scan in json.loads(result.stdout)["scans"]]


def test_a_scan_nothing_answered_warns_and_leaves_the_devices_present(tmp_path: Path) -> None:
    # a folder name long enough that "stored scan <uuid> in <path>" would not fit 80 columns
    db = tmp_path / "a-folder-whose-name-is-rather-long-for-the-store" / "inventory.db"
    db.parent.mkdir()
    network = f"{NET}.0/28"
    with run_lab_in_thread(CAMERAS):
        first = _scan(db, network)
    assert "nothing answered" not in first.stderr
    assert _statuses(db) == {d.address: "present" for d in CAMERAS}
    (first_id,) = _scan_ids(db)

    # the lab is down: nothing answers
    silent = _scan(db, network)
    assert silent.returncode == 5  # inconclusive: nothing answered where devices are known
    assert "0 devices" in silent.stdout
    warnings = [line for line in silent.stderr.splitlines() if "warning" in line]
    assert warnings == [
        "provscan: warning: nothing answered: no reply from any of the 16 addresses scanned, "
        f"on the {len(PORTS.split(','))} ports probed. Is this machine on that network (VPN up, "
        "the right interface)? For the built-in lab: is it running (provscan lab up)?",
        "provscan: warning: scan not stored: it would count 2 devices seen at these addresses "
        "before missing, on no answer at all (if they really are gone, --store-empty stores it)",
    ]
    assert "stored scan" not in silent.stderr
    assert _scan_ids(db) == [first_id]
    assert _statuses(db) == {d.address: "present" for d in CAMERAS}

    # the user says the addresses really are empty: stored, and the devices counted missing
    empty = _scan(db, network, "--store-empty")
    assert "nothing answered" in empty.stderr and "scan not stored" not in empty.stderr
    newest = _scan_ids(db)[0]
    assert newest != first_id
    assert _statuses(db) == {d.address: "missing" for d in CAMERAS}
    # 4. the stored line: the id's prefix that commands take, the path whole, within 80
    lines = [line for line in empty.stderr.splitlines() if "warning" not in line]
    assert len(f"stored scan {newest} in {db}") > 80  # as it was: one line, too wide
    assert lines == [f"stored scan {newest[:12]}", f"  in {db}"], lines  # the path unbroken
    shown = run_provscan("scans", "--db", str(db), "-f", "json", "-n", "1")
    assert newest[:12] in shown.stdout


def test_a_silent_scan_proves_a_removal_the_case_declared(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    camera = CAMERAS[0]  # a Hikvision camera: restricted, its case opened
    with run_lab_in_thread([camera]):
        _scan(db, camera.address)
    cases = json.loads(run_provscan("cases", "list", "--db", str(db), "-f", "json").stdout)
    (case,) = [c for c in cases["cases"] if c["subject"] == "restricted"]
    # taken away without a word: a silent scan of its address is not proof (not stored)
    silent = _scan(db, camera.address)
    assert "scan not stored: it would count 1 device seen" in silent.stderr
    assert "no reply from the address scanned" in silent.stderr
    assert _statuses(db) == {camera.address: "present"}
    # the case says removed: the same scan is the proof, stored, and the case verified
    updated = run_provscan(
        "cases", "update", str(case["id"]), "--status", "removed", "--db", str(db)
    )
    assert updated.returncode == 0, updated.stderr
    proof = _scan(db, camera.address)
    assert proof.returncode == 0  # conclusive: the removal is what nothing answering proves
    assert "scan not stored" not in proof.stderr and "stored scan " in proof.stderr
    assert _statuses(db) == {camera.address: "missing"}
    shown = json.loads(
        run_provscan("cases", "show", str(case["id"]), "--db", str(db), "-f", "json").stdout
    )
    assert shown["status"] == "verified"


def test_a_first_scan_nothing_answered_is_stored(tmp_path: Path) -> None:
    # nothing stored before: storing it counts nobody missing, and keeps the record of it
    db = tmp_path / "store.db"
    silent = _scan(db, f"{NET}.40")
    assert "nothing answered" in silent.stderr and "scan not stored" not in silent.stderr
    assert len(_scan_ids(db)) == 1 and _statuses(db) == {}

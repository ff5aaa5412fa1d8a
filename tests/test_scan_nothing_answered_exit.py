"""A scan nothing answered, for scripts (an MSP automation engineer's review).

`provscan scan RANGE --fail-on-restricted` on a store that knows restricted devices there
exited 0 when nothing answered (a VPN down, the wrong interface): the JSON said
``"complete": true, "notes": []`` and only a stderr warning told. Now the warning is among
the scan's notes in every format that has notes, and such a scan exits 5 (inconclusive)
whenever it would count known devices missing (the condition under which it is not stored
without --store-empty), with or without --fail-on-restricted or --store-empty. A range no
store knows devices in, or one scanned on ports its devices were never seen on, stays 0.

Nothing here leaves loopback: the lab runs in this process on this module's own addresses
(the session's second octet, third octet 57; 58 for the empty range), and the scans are
`python -m provscan` subprocesses on them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from helpers import SESSION_DEVICES, SESSION_OCTET, run_provscan

from provscan.lab.server import run_lab_in_thread
from provscan.store.db import open_store

NET = f"127.{SESSION_OCTET}.57"
EMPTY = f"127.{SESSION_OCTET}.58.0/28"
BY_ID = {device.id: device for device in SESSION_DEVICES}
CAMERAS = [
    BY_ID["hik-ipc-legacy"].model_copy(update={"address": f"{NET}.10"}),
    BY_ID["dahua-ipc"].model_copy(update={"address": f"{NET}.11"}),
]
PORTS = ",".join(str(p) for p in sorted({s.port for d in CAMERAS for s in d.services}))
RANGE = f"{NET}.0/28"
NOTE = "nothing answered: no reply from any of the 16 addresses scanned"


def _scan(*args: str, db: Path | None, ports: str = PORTS) -> Any:
    store = ["--db", str(db)] if db is not None else ["--no-db"]
    return run_provscan("scan", *args, *store, "--no-discovery", "--ports", ports, "-q", width=100)


def _scan_ids(db: Path) -> list[str]:
    result = run_provscan("scans", "--db", str(db), "-f", "json", "--all")
    assert result.returncode == 0, result.stderr
    return [scan["id"] for scan in json.loads(result.stdout)["scans"]]


@pytest.fixture(scope="module")
def known(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store that knows the two cameras (a restricted one among them) in RANGE, seen on
    PORTS."""
    db = tmp_path_factory.mktemp("known") / "known.db"
    with run_lab_in_thread(CAMERAS):
        first = _scan(RANGE, "-f", "json", db=db)
    assert first.returncode == 0, first.stderr
    devices = json.loads(first.stdout)["devices"]
    assert len(devices) == 2 and any(d["restricted"] for d in devices)
    return db


@pytest.fixture
def store(known: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "store.db"
    shutil.copy(known, copy)
    return copy


@pytest.mark.parametrize("fail_on_restricted", [True, False])
def test_nothing_answered_where_devices_are_known_exits_5(
    store: Path, fail_on_restricted: bool
) -> None:
    # the lab is down: nothing answers where the store knows two restricted cameras
    flags = ["--fail-on-restricted"] if fail_on_restricted else []
    silent = _scan(RANGE, "-f", "json", *flags, db=store)
    assert silent.returncode == 5, silent.stderr  # was 0
    document = json.loads(silent.stdout)
    assert document["devices"] == []
    assert document["scan"]["complete"] is True
    (note,) = document["scan"]["notes"]  # was []
    assert note.startswith(NOTE)
    assert f"provscan: warning: {note}" in " ".join(silent.stderr.split())
    assert "scan not stored: it would count 2 devices" in silent.stderr
    assert len(_scan_ids(store)) == 1  # not stored, as before


def test_store_empty_stores_it_and_still_exits_5(store: Path) -> None:
    silent = _scan(RANGE, "-f", "jsonl", "--store-empty", "--fail-on-restricted", db=store)
    assert silent.returncode == 5, silent.stderr
    scan_line = json.loads(silent.stdout.splitlines()[0])
    assert scan_line["type"] == "scan"
    assert [n[: len(NOTE)] for n in scan_line["notes"]] == [NOTE]
    assert "scan not stored" not in silent.stderr and "stored scan " in silent.stderr
    assert _scan_ids(store)[0] == scan_line["id"]
    with open_store(f"sqlite:///{store}") as opened:
        kept = opened.load(scan_line["id"])
    assert [n[: len(NOTE)] for n in kept.scan.notes] == [NOTE]  # the stored scan says it too


def test_the_table_says_it_in_a_note(store: Path) -> None:
    silent = _scan(RANGE, db=store)
    assert silent.returncode == 5, silent.stderr
    assert f"note: {NOTE}" in " ".join(silent.stdout.split())


def test_an_empty_range_nobody_knows_exits_0_with_the_note(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    silent = _scan(EMPTY, "-f", "json", "--fail-on-restricted", db=db)
    assert silent.returncode == 0, silent.stderr
    (note,) = json.loads(silent.stdout)["scan"]["notes"]
    assert note.startswith(NOTE)
    assert len(_scan_ids(db)) == 1  # stored: it counts nobody missing


def test_no_db_reads_no_store_and_exits_0_with_the_note(known: Path) -> None:
    silent = _scan(RANGE, "-f", "json", "--fail-on-restricted", db=None)
    assert silent.returncode == 0, silent.stderr
    (note,) = json.loads(silent.stdout)["scan"]["notes"]
    assert note.startswith(NOTE)


def test_ports_the_known_devices_were_never_seen_on_prove_nothing_missing(store: Path) -> None:
    # The store's own rule (docs/inventory.md): a device last seen on ports a scan did not
    # probe is not counted missing by it; such a scan is stored, and is no sign that the
    # network is out of reach (the devices would not have answered on port 9 either).
    silent = _scan(RANGE, "-f", "json", "--fail-on-restricted", db=store, ports="9")
    assert silent.returncode == 0, silent.stderr
    (note,) = json.loads(silent.stdout)["scan"]["notes"]
    assert note.startswith("nothing answered: no reply from any of the 16 addresses scanned, on")
    assert len(_scan_ids(store)) == 2


def test_scan_help_lists_exit_5_and_143() -> None:
    shown = run_provscan("scan", "--help", width=80)
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    codes = [line.split()[0] for line in text[text.index("Exit codes:") :].splitlines()[1:]]
    assert [c for c in codes if c.isdigit()] == ["0", "1", "2", "3", "5", "130", "143"]
    assert "5    inconclusive: nothing answered where devices are known" in text

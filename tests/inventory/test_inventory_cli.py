"""`provscan inventory | scans | diff | cases` as a user runs them (subprocesses)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from inventory_verdicts import golden_copy
from provscan.report.contract import from_contract
from provscan.store.db import normalise_db_arg, open_store
from provscan.store.inventory import coverage_ranges

GOLDEN = Path(__file__).parents[1] / "report" / "golden" / "scan_v1.json"
RANGE = "127.0.40.0/24"


@pytest.fixture
def db(tmp_path: Path) -> str:
    """Two scans of one range: the second no longer sees the first device."""
    path = str(tmp_path / "store.db")
    with open_store(normalise_db_arg(path)) as store:
        cover = coverage_ranges([RANGE])
        store.save_document(golden_copy("scan-a", 10, slice(None)), coverage=cover)
        store.save_document(golden_copy("scan-b", 11, slice(1, None)), coverage=cover)
    return path


def _run(*args: str, check: int | None = 0) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "provscan", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if check is not None:
        assert result.returncode == check, result.stderr
    return result


def test_inventory_json_holds_every_device_with_status_and_case(db: str) -> None:
    golden = from_contract(GOLDEN.read_text(encoding="utf-8"))
    document = json.loads(_run("inventory", "--db", db, "-f", "json").stdout)
    assert document["inventory"]["scans"] == 2
    devices = document["devices"]
    assert len(devices) == len(golden.devices)
    by_ip = {d["ip"]: d for d in devices}
    first = by_ip["127.0.40.1"]
    assert first["status"] == "missing" and first["last_scan_id"] == "scan-a"
    for device in devices:
        assert set(device) >= {
            "device_id", "first_seen", "last_seen", "last_scan_id", "status", "ip", "mac",
            "manufacturer", "brand", "model", "firmware", "restricted", "findings", "case",
        }  # fmt: skip
        if device["restricted"]:
            assert device["case"]["status"] == "open" and device["case"]["due"]
    restricted = json.loads(_run("inventory", "--db", db, "-f", "json", "--restricted").stdout)
    assert {d["ip"] for d in restricted["devices"]} == {d["ip"] for d in devices if d["restricted"]}
    missing = json.loads(_run("inventory", "--db", db, "-f", "json", "--status", "missing").stdout)
    assert [d["ip"] for d in missing["devices"]] == ["127.0.40.1"]


def test_inventory_csv_and_xlsx(db: str, tmp_path: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(_run("inventory", "--db", db, "-f", "csv").stdout)))
    assert {row["ip"] for row in rows} >= {"127.0.40.1", "127.0.40.2"}
    book = tmp_path / "register.xlsx"
    _run("inventory", "--db", db, "-f", "xlsx", "-o", str(book))
    workbook = openpyxl.load_workbook(book, read_only=True)
    try:
        assert sum(1 for _ in workbook["Inventory"].iter_rows()) == len(rows) + 1
    finally:
        workbook.close()
    # xlsx without a file, and an output over the database, are refused
    assert "--output" in _run("inventory", "--db", db, "-f", "xlsx", check=2).stderr
    before = Path(db).read_bytes()
    _run("inventory", "--db", db, "-f", "csv", "-o", db, check=2)
    assert Path(db).read_bytes() == before


def test_scans_and_diff(db: str) -> None:
    scans = json.loads(_run("scans", "--db", db, "-f", "json").stdout)["scans"]
    assert [s["id"] for s in scans] == ["scan-b", "scan-a"]
    diff = json.loads(_run("diff", "--db", db, "-f", "json").stdout)
    assert diff["old"]["id"] == "scan-a" and diff["new"]["id"] == "scan-b"
    assert [d["ip"] for d in diff["removed"]] == ["127.0.40.1"]
    assert diff["added"] == [] and diff["changed"] == []
    # reversed: the device is new in the "newer" one, and restricted
    reverse = _run("diff", "scan-b", "scan-a", "--db", db, "--fail-on-new-restricted", check=None)
    golden = from_contract(GOLDEN.read_text(encoding="utf-8"))
    assert reverse.returncode == (3 if golden.devices[0].restricted else 0), reverse.stderr
    unknown = _run("diff", "nope", "scan-a", "--db", db, check=2)
    assert unknown.stderr.count("\n") == 1 and "no scan 'nope'" in unknown.stderr


def test_cases_list_show_update_with_an_audit_trail(db: str) -> None:
    cases = json.loads(_run("cases", "list", "--db", db, "-f", "json").stdout)["cases"]
    assert cases, "the golden scan has restricted devices"
    case = cases[0]
    updated = json.loads(
        _run(
            "cases", "update", str(case["id"]), "--db", db, "-f", "json",
            "--status", "planned", "--owner", "facilities", "--due", "2027-01-31",
            "--note", "replace with an approved model",
        ).stdout
    )  # fmt: skip
    assert updated["status"] == "planned" and updated["owner"] == "facilities"
    last = updated["history"][-1]
    assert last["changes"]["status"] == ["open", "planned"]
    assert last["actor"] and last["note"] == "replace with an approved model"
    shown = _run("cases", "show", str(case["id"]), "--db", db).stdout
    assert "planned" in shown and "facilities" in shown
    # the change is in the audit log the console's admins read, from the command line
    with open_store(normalise_db_arg(db)) as store:
        (entry,) = [e for e in store.accounts().audit_log() if e["action"] == "case.update"]
    assert entry["target"] == str(case["id"]) and entry["address"] == "command line"
    assert entry["actor"] == last["actor"] and entry["detail"]["owner"] == "facilities"
    refused = _run("cases", "update", str(case["id"]), "--db", db, "--status", "verified", check=2)
    assert "removed or replaced" in refused.stderr
    assert _run("cases", "update", "x1", "--db", db, "--note", "n", check=2).stderr
    assert "no case 999" in _run("cases", "show", "999", "--db", db, check=2).stderr


@pytest.mark.parametrize("width", ["80", "100"])
def test_tables_fit_the_terminal(db: str, width: str) -> None:
    for args in (("inventory",), ("scans",), ("diff",), ("cases", "list")):
        result = subprocess.run(
            [sys.executable, "-m", "provscan", *args, "--db", db],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, "COLUMNS": width},
        )
        assert result.returncode == 0, (args, result.stderr)
        assert max(len(line) for line in result.stdout.splitlines()) <= int(width), args


def test_a_mistyped_db_is_refused_not_created(tmp_path: Path) -> None:
    """inventory, scans, cases, diff, report, tickets: a --db file that does not exist would
    be created empty and report "0 restricted devices" - a clean bill nobody earned."""
    typo = tmp_path / "typo.db"
    for args in (
        ("inventory",),
        ("scans",),
        ("cases", "list"),
        ("report", "-o", str(tmp_path / "r.html")),
        ("cases", "export", "-o", str(tmp_path / "t.csv")),
    ):
        refused = _run(*args, "--db", str(typo), check=2)
        assert refused.stderr.count("\n") == 1 and "no provscan database at" in refused.stderr
        assert "Traceback" not in refused.stderr
    assert not typo.exists() and not (tmp_path / "r.html").exists()
    directory = _run("inventory", "--db", str(tmp_path), check=2)
    assert "is a directory" in directory.stderr


def test_an_output_over_the_default_database_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = data / "provscan" / "provscan.db"
    store.parent.mkdir(parents=True)
    environment = {**os.environ, "XDG_DATA_HOME": str(data)}
    first = subprocess.run(
        [sys.executable, "-m", "provscan", "scans"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=environment,
    )
    # nothing stored yet: the reading commands say so instead of creating an empty store
    assert first.returncode == 2 and "no provscan database at" in first.stderr
    assert first.stderr.count("\n") == 1 and not store.exists()
    with open_store(normalise_db_arg(str(store))):
        pass
    before = store.read_bytes()
    refused = subprocess.run(
        [sys.executable, "-m", "provscan", "inventory", "-f", "csv", "-o", str(store)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=environment,
    )
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
    assert store.read_bytes() == before


def test_a_result_is_stored_even_when_its_output_cannot_be_written(tmp_path: Path) -> None:
    capture = Path(__file__).parents[1] / "pcap" / "fixtures" / "crafted_signals.pcapng"
    db = str(tmp_path / "kept.db")
    # An output in a folder that does not exist is refused before any work: nothing to lose.
    early = _run(
        "pcap", str(capture), "--db", db, "-f", "json", "-o", str(tmp_path / "no" / "out.json"),
        check=2,
    )  # fmt: skip
    assert "does not exist" in early.stderr and not Path(db).exists()
    # A write that fails only when it is made (here: a file in /proc, which no one can
    # create files beside) comes after the store: the result is kept and the error says so.
    failed = _run(
        "pcap", str(capture), "--db", db, "-f", "json", "-o", "/proc/version", "--force",
        check=None,
    )  # fmt: skip
    assert failed.returncode != 0 and "Traceback" not in failed.stderr
    assert "stored scan" in failed.stderr
    scans = json.loads(_run("scans", "--db", db, "-f", "json").stdout)["scans"]
    assert len(scans) == 1 and scans[0]["kind"] == "passive"


def test_a_scan_records_the_knowledge_it_was_judged_with(tmp_path: Path) -> None:
    from provscan.knowledge.packs import active_pack

    capture = Path(__file__).parents[1] / "pcap" / "fixtures" / "crafted_signals.pcapng"
    scan = json.loads(_run("pcap", str(capture), "--no-db", "-f", "json").stdout)["scan"]
    pack = active_pack()
    assert (scan["knowledge_version"], scan["knowledge_as_of"]) == (pack.version, pack.as_of)

"""A SOC analyst's weekly captures: devices no longer heard are not "missing" (a capture covers
no address), but the inventory table says when each device was last seen and marks those the
newest scan of their site did not see; ``diff`` names the devices it does not count as
removed; ``inventory -o``/``diff -o`` take the format from the file's suffix and never write
text under a name that says another format.

Captures are built from the committed lab recording (bench/bench_pcap.py, addresses are data
in a file: nothing is sent); the other stores are scan documents stored through the store API.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from inventory_verdicts import entry, ok, refused, scan_of
from provscan import pipeline
from provscan.compliance.render import INVENTORY_COLUMNS
from provscan.report.contract import DeviceEntry, from_contract
from provscan.store.db import normalise_db_arg, open_store
from provscan.store.inventory import coverage_ranges

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "report" / "golden" / "scan_v1.json"
WEEK = 7 * 24 * 3600
#: The devices of week 1 that week 2 no longer hears (the capture builder puts device i of a
#: site at 10.0.0.(i + 10); week 2 has the first 19 of week 1's 22).
UNHEARD = ["10.0.0.29", "10.0.0.30", "10.0.0.31"]
NOTE = (
    "Not proof of absence: only a complete scan covering a device's address counts it missing, "
    "and captures, discovery and imports cover no address."
)


def _never(*_args: object, **_kwargs: object) -> None:
    raise AssertionError("the inventory probed the network")


def _forbid_scans(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "run_scan", _never)
    monkeypatch.setattr(pipeline, "run_interruptibly", _never)


@pytest.fixture(autouse=True)
def nothing_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading the store and reading captures probe nothing: a scan would fail the test."""
    _forbid_scans(monkeypatch)


def _shifted(path: Path, seconds: int) -> None:
    """Move every packet of a pcap file ``seconds`` later (the capture of another week)."""
    data = bytearray(path.read_bytes())
    position = 24
    while position < len(data):
        moment, _, length, _ = struct.unpack_from("<IIII", data, position)
        struct.pack_into("<I", data, position, moment + seconds)
        position += 16 + length
    path.write_bytes(bytes(data))


def _pcap(capture: Path, db: Path) -> None:
    """``provscan pcap CAPTURE --site hq`` as the analyst runs it (a subprocess)."""
    command = [sys.executable, "-m", "provscan", "pcap", str(capture), "--db", str(db)]
    done = subprocess.run(
        [*command, "--site", "hq", "-q", "-f", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "PROVSCAN_ALLOWED_TARGETS": "127.0.0.0/8,::1/128"},
    )
    assert done.returncode in (0, 3), done.stderr  # 3: restricted devices found


@pytest.fixture(scope="module")
def weekly(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Two weekly captures of site hq stored in one database; week 2 no longer hears three
    devices of week 1."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from bench_pcap import build_site_capture
    finally:
        sys.path.remove(str(ROOT / "bench"))
    folder = tmp_path_factory.mktemp("weekly")
    week1, week2, db = folder / "week1.pcap", folder / "week2.pcap", folder / "inv.db"
    build_site_capture(week1, 0, 1, 22)
    build_site_capture(week2, 0, 1, 19)
    _shifted(week2, WEEK)
    _pcap(week1, db)
    _pcap(week2, db)
    with pytest.MonkeyPatch.context() as monkeypatch:
        _forbid_scans(monkeypatch)
        scans = json.loads(ok("scans", "--db", str(db), "-f", "json").stdout)["scans"]
        devices = json.loads(ok("inventory", "--db", str(db), "-f", "json").stdout)["devices"]
    new, old = scans  # newest first
    yield {
        "db": str(db),
        "old": old,
        "new": new,
        "devices": devices,
        "old_date": old["started_at"][:10],
        "new_date": new["started_at"][:10],
    }


def test_the_captures_are_a_week_apart_and_leave_three_devices_unheard(
    weekly: dict[str, Any],
) -> None:
    assert (weekly["old"]["kind"], weekly["new"]["kind"]) == ("passive", "passive")
    assert weekly["old"]["covering"] is False and weekly["new"]["covering"] is False
    unheard = sorted(d["ip"] for d in weekly["devices"] if d["last_scan_id"] != weekly["new"]["id"])
    assert unheard == UNHEARD
    assert weekly["old_date"] < weekly["new_date"]


def _row(lines: list[str], ip: str) -> str:
    (line,) = [line for line in lines if re.search(rf"(^|\s){re.escape(ip)}\s", line)]
    return line


@pytest.mark.parametrize("width", [80, 100])
def test_the_table_says_when_each_device_was_last_seen_and_marks_the_unheard(
    weekly: dict[str, Any], width: int
) -> None:
    text = ok("inventory", "--db", weekly["db"], width=width).stdout
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width, text
    count = len(weekly["devices"])
    # the rule stands: a capture covers no address, so nothing is missing
    assert lines[0].startswith(f"{count} devices ({count} present): "), lines[0]
    header = next(line for line in lines if line.startswith("IP "))
    # at 100 columns the date each device was last seen, the unheard marked after it; at 80,
    # where a maker and its brand ("Dahua / Amcrest") would not stay on one line beside the
    # dates, the mark follows the address and the dates are said to be left out
    dated = width >= 100
    assert (header.split()[-2:] == ["Last", "seen"]) is dated, header
    for device in weekly["devices"]:
        row = _row(lines, device["ip"])
        unheard = device["ip"] in UNHEARD
        if dated:
            date = weekly["old_date" if unheard else "new_date"]
            assert row.endswith(f"  {date} *" if unheard else f"  {date}"), row
        else:
            assert (f" {device['ip']} *  " in f" {row}") is unheard, row
            assert weekly["old_date"] not in row and weekly["new_date"] not in row
    if device_maker := next(d for d in weekly["devices"] if d["brand"] == "Amcrest"):
        assert "  Dahua / Amcrest  " in _row(lines, device_maker["ip"])
    left_out = next(line for line in lines if "left out at this width" in line)
    assert ("last seen" in left_out) is not dated, left_out
    note = next(i for i, line in enumerate(lines) if line.startswith("* "))
    joined = " ".join(lines[note : note + 4])
    expected = (
        f"* 3 devices not in the newest scan of their site that looked at their address (hq: "
        f"{weekly['new_date']}). {NOTE}"
    )
    assert joined.startswith(expected), joined
    assert text.count("*") == 4  # the three marks and the note's


def test_no_device_is_missing_after_captures(weekly: dict[str, Any]) -> None:
    for status in ("missing", "gone"):
        document = json.loads(
            ok("inventory", "--db", weekly["db"], "--status", status, "-f", "json").stdout
        )
        assert document["devices"] == []
    present = ok("inventory", "--db", weekly["db"], "--status", "present").stdout
    assert f"(hq: {weekly['new_date']})" in present and present.count(" *\n") == 3


def test_inventory_help_says_what_the_readme_and_the_docs_say() -> None:
    help_text = " ".join(ok("inventory", "--help", width=200).stdout.split())
    assert "seen by the last scan that covered it" not in help_text
    assert "Captures, discovery and imports cover no address" in help_text
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    docs = " ".join((ROOT / "docs" / "inventory.md").read_text(encoding="utf-8").split())
    for text in (readme, docs):
        assert "Captures, discovery and imports cover no address" in text
        assert "not in the newest scan of its site" in text
    assert NOTE in docs


@pytest.mark.parametrize("width", [80, 100])
def test_diff_names_the_devices_it_does_not_count_as_removed(
    weekly: dict[str, Any], width: int
) -> None:
    old, new = weekly["old"]["id"], weekly["new"]["id"]
    text = ok("diff", old, new, "--db", weekly["db"], width=width).stdout
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width, text
    assert "0 added, 0 removed, 0 changed" in text
    title = next(i for i, line in enumerate(lines) if line.startswith("Not counted as removed"))
    assert " ".join(lines[title : title + 3]).startswith(
        "Not counted as removed: 3 devices of the old scan not in the new one, outside what "
        "both scans covered (captures, discovery, imports and incomplete scans cover no "
        "address)"
    )
    by_ip = {d["ip"]: d for d in weekly["devices"]}
    for ip in UNHEARD:
        row = _row(lines, ip)
        device = by_ip[ip]
        assert device["manufacturer"] in row and (device["model"] or "-") in row, row
        assert row.rstrip().endswith("restricted"), row
    assert "more" not in text
    document = json.loads(ok("diff", old, new, "--db", weekly["db"], "-f", "json").stdout)
    assert [d["ip"] for d in document["not_covered"]] == UNHEARD
    assert all({"manufacturer", "model", "device_id"} <= set(d) for d in document["not_covered"])


# --- stores made of scan documents ---------------------------------------------------------


def _devices(numbers: range) -> list[DeviceEntry]:
    golden = from_contract(GOLDEN.read_text(encoding="utf-8"))
    base = next(d for d in golden.devices if d.restricted)
    return [entry(base, n) for n in numbers]


def test_a_long_list_of_devices_not_counted_as_removed_is_capped(tmp_path: Path) -> None:
    db = str(tmp_path / "store.db")
    with open_store(normalise_db_arg(db)) as store:
        # no coverage: as two captures, neither proves an absence
        store.save_document(scan_of("scan-old", 10, _devices(range(1, 14))))
        store.save_document(scan_of("scan-new", 11, _devices(range(1, 2))))
    text = ok("diff", "scan-old", "scan-new", "--db", db, width=80).stdout
    assert "Not counted as removed: 12 devices of the old scan" in text
    shown = [f"127.0.41.{n}" for n in range(2, 12)]
    for ip in shown:
        assert re.search(rf"(^|\s){re.escape(ip)}\s", text), ip
    for ip in ("127.0.41.12", "127.0.41.13"):
        assert ip not in text
    assert "… and 2 more (every one: -f json, not_covered)" in text.splitlines()
    document = json.loads(ok("diff", "scan-old", "scan-new", "--db", db, "-f", "json").stdout)
    assert len(document["not_covered"]) == 12


def test_each_site_is_marked_against_its_own_newest_scan(tmp_path: Path) -> None:
    db = str(tmp_path / "store.db")
    cover = coverage_ranges(["127.0.41.0/24"])
    with open_store(normalise_db_arg(db)) as store:
        store.save_document(scan_of("hq-1", 9, _devices(range(1, 4))), site="hq")
        store.save_document(scan_of("hq-2", 10, _devices(range(1, 3))), site="hq")
        # lab: a complete scan covering the range, then one that misses device 5
        store.save_document(scan_of("lab-1", 12, _devices(range(4, 6))), site="lab", coverage=cover)
        store.save_document(scan_of("lab-2", 13, _devices(range(4, 5))), site="lab", coverage=cover)
        # a third site scanned once: nothing of it is marked
        store.save_document(scan_of("ops-1", 8, _devices(range(7, 8))), site="ops")
    text = ok("inventory", "--db", db, width=80).stdout
    lines = text.splitlines()
    assert lines[0].startswith("6 devices (5 present, 1 missing): "), lines[0]
    rows = {n: _row(lines, f"127.0.41.{n}") for n in (1, 2, 3, 4, 5, 7)}
    # hq's 127.0.41.3 (not heard) and lab's 127.0.41.5 (missing: a covering scan missed it),
    # marked after the address (the dates do not fit beside "Dahua / Amcrest" at 80)
    assert [n for n, row in rows.items() if f"127.0.41.{n} *  " in row] == [3, 5]
    assert " *" not in "".join(rows[n] for n in (1, 2, 4, 7))
    assert "missing" in rows[5].split() and "present" in rows[3].split()
    note = " ".join(lines[next(i for i, ln in enumerate(lines) if ln.startswith("* ")) :])
    assert note.startswith(
        "* 2 devices not in the newest scan of their site that looked at their address "
        "(hq: 2026-01-01; lab: 2026-01-01). " + NOTE
    ), note


def test_where_the_dates_do_not_fit_the_mark_follows_the_address(tmp_path: Path) -> None:
    db = str(tmp_path / "store.db")
    with open_store(normalise_db_arg(db)) as store:
        store.save_document(scan_of("one", 9, _devices(range(1, 4))))
        store.save_document(scan_of("two", 10, _devices(range(1, 2))))
    wide = ok("inventory", "--db", db, width=100).stdout.splitlines()
    assert _row(wide, "127.0.41.1").endswith("  2026-01-01")
    assert _row(wide, "127.0.41.2").endswith("  2026-01-01 *")
    narrow = ok("inventory", "--db", db, width=70).stdout.splitlines()
    assert max(len(line) for line in narrow) <= 70
    assert "Last seen" not in "\n".join(narrow)
    for number, marked in ((1, False), (2, True), (3, True)):
        row = _row(narrow, f"127.0.41.{number}")
        assert (f"127.0.41.{number} *  " in row) is marked, row
        assert "Dahua / Amcrest" in row, row  # the maker and its brand stay on one line
    assert " ".join(" ".join(narrow).split()).endswith(
        "(last seen, device ids and status left out at this width: see -f json) * 2 devices "
        "not in the newest scan of their site that looked at their address (2026-01-01). " + NOTE
    )


# --- the format from the --output suffix --------------------------------------------------


@pytest.fixture
def stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    db = str(tmp_path / "store.db")
    with open_store(normalise_db_arg(db)) as store:
        store.save_document(scan_of("scan-a", 10, _devices(range(1, 4))))
        store.save_document(scan_of("scan-b", 11, _devices(range(1, 3))))
    return db


def test_inventory_writes_the_format_its_output_names(stored: str, tmp_path: Path) -> None:
    book = tmp_path / "inv.xlsx"
    ok("inventory", "--db", stored, "-o", str(book))
    assert book.read_bytes()[:2] == b"PK"  # a zip: a workbook, not text
    workbook = openpyxl.load_workbook(book, read_only=True)
    try:
        rows = list(workbook["Inventory"].iter_rows(values_only=True))
    finally:
        workbook.close()
    assert rows[0] == INVENTORY_COLUMNS and len(rows) == 4
    ok("inventory", "--db", stored, "-o", str(tmp_path / "inv.json"))
    document = json.loads((tmp_path / "inv.json").read_text(encoding="utf-8"))
    assert len(document["devices"]) == 3
    ok("inventory", "--db", stored, "-o", str(tmp_path / "inv.CSV"))
    table = list(csv.reader(io.StringIO((tmp_path / "inv.CSV").read_text(encoding="utf-8"))))
    assert tuple(table[0]) == INVENTORY_COLUMNS and len(table) == 4
    ok("inventory", "--db", stored, "-o", str(tmp_path / "inv.txt"))
    text = (tmp_path / "inv.txt").read_text(encoding="utf-8")
    assert text.startswith("3 devices (3 present): ") and "Last seen" in text
    # "-": standard output, not a file named "-"
    piped = ok("inventory", "--db", stored, "-f", "json", "-o", "-").stdout
    assert len(json.loads(piped)["devices"]) == 3 and not (tmp_path / "-").exists()


def test_an_existing_output_is_replaced_only_with_force(stored: str, tmp_path: Path) -> None:
    book = tmp_path / "inv.xlsx"
    book.write_bytes(b"the analyst's own workbook")
    line = refused("inventory", "--db", stored, "-o", str(book))
    assert "already exists; give --force" in line
    assert book.read_bytes() == b"the analyst's own workbook"
    ok("inventory", "--db", stored, "-o", str(book), "--force")
    assert book.read_bytes()[:2] == b"PK"


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("inv.pdf", "PDF reports are written by `provscan report`"),
        ("inv.html", "HTML reports are written by `provscan report`"),
        ("inv.xls", "inventory writes table, json, csv or xlsx, not XLS"),
        ("inv.jsonl", "inventory writes table, json, csv or xlsx, not JSONL"),
    ],
)
def test_inventory_refuses_a_suffix_it_does_not_write(
    stored: str, tmp_path: Path, name: str, words: str
) -> None:
    assert words in refused("inventory", "--db", stored, "-o", str(tmp_path / name))
    assert not (tmp_path / name).exists()


def test_a_format_other_than_the_suffix_is_refused(stored: str, tmp_path: Path) -> None:
    line = refused("inventory", "--db", stored, "-f", "table", "-o", str(tmp_path / "inv.xlsx"))
    assert "a .xlsx name, but -f table was given; give -f xlsx, or a .txt name" in line
    line = refused("inventory", "--db", stored, "-f", "xlsx", "-o", str(tmp_path / "inv.csv"))
    assert "give -f csv, or a .xlsx name" in line
    assert not list(tmp_path.glob("inv.*"))
    line = refused("inventory", "--db", stored, "-f", "xlsx", "-o", str(tmp_path / "inv.txt"))
    assert "give -f table, or a .xlsx name" in line
    assert not list(tmp_path.glob("inv.*"))
    # a name that says no format takes the one asked for, and a .txt any text
    ok("inventory", "--db", stored, "-f", "csv", "-o", str(tmp_path / "register.out"))
    assert (tmp_path / "register.out").read_text(encoding="utf-8").startswith("device_id,")
    ok("inventory", "--db", stored, "-f", "json", "-o", str(tmp_path / "register.txt"))
    assert json.loads((tmp_path / "register.txt").read_text(encoding="utf-8"))["devices"]


def test_diff_writes_the_format_its_output_names(stored: str, tmp_path: Path) -> None:
    ok("diff", "scan-a", "scan-b", "--db", stored, "-o", str(tmp_path / "d.json"))
    document = json.loads((tmp_path / "d.json").read_text(encoding="utf-8"))
    assert [d["ip"] for d in document["not_covered"]] == ["127.0.41.3"]
    ok("diff", "scan-a", "scan-b", "--db", stored, "-o", str(tmp_path / "d.txt"))
    text = (tmp_path / "d.txt").read_text(encoding="utf-8")
    assert "Not counted as removed: 1 device of the old scan" in text and "127.0.41.3" in text
    for name, words in (
        ("d.xlsx", "diff writes table or json, not XLSX"),
        ("d.csv", "diff writes table or json, not CSV"),
    ):
        assert words in refused("diff", "scan-a", "scan-b", "--db", stored, "-o", name)
        assert not (tmp_path / name).exists()
    line = refused("diff", "--db", stored, "-f", "table", "-o", str(tmp_path / "d2.json"))
    assert "a .json name, but -f table was given" in line


def test_a_narrow_scan_marks_only_the_addresses_it_looked_at(tmp_path: Path) -> None:
    """An auditor scanned one camera of a site after a full scan: every other device of the
    site was marked as not in the newest scan, which never looked at their addresses."""
    db = str(tmp_path / "store.db")
    whole = coverage_ranges(["127.0.41.0/24"])
    with open_store(normalise_db_arg(db)) as store:
        store.save_document(scan_of("full", 9, _devices(range(1, 6))), site="hq", coverage=whole)
        # one address, where the camera no longer answers: only it is marked
        one = coverage_ranges(["127.0.41.2"])
        store.save_document(scan_of("one", 10, _devices(range(1, 1))), site="hq", coverage=one)
    text = ok("inventory", "--db", db, width=100).stdout
    lines = text.splitlines()
    marked = [n for n in range(1, 6) if _row(lines, f"127.0.41.{n}").endswith(" *")]
    assert marked == [2], text
    assert "* 1 device not in the newest scan of its site that looked at its address" in " ".join(
        text.split()
    )

"""Third newcomer review of `diff`, `cases list|show|update|export`, `tickets` and `users
list`, run as a user runs them (child processes with COLUMNS set, stdout a pipe) against real
SQLite stores built from the golden scan (as tests/inventory/test_inventory_cli.py does).

Found: the diff's Added/Removed tables named the maker but not the label brand; wrapped
history lines of `cases show` went back to the left edge at 80 columns; `cases list` had no
site or maker; a due date years before the case was opened was taken; `provscan tickets`
said only "No such command" and an empty export said nothing; `users list` had no header.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from inventory_verdicts import four_verdicts, scan_of
from provscan.report.contract import ScanDocument, from_contract
from provscan.store.db import normalise_db_arg, open_store
from provscan.store.inventory import coverage_ranges

GOLDEN = Path(__file__).parent / "report" / "golden" / "scan_v1.json"
WIDTHS = ("80", "100")
#: The golden scan's relabel: a Dahua camera sold under the Amcrest label.
RELABEL = "Dahua / Amcrest"
LONG_NOTE = (
    "replace with an approved model from the framework contract; facilities ticket 4411, "
    "budget approved by the security office on the second review"
)


def _golden(scan_id: str, hour: int, keep: slice) -> ScanDocument:
    golden = from_contract(GOLDEN.read_text(encoding="utf-8"))
    devices = [
        d.model_copy(update={"ip": f"127.0.40.{i + 1}"}) for i, d in enumerate(golden.devices)
    ][keep]
    return scan_of(scan_id, hour, devices)


@pytest.fixture
def db(tmp_path: Path) -> str:
    """Two scans of one range at site hq (the second no longer sees the relabeled camera),
    and a scan of another range at site depot-north with a device of each verdict."""
    path = str(tmp_path / "store.db")
    with open_store(normalise_db_arg(path)) as store:
        hq = coverage_ranges(["127.0.40.0/24"])
        store.save_document(_golden("scan-a", 10, slice(None)), site="hq", coverage=hq)
        store.save_document(_golden("scan-b", 11, slice(1, None)), site="hq", coverage=hq)
        store.save_document(
            scan_of("scan-c", 12, four_verdicts()),
            site="depot-north",
            coverage=coverage_ranges(["127.0.41.0/24"]),
        )
    return path


def _run(
    *args: str, width: str = "100", check: int | None = 0, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "provscan", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": width, **(env or {})},
    )
    if check is not None:
        assert result.returncode == check, (args, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result


def _fits(text: str, width: str) -> list[str]:
    lines = text.splitlines()
    too_wide = [line for line in lines if len(line) > int(width)]
    assert not too_wide, too_wide
    return lines


def _row(lines: list[str], token: str) -> str:
    """The one line that has ``token`` as a whole word."""
    (found,) = [line for line in lines if token in line.split()]
    return found


def _cases(db: str) -> list[dict[str, object]]:
    cases: list[dict[str, object]] = json.loads(
        _run("cases", "list", "--db", db, "-f", "json").stdout
    )["cases"]
    return cases


# -- 1. diff: the maker and the label brand ------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_diff_names_the_label_brand_of_a_relabel_as_the_inventory_does(db: str, width: str) -> None:
    inventory = _fits(_run("inventory", "--db", db, "--site", "hq", width=width).stdout, width)
    assert RELABEL in _row(inventory, "127.0.40.1")
    # removed in the newer scan, added when the two are read the other way round
    for old, new, title in (("scan-a", "scan-b", "Removed"), ("scan-b", "scan-a", "Added")):
        lines = _fits(_run("diff", old, new, "--db", db, width=width).stdout, width)
        assert title in lines
        row = _row(lines, "127.0.40.1")
        assert RELABEL in row, lines  # maker and brand, on one line, as the inventory has it
        assert "restricted" in row.split()
    # a device whose label is its maker's own reads as the maker alone
    clear = _fits(_run("diff", "scan-b", "scan-a", "--db", db, width=width).stdout, width)
    assert "/" not in " ".join(line for line in clear if "127.0.40.2" in line.split())


# -- 2. cases show: history wrapped under its entry ----------------------------------------


def test_cases_show_wraps_each_history_entry_under_its_own_text(db: str) -> None:
    case = next(c for c in _cases(db) if c["subject"] == "restricted")
    number = str(case["id"])
    _run("cases", "update", number, "--db", db, "--owner", "facilities", "--note", LONG_NOTE)
    for width in WIDTHS:
        lines = _fits(_run("cases", "show", number, "--db", db, width=width).stdout, width)
        history = lines[lines.index("  history:") + 1 :]
        entries = [line for line in history if line.startswith("    20")]
        assert len(entries) == 2  # opened by the scan, then the update
        # an entry: 4 spaces, "YYYY-MM-DD HH:MM UTC", 2 spaces; what follows wraps under itself
        text_column = 4 + len("2026-12-06 13:23 UTC") + 2
        for line in history:
            if line not in entries:
                assert line.startswith(" " * text_column) and line[text_column] != " ", line
        # nothing is lost to the wrapping: the whole note, word for word
        assert " ".join(LONG_NOTE.split()) in " ".join(" ".join(history).split())
        if width == "80":
            assert len(history) > len(entries)  # the long note did wrap at 80 columns
        # the device line names the maker and its label brand
        assert RELABEL in _row(lines, "device")


# -- 3. cases list: site and maker, the id, status and address whole -----------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_cases_list_shows_site_and_maker_and_keeps_id_status_and_address_whole(
    db: str, width: str
) -> None:
    lines = _fits(_run("cases", "list", "--db", db, width=width).stdout, width)
    with open_store(normalise_db_arg(db)) as store:
        cases = store.cases()
        devices = store.case_devices({case.device_id for case in cases})
    assert {devices[c.device_id].site for c in cases} == {"hq", "depot-north"}
    header = lines[1].split()
    assert header[:2] == ["Case", "Status"] and "Maker" in header and "Site" in header
    for case in cases:
        device = devices[case.device_id]
        (row,) = [line for line in lines if line.split()[:1] == [f"#{case.id}"]]
        cells = row.split()
        assert cells[1] == case.status and device.ip in cells
        assert device.site in cells
        assert (device.manufacturer or "unknown") in cells
    # the relabel's brand is in its row or wrapped just below it, never cut in a word
    restricted = next(c for c in cases if devices[c.device_id].ip == "127.0.40.1")
    at = next(i for i, line in enumerate(lines) if line.split()[:1] == [f"#{restricted.id}"])
    assert "Amcrest" in " ".join(lines[at : at + 3]).split()


def test_cases_list_says_one_shared_site_once(db: str, tmp_path: Path) -> None:
    with open_store(normalise_db_arg(db)) as store:
        first = store.cases()[0]
    lines = _fits(
        _run("cases", "list", "--db", db, "--device", first.device_id, width="80").stdout, "80"
    )
    assert lines[0].startswith("1 case at site hq: ")
    assert "site" not in lines[-1]  # said above, never "left out"
    assert RELABEL in _row(lines, f"#{first.id}")


def test_cases_list_refuses_a_device_the_inventory_does_not_hold(db: str) -> None:
    with open_store(normalise_db_arg(db)) as store:
        known = store.cases()[0].device_id
    mistyped = known[:-1] + ("0" if known[-1] != "0" else "1")
    result = _run("cases", "list", "--db", db, "--device", mistyped, check=2)
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert f"no device {mistyped!r}" in line
    # the known device still lists its cases
    listed = json.loads(_run("cases", "list", "--db", db, "--device", known, "-f", "json").stdout)
    assert listed["cases"] and {c["device_id"] for c in listed["cases"]} == {known}


# -- 7. cases update --due: not before the opening; a past date warns ----------------------


def _backdate(db: str, case_id: int, days: int) -> str:
    """Make case ``case_id`` opened ``days`` ago (as a scan that long ago would have)."""
    opened = datetime.now(UTC) - timedelta(days=days)
    with sqlite3.connect(db) as connection:
        connection.execute(
            "UPDATE cases SET opened_at = ? WHERE id = ?",
            (opened.strftime("%Y-%m-%d %H:%M:%S.%f"), case_id),
        )
    return opened.date().isoformat()


def test_a_due_date_before_the_opening_is_refused_and_a_past_one_warns(db: str) -> None:
    number = str(_cases(db)[0]["id"])
    opened = _backdate(db, int(number), 30)
    case = json.loads(_run("cases", "show", number, "--db", db, "-f", "json").stdout)
    before = (datetime.now(UTC) - timedelta(days=45)).date().isoformat()
    refused = _run("cases", "update", number, "--db", db, "--due", before, check=2)
    assert refused.stderr.count("\n") == 1 and refused.stdout == ""
    assert refused.stderr.startswith("provscan: error: ")
    assert f"due date {before} is before case {number} was opened ({opened})" in refused.stderr
    # nothing changed, nothing added to the trail
    kept = json.loads(_run("cases", "show", number, "--db", db, "-f", "json").stdout)
    assert kept["due"] == case["due"] and kept["history"] == case["history"]
    # after the opening but already past: taken, with one line saying it is overdue
    past = (datetime.now(UTC) - timedelta(days=10)).date().isoformat()
    late = _run("cases", "update", number, "--db", db, "--due", past, "-f", "json")
    assert json.loads(late.stdout)["due"] == past and json.loads(late.stdout)["overdue"]
    assert late.stderr.count("\n") == 1 and "warning" in late.stderr
    assert f"case {number} is overdue" in late.stderr and past in late.stderr
    # the opening day itself is taken (overdue by now); a future date without a warning
    on_opening = _run("cases", "update", number, "--db", db, "--due", opened)
    assert f"  due     {opened} (overdue)" in on_opening.stdout
    assert "is overdue" in on_opening.stderr
    future = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    taken = _run("cases", "update", number, "--db", db, "--due", future)
    assert taken.stderr == "" and f"  due     {future}" in taken.stdout.splitlines()
    assert _run("cases", "update", number, "--db", db, "--due", "2027-02-30", check=2).stderr
    assert "--due" in _run("cases", "update", "--help").stdout


# -- 6. tickets: a pointer to `cases export`; an empty export says why ---------------------


def test_provscan_tickets_points_at_cases_export() -> None:
    for args in (("tickets",), ("tickets", "-f", "csv", "-o", "t.csv")):
        result = _run(*args, check=2)
        (line,) = result.stderr.splitlines()
        assert line.startswith("provscan: error: ") and "provscan cases export" in line
    assert "provscan cases export" in _run("tickets", "--help").stdout
    # the command list says where tickets are
    (cases_line,) = [
        line
        for line in _run("--help", width="80").stdout.splitlines()
        if line.split()[:1] == ["cases"]
    ]
    assert "tickets" in cases_line
    assert "provscan cases list" in _run("cases", "export", "--help", width="80").stdout


def test_an_empty_export_says_why_and_which_command_shows_the_cases(
    db: str, tmp_path: Path
) -> None:
    # a store with cases, none overdue: an empty list on stdout, the reason on stderr
    result = _run("cases", "export", "--db", db, "--overdue")
    assert json.loads(result.stdout)["tickets"] == []
    (note,) = result.stderr.splitlines()
    assert "no overdue case to export" in note and "provscan cases list" in note
    # a store whose scans opened no case (a clear device only)
    clear = str(tmp_path / "clear.db")
    golden = from_contract(GOLDEN.read_text(encoding="utf-8"))
    with open_store(normalise_db_arg(clear)) as store:
        devices = [d for d in golden.devices if not d.restricted]
        store.save_document(scan_of("only-clear", 9, devices))
    out = tmp_path / "tickets.csv"
    empty = _run("cases", "export", "--db", clear, "-f", "csv", "-o", str(out))
    assert out.exists() and empty.stdout == ""
    (note,) = empty.stderr.splitlines()
    assert "no cases to export" in note and "provscan cases list" in note
    # with cases to export nothing is added to stderr
    assert _run("cases", "export", "--db", db).stderr == ""


# -- 4. users list: a header line ----------------------------------------------------------


def test_users_list_has_a_header_line(tmp_path: Path) -> None:
    db = str(tmp_path / "console.db")
    password = {"PROVSCAN_PASSWORD": "a long password here"}
    _run("users", "add", "alice", "--role", "admin", "--db", db, "--create", env=password)
    _run("users", "add", "bob", "--role", "viewer", "--db", db, env=password)
    lines = _fits(_run("users", "list", "--db", db, width="80").stdout, "80")
    assert lines[0].split() == ["Name", "Role", "Created"]
    assert [line.split()[:2] for line in lines[1:]] == [["alice", "admin"], ["bob", "viewer"]]
    with open_store(normalise_db_arg(db)) as store:
        store.accounts().set_disabled("bob", True, actor="test", address="test")
    lines = _run("users", "list", "--db", db).stdout.splitlines()
    assert lines[0].split() == ["Name", "Role", "Created", "Login"]
    assert _row(lines, "bob").split()[-1] == "disabled"
    assert _row(lines, "alice").split()[-1] == "allowed"
    # JSON for scripts is unchanged: no header in it
    assert [u["name"] for u in json.loads(_run("users", "list", "--db", db, "--json").stdout)] == [
        "alice",
        "bob",
    ]

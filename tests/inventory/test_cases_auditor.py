"""`provscan cases | diff | scan | report` as an internal auditor used them (six problems):
the bulk JSON export of the cases with their audit trail, times that say their zone, a
scan that reopens a case people had closed says so, an owner and a due date can be cleared,
the site of each case at 100 columns, and scan ids refused in words."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import SESSION_DEVICES
from sqlalchemy import event
from typer.testing import Result

from inventory_verdicts import cli, entry, golden_copy, ok, refused, scan_of
from provscan.lab.server import run_lab_in_thread
from provscan.report.contract import from_contract
from provscan.store.db import normalise_db_arg, open_store
from provscan.store.inventory import coverage_ranges

GOLDEN = Path(__file__).parents[1] / "report" / "golden" / "scan_v1.json"
RANGE = "127.0.40.0/24"
#: 120-129 as the other inventory labs (test_inventory_lab uses .7): this one's on .9.
ADDRESS = f"127.{120 + os.getpid() % 10}.9.10"
CAMERA = next(d for d in SESSION_DEVICES if d.id == "hik-ptz").model_copy(
    update={"address": ADDRESS}
)
PORTS = ",".join(str(service.port) for service in CAMERA.services)


@pytest.fixture
def db(tmp_path: Path) -> str:
    """Two scans of one range: the second no longer sees the first device."""
    path = str(tmp_path / "store.db")
    with open_store(normalise_db_arg(path)) as store:
        cover = coverage_ranges([RANGE])
        store.save_document(golden_copy("scan-a-0001", 10, slice(None)), coverage=cover)
        store.save_document(golden_copy("scan-b-0002", 11, slice(1, None)), coverage=cover)
    return path


# --- 1. the bulk export holds the audit trail ----------------------------------------------


def test_cases_list_json_holds_each_case_history_as_cases_show(db: str) -> None:
    listed = json.loads(ok("cases", "list", "--db", db, "-f", "json").stdout)["cases"]
    number = str(listed[0]["id"])
    ok("cases", "update", number, "--db", db, "--status", "planned", "--note", "ticket 4411")
    cases = json.loads(ok("cases", "list", "--db", db, "-f", "json").stdout)["cases"]
    assert all(case["history"] for case in cases), "every case has its opening at least"
    for case in cases:
        shown = json.loads(ok("cases", "show", str(case["id"]), "--db", db, "-f", "json").stdout)
        assert case["history"] == shown["history"]
    first = next(case for case in cases if str(case["id"]) == number)
    assert [entry["action"] for entry in first["history"]] == ["opened", "updated"]
    assert first["history"][-1]["note"] == "ticket 4411"
    # filtered lists too
    active = json.loads(ok("cases", "list", "--db", db, "-f", "json", "--status", "planned").stdout)
    assert [len(case["history"]) for case in active["cases"]] == [2]


def test_the_trails_are_read_in_one_query_for_every_case_listed(db: str) -> None:
    golden = from_contract(GOLDEN.read_text(encoding="utf-8"))
    restricted = next(d for d in golden.devices if d.restricted)
    with open_store(normalise_db_arg(db)) as store:
        store.save_document(scan_of("scan-c-0003", 12, [entry(restricted, n) for n in (1, 2, 3)]))
        store.update_case(2, actor="auditor", note="seen on site")
        statements: list[str] = []

        def seen(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
            statements.append(statement)

        event.listen(store._engine, "before_cursor_execute", seen)
        try:
            cases = store.cases(history=True)
            plain = store.cases()
        finally:
            event.remove(store._engine, "before_cursor_execute", seen)
    assert len(cases) == 4 and all(case.events for case in cases)
    assert [len(case.events) for case in cases] == [1, 2, 1, 1]
    assert all(not case.events for case in plain)
    assert sum("case_events" in statement for statement in statements) == 1


# --- 2. times say UTC -----------------------------------------------------------------------


def test_cases_show_and_diff_say_utc(db: str) -> None:
    shown = ok("cases", "show", "1", "--db", db).stdout
    assert re.search(r"opened\s+\d{4}-\d\d-\d\d \d\d:\d\d UTC\n", shown), shown
    entries = [line for line in shown.splitlines() if re.match(r"\s+\d{4}-\d\d-\d\d ", line)]
    assert entries and all(re.match(r"\s+\S+ \d\d:\d\d UTC  ", line) for line in entries)
    header = ok("diff", "--db", db).stdout.split(":\n")[0]
    assert len(re.findall(r"\(\d{4}-\d\d-\d\d \d\d:\d\d UTC\)", header)) == 2, header


# --- 4. an owner and a due date can be cleared ------------------------------------------------


def test_an_empty_owner_or_due_date_clears_it(db: str) -> None:
    ok("cases", "update", "1", "--db", db, "--owner", "facilities", "--due", "2099-01-31")
    cleared = json.loads(
        ok("cases", "update", "1", "--db", db, "--owner", "", "--due", "", "-f", "json").stdout
    )
    assert cleared["owner"] is None and cleared["due"] is None
    assert cleared["history"][-1]["changes"] == {
        "owner": ["facilities", None],
        "due": ["2099-01-31", None],
    }
    line = refused("cases", "update", "1", "--db", db, "--owner", "", "--due", "")
    assert line.endswith(
        "nothing to change in case 1: its owner is already unset, its due date is already unset"
    )
    assert "2099-01-31 -> none" in ok("cases", "show", "1", "--db", db).stdout


# --- 6. scan ids ---------------------------------------------------------------------------


def test_a_short_scan_prefix_and_a_scan_diffed_with_itself_are_refused(
    db: str, tmp_path: Path
) -> None:
    line = refused("report", "--scan", "scan", "--db", db, "-o", str(tmp_path / "r.md"))
    assert "a scan id prefix needs at least 6 characters; `provscan scans` lists them" in line
    assert "at least 6" in refused("diff", "scan", "scan-b-0002", "--db", db)
    # a prefix of 6+ that matches nothing is no scan, without the advice
    assert "at least" not in refused("diff", "nomatch", "scan-b-0002", "--db", db)
    for pair in (("scan-a-0001", "scan-a-0001"), ("scan-a", "scan-a-0001")):
        line = refused("diff", *pair, "--db", db)
        assert "scan-a-0001" in line and "compared with itself" in line
    assert ok("diff", "scan-a", "scan-b", "--db", db).stdout


# --- 3 and 5: a real camera seen again after its case was verified removed ----------------


@pytest.fixture
def lab_db(tmp_path: Path) -> Iterator[str]:
    yield str(tmp_path / "lab.db")


def _scan(db: str, *more: str, site: str = "HQ") -> Result:
    args = ("scan", ADDRESS, "--ports", PORTS, "--no-discovery", "--site", site, "--db", db)
    result = cli(*args, *more)
    assert result.exit_code in (0, 3), (result.stdout, result.stderr)
    return result


def test_a_scan_that_reopens_a_closed_case_says_so(lab_db: str) -> None:
    with run_lab_in_thread([CAMERA]):
        first = _scan(lab_db, "-q")
    assert "reopened" not in first.stderr
    ok("cases", "update", "1", "--db", lab_db, "--status", "removed")
    gone = _scan(lab_db, "-q")  # nothing answers: the case is verified
    assert "reopened" not in gone.stderr
    assert (
        json.loads(ok("cases", "show", "1", "--db", lab_db, "-f", "json").stdout)["status"]
        == "verified"
    )
    with run_lab_in_thread([CAMERA]):
        back = _scan(lab_db, "-q")  # -q leaves out the progress bar, not the warning
        lines = back.stderr.strip().splitlines()
        assert lines[-1] == (
            f"provscan: warning: case #1 (Hikvision {ADDRESS}, HQ) reopened: seen again by "
            "this scan after it was verified removed"
        ), lines
        assert lines[-2].startswith("stored scan ")
        # a case marked replaced, reopened by a scan writing its JSON report as it stores
        ok("cases", "update", "1", "--db", lab_db, "--status", "replaced")
        again = _scan(lab_db, "-f", "json")
        assert json.loads(again.stdout)["devices"]
    assert again.stderr.strip().splitlines()[-1] == (
        f"provscan: warning: case #1 (Hikvision {ADDRESS}, HQ) reopened: seen again by this "
        "scan after it was marked replaced"
    )


def test_cases_list_shows_the_site_of_cases_at_one_address_at_100_columns(
    lab_db: str,
) -> None:
    """One camera address at two sites: four cases, a restricted one and a CVE one at each;
    at 100 columns the site tells #1 from #3."""
    with run_lab_in_thread([CAMERA]):
        _scan(lab_db, "-q", site="HQ")
    # another camera of the same model, at the same address at the other site
    other = CAMERA.identity.model_copy(update={"serial": "DS-OTHER-0002", "mac": None})
    with run_lab_in_thread([CAMERA.model_copy(update={"identity": other})]):
        _scan(lab_db, "-q", site="Branch-Office")
    table = ok("cases", "list", "--db", lab_db, width=100).stdout
    lines = table.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert "Site" in lines[1].split(), table
    rows = {line.split()[0]: line for line in lines if line.startswith("#")}
    assert len(rows) == 4 and {"HQ", "Branch-Office"} == {
        row.split()[3] for row in rows.values()
    }, table
    assert "CVE-2021-36260" in table  # broken after "vulnerability:", never inside the id
    for width in (60, 80, 120):
        narrow = ok("cases", "list", "--db", lab_db, width=width).stdout
        assert max(len(line) for line in narrow.splitlines()) <= width, narrow
        assert "CVE-2021-36260" in narrow

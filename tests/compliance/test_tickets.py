"""`provscan cases export`: cases as service-desk tickets (JSON and CSV), read from a store
filled by a real import."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from provscan.compliance.tickets import CSV_COLUMNS, binding_measure

FIXTURES = Path(__file__).parents[1] / "importers" / "fixtures"


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


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A store with the CMDB fixture imported as a US federal contractor: its Hikvision and
    Dahua devices open restricted-maker cases."""
    path = str(tmp_path_factory.mktemp("tickets") / "store.db")
    _run("import", str(FIXTURES / "cmdb.csv"), "--db", path, "--as", "us:federal-contractor",
         "-q", "-f", "json")  # fmt: skip
    return path


def test_json_tickets_carry_case_device_evidence_measure_and_steps(database: str) -> None:
    cases = json.loads(_run("cases", "list", "--db", database, "-f", "json").stdout)["cases"]
    assert cases
    document = json.loads(_run("cases", "export", "--db", database).stdout)
    assert document["schema_version"] == "1.0"
    tickets = {t["case"]["id"]: t for t in document["tickets"]}
    assert set(tickets) == {c["id"] for c in cases}
    lobby = next(t for t in tickets.values() if t["device"]["ip"] == "10.20.1.11")
    assert lobby["ticket_id"] == f"provscan-case-{lobby['case']['id']}"
    assert lobby["device"]["manufacturer"] == "Hikvision"
    assert "imported from CSV cmdb.csv" in lobby["device"]["notes"]
    # The measure that binds a US federal contractor, with its citation
    measure = lobby["binding_measure"]
    assert measure["binding"] is True and measure["policy"] == "us"
    assert measure["citation"]
    assert measure["citation"] in lobby["description"]
    # The evidence that named the maker, and what to do
    assert {e["field"] for e in lobby["evidence"]} & {"record.manufacturer", "mac.oui"}
    assert {s["action"] for s in lobby["remediation"]} >= {"replace"}
    assert lobby["title"].startswith("Remove restricted Hikvision")


def test_selected_cases_and_csv_for_bulk_import(database: str, tmp_path: Path) -> None:
    cases = json.loads(_run("cases", "list", "--db", database, "-f", "json").stdout)["cases"]
    first = cases[0]["id"]
    one = json.loads(_run("cases", "export", str(first), "--db", database).stdout)
    assert [t["case"]["id"] for t in one["tickets"]] == [first]
    output = tmp_path / "tickets.csv"
    _run("cases", "export", "-f", "csv", "-o", str(output), "--db", database)
    rows = list(csv.reader(io.StringIO(output.read_text(encoding="utf-8"))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == len(cases) + 1
    by_ip = {row[CSV_COLUMNS.index("ip")]: row for row in rows[1:]}
    # A host name written as a formula in the CMDB stays text in the service desk
    assert by_ip["10.20.1.15"][CSV_COLUMNS.index("hostname")].startswith("'=HYPERLINK")
    assert all(row[CSV_COLUMNS.index("citation")] for row in rows[1:])


def test_unknown_case_and_output_over_the_database_are_refused(database: str) -> None:
    unknown = _run("cases", "export", "999", "--db", database, check=2)
    assert unknown.stderr.count("\n") == 1 and "no case 999" in unknown.stderr
    assert "a case id is a number" in _run("cases", "export", "x1", "--db", database,
                                           check=2).stderr  # fmt: skip
    before = Path(database).read_bytes()
    _run("cases", "export", "--db", database, "-o", database, check=2)
    assert Path(database).read_bytes() == before


def test_binding_measure_prefers_the_one_that_binds() -> None:
    findings = [
        {"policy": "ca", "effect": "use-ban", "binding": None, "citation": "c1"},
        {"policy": "us", "effect": "procurement-ban", "binding": True, "citation": "c2"},
        {"policy": "dk", "effect": "context", "binding": None, "citation": "c3"},
        {"policy": "uk", "effect": "use-ban", "binding": False, "citation": "c4"},
    ]
    assert binding_measure({"findings": findings})["policy"] == "us"  # type: ignore[index]
    assert binding_measure({"findings": findings[2:]}) is None

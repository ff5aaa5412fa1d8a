"""The inventory's workbooks (`provscan inventory -f xlsx`, the compliance report's Devices
sheet) write the case number as a number, and models and serials as text however numeric
they look (a leading zero is part of a part number)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openpyxl
from helpers import run_provscan

from inventory_verdicts import entry, four_verdicts, scan_of
from provscan.report.contract import from_contract
from provscan.store.db import normalise_db_arg, open_store

GOLDEN = Path(__file__).parents[1] / "report" / "golden" / "scan_v1.json"


def _db(tmp_path: Path) -> str:
    golden = from_contract(GOLDEN.read_text(encoding="utf-8"))
    restricted = next(d for d in golden.devices if d.restricted)
    # a second restricted device whose model and serial are all digits
    numeric = entry(restricted, 5, model="0012345", serial="20331")
    path = str(tmp_path / "store.db")
    with open_store(normalise_db_arg(path)) as store:
        store.save_document(scan_of("scan-numbers", 10, [*four_verdicts(), numeric]))
    return path


def _ok(*args: str) -> str:
    result = run_provscan(*args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _by_ip(sheet: Any) -> dict[str, dict[str, Any]]:
    rows = list(sheet.iter_rows())
    header = [cell.value for cell in rows[0]]
    return {
        str(row[header.index("ip")].value): {
            str(name): cell for name, cell in zip(header, row, strict=True)
        }
        for row in rows[1:]
    }


def test_case_numbers_are_numbers_and_identifiers_text(tmp_path: Path) -> None:
    db = _db(tmp_path)
    devices = json.loads(_ok("inventory", "--db", db, "-f", "json"))["devices"]
    with_case = [d for d in devices if d["case"]]
    assert len(with_case) >= 2, "the check below means it"
    register = tmp_path / "register.xlsx"
    _ok("inventory", "--db", db, "-f", "xlsx", "-o", str(register))
    report = tmp_path / "report.xlsx"
    _ok("report", "--db", db, "-o", str(report))
    for sheet in (
        openpyxl.load_workbook(register)["Inventory"],
        openpyxl.load_workbook(report)["Devices"],
    ):
        cells = _by_ip(sheet)
        assert set(cells) == {d["ip"] for d in devices}
        for device in devices:
            row = cells[device["ip"]]
            case = row["case_id"]
            if device["case"]:
                assert case.data_type == "n" and case.value == device["case"]["id"]
            else:
                assert case.value is None
            for name in ("model", "serial"):
                if device[name] is not None:
                    assert row[name].data_type == "s"
                    assert row[name].value == device[name]
        numeric = cells["127.0.41.5"]
        assert numeric["model"].value == "0012345" and numeric["serial"].value == "20331"

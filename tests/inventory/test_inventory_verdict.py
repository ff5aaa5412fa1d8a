"""`provscan inventory` says each device's verdict in every format: the CSV's last column, a
JSON field and the XLSX's last column carry the verdict the scan report of its newest
sighting that identified it gave it (restricted, review, unknown or clear), and the table
shows review and unknown."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
from helpers import run_provscan

from inventory_verdicts import four_verdicts, scan_of
from provscan.report.contract import DeviceEntry, ScanDocument
from provscan.store.db import normalise_db_arg, open_store


def _store(tmp_path: Path, *scans: ScanDocument) -> str:
    path = str(tmp_path / "store.db")
    with open_store(normalise_db_arg(path)) as store:
        for scan in scans:
            store.save_document(scan)
    return path


def _ok(*args: str, width: int | None = None) -> str:
    result = run_provscan(*args, width=width)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_every_export_carries_the_verdict_of_each_devices_scan(tmp_path: Path) -> None:
    devices = four_verdicts()
    scan = scan_of("scan-verdicts", 10, devices)
    db = _store(tmp_path, scan)
    # what the scan report said of each device (the contract checks it against verdict_of)
    said = {device.ip: device.verdict for device in scan.devices}
    assert sorted(set(said.values())) == ["clear", "restricted", "review", "unknown"]

    # CSV: the verdict is the last column, as in the scan CSV
    rows = list(csv.reader(io.StringIO(_ok("inventory", "--db", db, "-f", "csv"))))
    header, body = rows[0], rows[1:]
    assert header[-1] == "verdict"
    ip = header.index("ip")
    assert {row[ip]: row[-1] for row in body} == said

    # JSON: a field of each device, beside restricted
    document = json.loads(_ok("inventory", "--db", db, "-f", "json"))
    assert {d["ip"]: d["verdict"] for d in document["devices"]} == said
    for device in document["devices"]:
        assert device["restricted"] == (device["verdict"] == "restricted")

    # XLSX: the same last column
    book = tmp_path / "register.xlsx"
    _ok("inventory", "--db", db, "-f", "xlsx", "-o", str(book))
    sheet = openpyxl.load_workbook(book)["Inventory"]
    cells = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert cells[0] == header
    assert {row[ip]: row[-1] for row in cells[1:]} == said

    # the table: each device's verdict in the words scan and screen use (not "yes"/"no": a
    # device to review is not "no", nor is one nothing identified)
    table = _ok("inventory", "--db", db, width=160).splitlines()
    assert any("Verdict" in line.split() for line in table), table
    for device in devices:
        (line,) = [line for line in table if device.ip in line.split()]
        assert device.verdict in line.split(), line
        assert not {"yes", "no"} & set(line.split()), line


def test_the_verdict_is_the_newest_identifying_sightings(tmp_path: Path) -> None:
    # Given a restricted device, seen again (same MAC) by a scan that identified nothing
    restricted = four_verdicts()[0]
    unidentified = restricted.model_copy(
        update={
            "manufacturer": None,
            "brand": None,
            "family": None,
            "relation": None,
            "model": None,
            "firmware": None,
            "confidence": 0.0,
            "restricted": False,
            "verdict": "unknown",
            "findings": [],
            "notes": [],
        }
    )
    DeviceEntry.model_validate(unidentified.model_dump())  # a coherent device
    db = _store(
        tmp_path, scan_of("scan-first", 10, [restricted]), scan_of("scan-later", 11, [unidentified])
    )
    # Then the inventory has the device seen by the newest scan, and keeps what the sighting
    # that identified it established, as it keeps the maker: not hearing the maker this time
    # proves nothing (a capture of the device's resets)
    (device,) = json.loads(_ok("inventory", "--db", db, "-f", "json"))["devices"]
    assert device["last_scan_id"] == "scan-later"
    assert device["manufacturer"] == restricted.manufacturer
    assert (device["restricted"], device["verdict"]) == (True, "restricted")
    assert device["confidence"] == restricted.confidence
    assert [f["policy"] for f in device["findings"]] == [f.policy for f in restricted.findings]


def test_policies_are_the_binding_restricting_ones_and_the_rest_are_other_policies() -> None:
    from provscan.compliance.render import INVENTORY_COLUMNS, inventory_rows

    # Given inventory devices whose findings restrict (binding or said by nobody), advise,
    # bind others only, or come from a store that kept no effect (restricting, as reported)
    def device(*findings: dict[str, object]) -> dict[str, object]:
        return {column: None for column in INVENTORY_COLUMNS} | {
            "findings": list(findings),
            "case": None,
        }

    rows = inventory_rows(
        [
            device(
                {"policy": "us", "effect": "use-ban", "binding": True},
                {"policy": "ca-qc", "effect": "procurement-ban", "binding": False},
                {"policy": "dk", "effect": "advisory"},
            ),
            device({"policy": "us", "effect": "procurement-ban"}, {"policy": "us-tx"}),
            device({"policy": "nz", "effect": "advisory", "binding": None}),
        ]
    )
    at = INVENTORY_COLUMNS.index("policies")
    assert INVENTORY_COLUMNS[at + 1] == "other_policies"
    # Then policies and other_policies split them as the scan CSV does
    assert [(row[at], row[at + 1]) for row in rows] == [
        ("us", "ca-qc;dk"),
        ("us;us-tx", ""),
        ("", "nz"),
    ]


def test_a_diff_says_each_devices_verdict_and_when_it_changed(tmp_path: Path) -> None:
    from inventory_verdicts import GOLDEN, entry
    from provscan.report.contract import from_contract

    # Given a device nothing identified in one scan and identified as a clear maker in the
    # next (same address, same MAC), and a device only the next scan found
    devices = four_verdicts()
    golden = from_contract(GOLDEN.read_text(encoding="utf-8"))
    clear = next(d for d in golden.devices if not d.restricted and d.manufacturer)
    identified = devices[3].model_copy(
        update={"manufacturer": clear.manufacturer, "brand": clear.brand, "verdict": "clear"}
    )
    identified = identified.model_copy(update={"family": clear.family, "confidence": 0.9})
    later = [*devices[:3], identified, entry(clear, 5)]
    db = _store(tmp_path, scan_of("scan-1", 10, devices), scan_of("scan-2", 11, later))
    diff = json.loads(_ok("diff", "scan-1", "scan-2", "--db", db, "-f", "json"))
    # Then the device now identified changed from unknown to clear, said in those words
    (changed,) = diff["changed"]
    assert changed["changes"]["verdict"] == ["unknown", "clear"]
    # And every device listed carries its verdict
    assert [d["verdict"] for d in diff["added"]] == ["clear"]
    assert diff["removed"] == []

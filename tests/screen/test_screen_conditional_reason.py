"""`provscan screen` says the condition of a row whose only restricting measure binds the user
only on a condition (the UK 2022 statement: sensitive government sites only), as the scan
table says it of the same maker's device ("binds you only on a condition", and the device's
note naming the condition); which findings restrict a row is read by the one predicate,
``provscan.model.finding_restricts``. A real list on disk, the commands as a user runs them,
and a real scan of a lab Hikvision camera over loopback."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from helpers import run_provscan

from provscan.lab.server import Lab
from provscan.model import RESTRICTING_FINDING_EFFECTS, finding_restricts
from provscan.screening.verdict import ScreenFinding

AS_UK = "uk:central-government"
LIST = (
    "Brand,Model,Description\n"
    "Hikvision,DS-2CD2143G0-I,dome camera\n"
    "Dahua,IPC-HDW2431T,bullet camera\n"
    "EZVIZ,C6N,indoor camera\n"
    "Axis,P3245-V,dome camera\n"
)
FAST = ["--timeout", "2", "--host-timeout", "15", "--quiet"]


def _ok(*args: str, width: int | None = None) -> str:
    result = run_provscan(*args, width=width, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _conditional(finding: dict[str, Any]) -> bool:
    """A finding that would restrict the row for the user if its condition held."""
    return (
        bool(finding.get("condition"))
        and finding.get("binding") is not False
        and finding["effect"] in RESTRICTING_FINDING_EFFECTS
    )


def _clause(finding: dict[str, Any]) -> str:
    """How the scan's note and the screen's reason name a conditional measure."""
    return f"{finding['policy']} ({finding['measure']}) if {finding['condition']}"


def test_a_row_restricted_only_on_a_condition_says_the_condition(tmp_path: Path) -> None:
    listing = tmp_path / "cameras.csv"
    listing.write_text(LIST, encoding="utf-8")
    rows = json.loads(_ok("screen", str(listing), "--as", AS_UK, "-f", "json"))["rows"]
    table = " ".join(_ok("screen", str(listing), "--as", AS_UK, "-f", "table", width=100).split())
    sheet = list(csv.DictReader(io.StringIO(_ok("screen", str(listing), "--as", AS_UK))))
    conditional_rows = 0
    for row, cells in zip(rows, sheet, strict=True):
        # the row's findings are read by the one predicate, whoever reads them
        for finding in row["findings"]:
            assert ScreenFinding.model_validate(finding).restricts == finding_restricts(finding)
        restricting = [f for f in row["findings"] if finding_restricts(f)]
        conditional = [f for f in row["findings"] if _conditional(f)]
        assert (row["verdict"] == "restricted") == bool(restricting)
        if restricting or not conditional:
            continue
        # Given a row only a measure on a condition would restrict for the user
        conditional_rows += 1
        assert {f["policy"] for f in conditional} == {"uk"}
        # Then it is to review, and its reason names the measure and the condition: in the
        # JSON, in the CSV and in the terminal table's Why column
        assert (row["verdict"], row["restricted"]) == ("review", None)
        assert "restricted only on a condition the row does not settle" in row["reason"]
        for finding in conditional:
            assert _clause(finding) in row["reason"]
            assert " ".join(_clause(finding).split()) in table
        assert cells["reason"] == row["reason"] and cells["verdict"] == "review"
        assert cells["policies"] == ""  # it restricts on no measure outright
    assert conditional_rows == 3  # Hikvision, Dahua, and EZVIZ (made by Hikvision)
    assert [r["verdict"] for r in rows][-1] == "clear"  # Axis: named by no measure


def test_the_screen_reason_and_the_scan_table_say_the_same_condition(
    lab: Lab, tmp_path: Path
) -> None:
    # Given a lab Hikvision camera scanned for a UK central government department
    device = next(
        d
        for d in lab.devices
        if d.expect.manufacturer == "Hikvision"
        and d.expect.restricted
        and not d.expect.hostile
        and d.services
        and d.identity.model
    )
    ports = ",".join(str(s.port) for s in device.services)
    scan = ["scan", device.address, "--ports", ports, "--no-db", "--no-discovery", *FAST]
    report = json.loads(_ok(*scan, "--as", AS_UK, "-f", "json"))
    (found,) = report["devices"]
    assert found["manufacturer"] == "Hikvision" and found["verdict"] == "review"
    scanned = [f for f in found["findings"] if _conditional(f)]
    assert scanned and not any(finding_restricts(f) for f in found["findings"])
    words = " ".join(_ok(*scan, "--as", AS_UK, width=200).split())
    assert "United Kingdom (binds you only on a condition)" in words
    # and the same maker's product screened for the same party
    listing = tmp_path / "one.csv"
    listing.write_text(f"Brand,Model\nHikvision,{device.identity.model}\n", encoding="utf-8")
    (row,) = json.loads(_ok("screen", str(listing), "--as", AS_UK, "-f", "json"))["rows"]
    # Then both name the measure and its condition in the same words
    for finding in scanned:
        assert _clause(finding) in " ".join(found["notes"])
        assert _clause(finding) in row["reason"]
    assert row["verdict"] == found["verdict"] == "review"

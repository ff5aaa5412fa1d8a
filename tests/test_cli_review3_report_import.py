"""`provscan report --scan ID --site X` and `provscan import` of a workbook of several sheets,
through the real commands on real files and stores.

A third newcomer review found `report --scan ID --site X` ignoring --site without a word (a
scan is stored with one site, so there is nothing to filter: the combination is refused
now), and `import FILE.xlsx` reading the first sheet of several without saying so (it says
which sheet it read and which it did not, and `--sheet NAME` picks one, read by the reader
`provscan screen --sheet` uses).
"""

from __future__ import annotations

import json
from pathlib import Path
from subprocess import CompletedProcess

import openpyxl
import pytest
from helpers import run_provscan

from provscan.store.db import open_store


def _one_line_error(result: CompletedProcess[str], code: int, *words: str) -> str:
    assert result.returncode == code, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("provscan: error: ") and "Traceback" not in lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


# -- report --scan with --site -------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> tuple[Path, str]:
    """A store holding an import stored for site hq (data only: an import sends nothing)."""
    register = tmp_path / "register.csv"
    register.write_text(
        "ip,maker,model\n192.0.2.10,Hikvision,DS-2CD2143G2-IU\n192.0.2.11,Axis,M3106-L\n",
        encoding="utf-8",
    )
    db = tmp_path / "store.db"
    stored = run_provscan("import", str(register), "--site", "hq", "--db", str(db), "-q")
    assert stored.returncode == 0, stored.stderr
    with open_store(f"sqlite:///{db}") as opened:
        (scan,) = opened.scans()
    assert scan.site == "hq"  # a scan is stored with one site: its --site
    return db, scan.id


@pytest.mark.parametrize("site", ["hq", "branch"])
def test_report_refuses_scan_with_site_in_one_line(
    store: tuple[Path, str], tmp_path: Path, site: str
) -> None:
    db, scan_id = store
    output = tmp_path / "report.md"
    result = run_provscan(
        "report", "--scan", scan_id[:8], "--site", site, "-o", str(output), "--db", str(db)
    )
    _one_line_error(result, 2, "--scan and --site exclude each other", "one site")
    assert result.stdout == ""
    assert not output.exists()


def test_report_takes_scan_or_site_alone(store: tuple[Path, str], tmp_path: Path) -> None:
    db, scan_id = store
    by_scan = tmp_path / "scan.md"
    done = run_provscan("report", "--scan", scan_id[:8], "-o", str(by_scan), "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert "192.0.2.10" in by_scan.read_text(encoding="utf-8")
    by_site = tmp_path / "hq.md"
    done = run_provscan("report", "--site", "hq", "-o", str(by_site), "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert "192.0.2.10" in by_site.read_text(encoding="utf-8")
    # the exit codes in --help name the refusal
    assert "--site" in run_provscan("report", "--help", width=100).stdout.split("Exit codes")[1]


# -- import of a workbook of several sheets --------------------------------------------------


def _workbook(path: Path, sheets: dict[str, list[list[str]]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.worksheets[0])
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


CAMERAS = [["IP", "Maker", "Model"], ["192.0.2.10", "Hikvision", "DS-2CD2143G2-IU"]]
RECORDERS = [["IP", "Maker", "Model"], ["192.0.2.20", "Dahua", "DHI-NVR4108HS-4KS2"]]


def _imported(result: CompletedProcess[str]) -> dict[str, dict[str, object]]:
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    return {device["ip"]: device for device in document["devices"]}


def test_import_says_which_sheet_it_read_and_sheet_picks_another(tmp_path: Path) -> None:
    register = _workbook(
        tmp_path / "register.xlsx",
        {"Cameras": CAMERAS, "Recorders": RECORDERS, "Notes": [["read me first"]]},
    )
    before = register.read_bytes()
    # Without --sheet: the first sheet, and a note on stderr naming it and the others
    default = run_provscan("import", str(register), "--no-db", "-f", "json")
    assert sorted(_imported(default)) == ["192.0.2.10"]
    (note,) = [line for line in default.stderr.splitlines() if "sheet" in line]
    assert note == (
        "provscan: note: register.xlsx: read sheet 'Cameras' of 3; not read: 'Recorders', "
        "'Notes' (--sheet NAME reads another)"
    )
    scan = json.loads(default.stdout)["scan"]
    assert any("(sheet 'Cameras')" in line for line in scan["notes"])
    # With --sheet: that sheet
    picked = run_provscan("import", str(register), "--sheet", "Recorders", "--no-db", "-f", "json")
    devices = _imported(picked)
    assert sorted(devices) == ["192.0.2.20"] and devices["192.0.2.20"]["manufacturer"] == "Dahua"
    assert "read sheet 'Recorders' of 3; not read: 'Cameras', 'Notes'" in picked.stderr
    # A sheet that is not there: one line naming the sheets, nothing imported
    missing = run_provscan("import", str(register), "--sheet", "Cams", "--no-db")
    _one_line_error(missing, 2, "no sheet 'Cams'", "Cameras, Recorders, Notes")
    assert missing.stdout == ""
    assert register.read_bytes() == before  # the workbook is only read


def test_a_first_sheet_without_addresses_points_to_sheet(tmp_path: Path) -> None:
    register = _workbook(
        tmp_path / "register.xlsx", {"Read me": [["How to fill in"]], "Cameras": CAMERAS}
    )
    result = run_provscan("import", str(register), "--no-db")
    _one_line_error(result, 2, "sheet 'Read me'", "no IP address or MAC column", "--sheet NAME")
    assert "'Cameras'" in result.stderr
    assert sorted(
        _imported(
            run_provscan("import", str(register), "--sheet", "Cameras", "--no-db", "-f", "json")
        )
    ) == ["192.0.2.10"]


def test_one_sheet_says_nothing_and_sheet_without_a_workbook_is_refused(tmp_path: Path) -> None:
    single = _workbook(tmp_path / "single.xlsx", {"Cameras": CAMERAS})
    done = run_provscan("import", str(single), "--no-db", "-f", "json")
    assert sorted(_imported(done)) == ["192.0.2.10"]
    assert "sheet" not in done.stderr
    table = tmp_path / "register.csv"
    table.write_text("ip,maker\n192.0.2.10,Hikvision\n", encoding="utf-8")
    refused = run_provscan("import", str(table), "--sheet", "Cameras", "--no-db")
    _one_line_error(refused, 2, "--sheet 'Cameras'", "XLSX")
    assert refused.stdout == ""

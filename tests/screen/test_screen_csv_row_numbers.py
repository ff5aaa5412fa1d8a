"""A CSV record's number is the row a spreadsheet shows it on, not the line it starts on.

A quoted cell holding a line break makes one record span several lines of the file; a
spreadsheet still shows it as one row. A review found the Axis row below shown as row 5 in
the table whose column says "Row" (the spreadsheet's row 3), and ``--header-row`` read by the
same numbers.
"""

from __future__ import annotations

import json
from pathlib import Path

from helpers import run_provscan

LIST = (
    'Brand,Model,Description\nHikvision,DS-2CD2143G0-I,"4MP dome\nwith IR\nand PoE"\n'
    "Axis,P3245-LVE,dome\n"
)


def test_rows_are_numbered_as_a_spreadsheet_shows_them(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text(LIST, encoding="utf-8")
    done = run_provscan("screen", str(path), "-q", "-f", "json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["rows"]
    assert [(row["row"], row["maker"]) for row in rows] == [(2, "Hikvision"), (3, "Axis")]
    table = run_provscan("screen", str(path), "-q", "-f", "table", width=100).stdout
    axis = next(line for line in table.splitlines() if "P3245-LVE" in line)
    assert axis.split()[0] == "3", table


def test_header_row_takes_the_spreadsheets_row(tmp_path: Path) -> None:
    """A title whose quoted cell breaks a line, then the header on the sheet's row 2."""
    path = tmp_path / "titled.csv"
    path.write_text('"Quote 42\nfor the north site"\n' + LIST, encoding="utf-8")
    done = run_provscan("screen", str(path), "-q", "-f", "json", "--header-row", "2")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["rows"]
    assert [(row["row"], row["maker"]) for row in rows] == [(3, "Hikvision"), (4, "Axis")]

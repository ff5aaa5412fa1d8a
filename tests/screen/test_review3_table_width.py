"""A procurement officer's review (third round): the ``screen`` table at 80 and 100 columns.

Rows with a long brand, two makers ("Hikvision/Dahua") or a long part number were 84
characters wide at 80 columns, and the terminal put the confidence on a line of its own.
No line may be wider than the terminal; the verdict word and the confidence stay on the
row's first line, and a part number too long for its column folds onto the next lines with
every character kept.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from helpers import run_in_terminal

#: Long names and numbers: a subsidiary's brand, a brand two makers make for, a part number
#: with its lens and options, a model cell of free text.
LONG_LIST = (
    "Manufacturer,Part Number,Description\n"
    "Prama Hikvision India,DS-2CD2346G2-ISU/SL,4MP AcuSense turret\n"
    "Honeywell,HBW4PER1,bullet\n"
    "Annke,DS-2CD2T47G2-LSU/SL(C)(2.8mm)(O-STD),bullet\n"
    "Motorola Solutions,MOTOTRBO R7 UHF 403-527 MHz portable radio,radio\n"
    "Axis,P3245-LV,dome\n"
)
ROW_START = re.compile(r"^ *(\d+)  (RESTRICTED|review|unknown|clear) ")


def screened(path: Path, columns: int) -> list[str]:
    return run_in_terminal(
        [sys.executable, "-m", "provscan", "screen", str(path), "-q", "-f", "table"], columns
    )


def rows_of(lines: list[str]) -> dict[int, list[str]]:
    """Each row's lines (its identity lines, then its reason) by row number."""
    rows: dict[int, list[str]] = {}
    current: list[str] = []
    for line in lines[2:]:  # the header and the "Why" line
        start = ROW_START.match(line)
        if start:
            current = rows.setdefault(int(start.group(1)), [])
        current.append(line)
    return rows


def model_text(lines: list[str], row_lines: list[str]) -> str:
    """The Model column over a row's identity lines, read at the header's character span
    (the column ends two characters before the right-aligned "Conf." header)."""
    title = lines[0]
    begin, end = title.index("Model"), title.index("Conf.") - 2
    return "".join(line[begin:end].strip() for line in row_lines)


def identity_lines(row: list[str]) -> list[str]:
    """A row's lines but its reason's (the reason is indented to the verdict column, the
    continuation of a wrapped name or number starts further right)."""
    return [line for line in row if ROW_START.match(line) or line[:17].strip() == ""]


@pytest.mark.parametrize("columns", [80, 100])
def test_no_line_is_wider_than_the_terminal(tmp_path: Path, columns: int) -> None:
    # Given a list of long brands, makers and part numbers
    path = tmp_path / "long.csv"
    path.write_text(LONG_LIST)
    # When it is screened at a terminal of 80 or 100 columns
    lines = screened(path, columns)
    # Then no line is wider than the terminal
    assert max(len(line) for line in lines) <= columns, "\n".join(lines)
    rows = rows_of(lines)
    assert sorted(rows) == [2, 3, 4, 5, 6]
    for row in rows.values():
        first = row[0]
        # And the verdict word and the confidence are on the row's first line
        assert ROW_START.match(first), row
        assert re.search(r"\b0\.\d\d$|\b1\.00$", first), row
    # And the verdicts are whole words
    assert ROW_START.match(rows[2][0]).group(2) == "RESTRICTED"  # type: ignore[union-attr]
    assert ROW_START.match(rows[6][0]).group(2) == "clear"  # type: ignore[union-attr]


@pytest.mark.parametrize("columns", [80, 100])
def test_every_character_of_a_part_number_is_kept(tmp_path: Path, columns: int) -> None:
    path = tmp_path / "long.csv"
    path.write_text(LONG_LIST)
    lines = screened(path, columns)
    rows = rows_of(lines)
    long_number = "DS-2CD2T47G2-LSU/SL(C)(2.8mm)(O-STD)"
    assert model_text(lines, identity_lines(rows[4])) == long_number
    # an ordinary part number stays whole on its row's first line
    assert " DS-2CD2346G2-ISU/SL " in rows[2][0]
    assert " P3245-LV " in rows[6][0]
    # and a model cell of words wraps between them, none lost
    assert model_text(lines, identity_lines(rows[5])).replace(" ", "") == (
        "MOTOTRBOR7UHF403-527MHzportableradio"
    )


def test_a_list_that_fits_keeps_its_one_line_rows(tmp_path: Path) -> None:
    # the table of a list whose columns fit is as before: one line a row, reasons beside
    path = tmp_path / "short.csv"
    path.write_text("Manufacturer,Model\nHikvision,DS-2CD2143G0-I\nAxis,P3245-LV\n")
    lines = screened(path, 100)
    assert lines[0].split() == ["Row", "Verdict", "Maker", "Brand", "Model", "Conf.", "Why"]
    assert max(len(line) for line in lines) <= 100

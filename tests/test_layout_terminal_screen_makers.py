"""``provscan screen -f table`` at 80 and 100 columns keeps every maker on one line.

A newcomer review found, at 80 columns, "Hikvision/" then "Dahua" and "Hanwha" then "Vision"
on two lines in the Maker column while the Brand column kept 20 characters and the Maker
column 12. Makers are a few known names: the Maker column keeps its longest one whole, and
a long brand wraps between its words, a long part number folds (every character kept). Run
in a real pseudo-terminal of each width.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from helpers import run_in_terminal

LIST = (
    "Manufacturer,Part Number,Description\n"
    "Prama Hikvision India,DS-2CD2346G2-ISU/SL,4MP AcuSense turret\n"
    "Honeywell,HBW4PER1,bullet\n"
    "Annke,C800,4K turret\n"
    "Hanwha Vision,XNV-8080R,dome\n"
    "Motorola Solutions,MOTOTRBO R7 UHF 403-527 MHz portable radio,radio\n"
    "Samsung Techwin,SNO-6011R-LONG-PART-NUMBER-OPTIONS,bullet\n"
)
ROW_START = re.compile(r"^ *(\d+)  (RESTRICTED|review|unknown|clear) +(.*)$")
#: The maker of each row, whole, as the CSV's maker cell says it.
MAKERS = {
    2: "Hikvision",
    3: "Hikvision/Dahua",
    4: "Hikvision/Dahua?",
    5: "Hanwha Vision",
    6: "Motorola Solutions",
    7: "Hanwha Vision",
}


@pytest.mark.parametrize("columns", [80, 100])
def test_makers_stay_whole_on_their_row(tmp_path: Path, columns: int) -> None:
    # Given a list of long makers, brands and part numbers
    path = tmp_path / "long.csv"
    path.write_text(LIST, encoding="utf-8")
    # When it is screened at a terminal of 80 or 100 columns
    lines = run_in_terminal(
        [sys.executable, "-m", "provscan", "screen", str(path), "-q", "-f", "table"], columns
    )
    # Then no line is wider than the terminal
    assert max(len(line) for line in lines) <= columns, "\n".join(lines)
    header = lines[0]
    maker_at, brand_at = header.index("Maker"), header.index("Brand")
    firsts = {int(m.group(1)): line for line in lines if (m := ROW_START.match(line))}
    assert sorted(firsts) == sorted(MAKERS)
    for row, maker in MAKERS.items():
        # And each maker is whole on its row's first line, in the Maker column
        cell = firsts[row][maker_at:brand_at].strip()
        assert cell == maker, (row, firsts[row])
    # And no maker's piece is left on a continuation line of the Maker column
    for line in lines[2:]:
        if not ROW_START.match(line) and line[:maker_at].strip() == "":
            assert line[maker_at:brand_at].strip() == "", line
    # And the Brand column is no wider than its longest word needs at 80 columns
    if columns == 80:
        model_at = header.index("Model")
        assert model_at - brand_at - 2 <= len("Prama Hikvision India")

"""A line naming another product of a restricted family than the one its verdict rests on
is reviewed, whatever the policies (a newcomer's second review of ``provscan screen``).

- A kit of a Dahua recorder and Hikvision cameras was "clear" under Canada's Hikvision
  measure (the Dahua recorder led, and Canada names no Dahua measure).
- "4x <Dahua camera> and 1x <Hikvision recorder>", or an Axis camera "+" a Hikvision
  recorder, was judged on its first number alone.
- A TP-Link row with a Hikvision number asked a review under ``--policy ca`` but was "clear"
  by default: measures naming TP-Link without binding the user cleared it first.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from helpers import screened_rows


def _write(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Brand", "Item"])
        writer.writerows(rows)
    return path


LIST = [
    ("", "KIT/NVR4104HS-P-4KS2-2T/4-DS-2CD2143G2-I"),
    ("", "4x IPC-HFW2431S-S-S2 and 1x DS-7608NXI-K2"),
    ("Axis", "P3265-LVE + DS-7608NXI-K2"),
    ("TP-Link", "DS-2CD2143G2-I"),
    # no other restricted family in the line: as before
    ("", "KIT/NVR4104HS-P-4KS2-2T/4-HFW1320SP-0360B"),
    ("Axis", "P3265-LVE"),
    ("TP-Link", "VIGI C540"),
]


def test_under_canadas_measures_the_other_family_asks_a_review(cli: Any, tmp_path: Path) -> None:
    rows = screened_rows(cli, _write(tmp_path / "list.csv", LIST), "--policy", "ca")
    verdicts = [row["verdict"] for row in rows]
    assert verdicts == ["review", "review", "review", "review", "clear", "clear", "clear"], [
        (row["verdict"], row["reason"]) for row in rows
    ]
    assert "kit component DS-2CD2143G2-I follows Hikvision's numbering" in rows[0]["reason"]
    assert "the line's other number DS-7608NXI-K2 follows Hikvision's" in rows[1]["reason"]
    assert "the line's other number DS-7608NXI-K2" in rows[2]["reason"]


def test_by_default_a_restricted_row_stays_restricted_and_names_the_other(
    cli: Any, tmp_path: Path
) -> None:
    rows = screened_rows(cli, _write(tmp_path / "list.csv", LIST))
    assert [row["verdict"] for row in rows[:4]] == ["restricted", "restricted", "review", "review"]
    assert "kit with components of other makers: DS-2CD2143G2-I (Hikvision)" in rows[0]["reason"]
    assert "the line also names DS-7608NXI-K2 (Hikvision)" in rows[1]["reason"]
    # measures naming TP-Link without binding the user no longer clear the Hikvision number
    assert "follows Hikvision's maker-specific numbering" in rows[3]["reason"]
    assert [row["verdict"] for row in rows[4:]] == ["restricted", "clear", "clear"]

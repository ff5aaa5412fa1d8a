"""How a screened row words what it knows (procurement officer's newcomer review, output side).

Found: a Crown corporation's Dahua, Huawei, ZTE, Hytera and DJI rows said only "own brand -
not restricted for ca:crown-corporation", not that measures name them but do not bind it (as
``provscan scan`` says: "named by us, au (does not bind you)"); a Lorex row read Maker
``Dahua``, then "made by Dahua (possible relabel) - review: Dahua is only a possible maker",
and as a Crown corporation ``clear`` with Maker ``Dahua`` at 0.47; an Annke row (Hikvision or
Dahua) said the UK statement's condition twice. A real list screened as a user runs it.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from helpers import run_provscan

QUOTE = (
    "Item,Manufacturer,Model,Description,Qty\n"
    "1,Dahua,IPC-HFW2431S-S-S2,bullet camera,4\n"
    "2,Huawei,AR651,enterprise router,1\n"
    "3,ZTE,ZXHN F670L,ONT,2\n"
    "4,Hytera,PD785,DMR radio,10\n"
    "5,DJI,Mavic 3 Enterprise,drone,1\n"
    "6,Lorex,E892AB,4K camera,6\n"
    "7,Annke,C800,turret,2\n"
    "8,Hikvision,DS-2CD2143G0-I,dome,4\n"
)
CROWN = "ca:crown-corporation"


def _screen(path: Path, *args: str, width: int | None = None) -> str:
    done = run_provscan(
        "screen",
        str(path),
        "-q",
        *args,
        width=width,
        env={"XDG_CONFIG_HOME": str(path.parent / "config")},
        unset=("LINES", "PROVSCAN_CONFIG"),
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def quote(tmp_path: Path) -> Path:
    path = tmp_path / "quote.csv"
    path.write_text(QUOTE, encoding="utf-8")
    return path


def _rows(path: Path, *args: str) -> dict[str, dict[str, Any]]:
    rows = json.loads(_screen(path, "-f", "json", *args))["rows"]
    return {row["brand"]: row for row in rows}


def test_a_crown_corporation_is_told_which_measures_name_the_maker(quote: Path) -> None:
    rows = _rows(quote, "--as", CROWN)
    table = _screen(quote, "--as", CROWN, "-f", "table", width=200)
    for brand in ("Dahua", "Huawei", "ZTE", "Hytera", "DJI"):
        row = rows[brand]
        assert row["verdict"] == "clear", row
        # the measures that name the maker but bind others (as the findings say)
        unbound = list(
            dict.fromkeys(
                f["policy"]
                for f in row["findings"]
                if f["binding"] is False and f["effect"] not in ("advisory", "context")
            )
        )
        assert unbound, row
        said = f"not restricted for {CROWN}: named by {', '.join(unbound)} (do not bind you)"
        first = row["reason"].split("; ")[0]
        assert said in first, first
        # and the table shows it on the row, as the scan's table does
        line = next(line for line in table.splitlines() if f"  {brand}  " in line)
        assert said in line, line
    # advice and context are told apart from measures that bind others (Denmark, NZ)
    assert "and by dk, nz (advice or context only)" in rows["Dahua"]["reason"]


def test_the_default_reading_says_the_measures_bind_others(tmp_path: Path) -> None:
    path = tmp_path / "uniview.csv"
    path.write_text("Brand,Model\nUniview,IPC322LB-SF28-A\n", encoding="utf-8")
    (row,) = json.loads(_screen(path, "-f", "json"))["rows"]
    assert row["verdict"] == "clear"
    assert "not restricted for a national government body: named by" in row["reason"]
    assert "(binding others)" in row["reason"]


def test_a_possible_maker_is_never_said_to_make_it(quote: Path) -> None:
    for args in ((), ("--as", CROWN)):
        rows = _rows(quote, *args)
        lorex = rows["Lorex"]
        assert lorex["relation"] == "possible_relabel"
        assert lorex["reason"].startswith("Lorex: possibly made by Dahua (possible_relabel)")
        assert "Lorex: made by" not in lorex["reason"]
        assert "is only a possible maker" not in lorex["reason"]
        # the JSON keeps the maker's name; the CSV and the table mark it as only possible
        assert lorex["maker"] == "Dahua"
        sheet = {
            cells["Manufacturer"]: cells
            for cells in csv.DictReader(io.StringIO(_screen(quote, "-f", "csv", *args)))
        }
        assert sheet["Lorex"]["maker"] == "Dahua?"
        assert sheet["Annke"]["maker"] == "Hikvision/Dahua?"
        assert sheet["Dahua"]["maker"] == "Dahua"  # an established maker stays bare
        table = _screen(quote, "-f", "table", *args, width=120)
        lorex_line = next(line for line in table.splitlines() if "Lorex" in line)
        assert " Dahua? " in lorex_line
    rows = _rows(quote)
    assert rows["Lorex"]["verdict"] == "review"
    assert "review: the maker is not established" in rows["Lorex"]["reason"]
    crown = _rows(quote, "--as", CROWN)
    assert crown["Lorex"]["verdict"] == "clear"
    assert (
        "possibly made by Hikvision or Dahua and not every one is restricted"
        in (crown["Annke"]["reason"])
    )


def test_a_condition_is_said_once_for_two_possible_makers(quote: Path) -> None:
    annke = _rows(quote, "--policy", "uk")["Annke"]
    assert annke["verdict"] == "review"
    assert annke["makers"] == ["Hikvision", "Dahua"]
    # the UK statement names both families: two findings, one measure, one condition
    uk = [f for f in annke["findings"] if f["policy"] == "uk"]
    assert len(uk) == 2 and len({f["measure"] for f in uk}) == 1
    clause = f"uk ({uk[0]['measure']}) if {uk[0]['condition']}"
    assert annke["reason"].count(clause) == 1

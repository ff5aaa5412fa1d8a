"""A screened row's `verdict` is the word `provscan scan` and `provscan inventory` give a
device (restricted, review, unknown, clear), in the CSV, the XLSX and the JSON alike; the
`restricted` column (yes/review/no/unknown) and the JSON `status` stay for existing readers
(a newcomer review: the same filter gave different answers on a screened list and an
inventory)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, get_args

import openpyxl
import pytest
from helpers import run_provscan
from pydantic import ValidationError

from provscan.report.contract import VERDICTS
from provscan.screening.verdict import ScreenRow, Status, verdict_of_status

#: One product per verdict, and a line with no product in it (a quantity only).
LIST = (
    "Line,Brand,Model,Description,Qty\n"
    "1,Hikvision,DS-2CD2143G0-I,dome camera,4\n"
    "2,Annke,C800,4K PoE turret,2\n"
    "3,Northwind,,camera pole,2\n"
    "4,Axis,P3225-LV Mk II,fixed dome,8\n"
    "5,,,,3\n"
)
#: The `restricted` column's words, and the verdict each one is.
RESTRICTED_WORDS = {"yes": "restricted", "review": "review", "unknown": "unknown", "no": "clear"}


def _screen(tmp_path: Path, output: Path) -> None:
    source = tmp_path / "list.csv"
    source.write_text(LIST, encoding="utf-8")
    result = run_provscan(
        "screen",
        str(source),
        "--policy",
        "ca,us",
        "-o",
        str(output),
        env={"XDG_CONFIG_HOME": str(tmp_path / "config")},
        unset=("LINES", "PROVSCAN_CONFIG"),
    )
    assert result.returncode == 0, result.stderr


@pytest.fixture
def screened(tmp_path: Path) -> dict[str, Any]:
    """The list screened by the CLI as JSON, CSV and XLSX."""
    outputs = {fmt: tmp_path / f"screened.{fmt}" for fmt in ("json", "csv", "xlsx")}
    for output in outputs.values():
        _screen(tmp_path, output)
    return {
        "json": json.loads(outputs["json"].read_text(encoding="utf-8")),
        "csv": list(csv.reader(io.StringIO(outputs["csv"].read_text(encoding="utf-8")))),
        "xlsx": outputs["xlsx"],
    }


def test_every_json_row_has_the_verdict_of_its_status(screened: dict[str, Any]) -> None:
    rows = screened["json"]["rows"]
    # status and restricted are kept as they were, verdict is added
    assert all({"status", "restricted", "verdict"} <= set(row) for row in rows)
    assert [row["verdict"] for row in rows] == [verdict_of_status(row["status"]) for row in rows]
    # the list holds one product per verdict
    assert {row["verdict"] for row in rows} == set(VERDICTS)
    # a line with no product in it is unknown, never clear
    (empty,) = [row for row in rows if row["input"] == ""]
    assert empty["verdict"] == "unknown" and empty["restricted"] is None
    summary = screened["json"]["summary"]
    for verdict in VERDICTS:
        assert summary[verdict] == sum(row["verdict"] == verdict for row in rows)


def test_the_csv_ends_with_the_verdict_column(screened: dict[str, Any]) -> None:
    # the verdict keeps its place after the reason; only the measures (added after it) follow
    header, *body = screened["csv"]
    assert header[-3:] == ["reason", "verdict", "measures"]
    restricted = header.index("restricted")
    assert [cells[-2] for cells in body] == [row["verdict"] for row in screened["json"]["rows"]]
    assert [cells[-2] for cells in body] == [RESTRICTED_WORDS[cells[restricted]] for cells in body]


def test_the_xlsx_ends_with_the_verdict_column(screened: dict[str, Any]) -> None:
    book = openpyxl.load_workbook(screened["xlsx"])
    try:
        sheet = book.active
        assert sheet is not None
        header = [cell.value for cell in sheet[1]]
        assert header[-3:] == ["reason", "verdict", "measures"]
        column = len(header) - 1
        cells = [sheet.cell(row=row, column=column) for row in range(2, sheet.max_row + 1)]
    finally:
        book.close()
    assert [cell.value for cell in cells] == [row["verdict"] for row in screened["json"]["rows"]]
    assert {cell.data_type for cell in cells} == {"s"}  # text


def _lookup_json(product: str, tmp_path: Path) -> dict[str, Any]:
    result = run_provscan(
        "lookup",
        product,
        "--format",
        "json",
        env={"XDG_CONFIG_HOME": str(tmp_path / "config")},
        unset=("LINES", "PROVSCAN_CONFIG"),
    )
    assert result.returncode == 0, result.stderr
    row: dict[str, Any] = json.loads(result.stdout)
    return row


def test_lookup_json_carries_the_verdict(tmp_path: Path) -> None:
    row = _lookup_json("Hikvision DS-2CD2143G0-I", tmp_path)
    assert row["verdict"] == "restricted" == verdict_of_status(row["status"])


def test_the_mapping_gives_every_status_a_scan_verdict() -> None:
    statuses: tuple[Status, ...] = get_args(Status)
    assert {verdict_of_status(status) for status in statuses} == set(VERDICTS)


def test_a_row_written_before_the_verdict_reads_with_it_and_a_wrong_one_is_refused(
    tmp_path: Path,
) -> None:
    row = _lookup_json("Axis P3225-LV Mk II", tmp_path)
    older = {key: value for key, value in row.items() if key != "verdict"}
    assert ScreenRow.model_validate(older).verdict == row["verdict"]
    wrong = next(verdict for verdict in VERDICTS if verdict != row["verdict"])
    with pytest.raises(ValidationError, match="verdict"):
        ScreenRow.model_validate({**row, "verdict": wrong})

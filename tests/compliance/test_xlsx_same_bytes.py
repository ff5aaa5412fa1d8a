"""The same report written again is the same bytes (auditors hash the files they hand over).

openpyxl stamps the document properties (created, modified) and zipfile every part of the
archive with the time of writing; the XLSX files state the report's own time instead, or a
fixed epoch when the report states none, and the zip entries a fixed time. Each command is
run twice, more than two seconds apart (a zip entry's time resolution), through the CLI.
"""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest
from report_history import ReportStore
from typer.testing import CliRunner

from provscan.cli import app
from provscan.screening.audit import XLSX_EPOCH

#: Longer than a zip entry's time resolution (two seconds) and a document property's (one).
_APART = 2.1


def _written(arguments: list[str], output: Path) -> bytes:
    result = CliRunner().invoke(app, [*arguments, "-o", str(output)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return output.read_bytes()


def _stated(data: bytes, sheet: str, label: str) -> object:
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    try:
        return next(row[1] for row in book[sheet].iter_rows(values_only=True) if row[0] == label)
    finally:
        book.close()


def _twice(write: Callable[[str], bytes], stated: Callable[[bytes], object]) -> bytes:
    """Written twice apart; again when the report's stated time turned in between (a
    report that states another time is another report)."""
    for _ in range(3):
        first = write("first.xlsx")
        time.sleep(_APART)
        second = write("second.xlsx")
        if stated(first) == stated(second):
            assert first == second
            return first
    pytest.fail("the stated time changed between every pair of runs")


def _sound(data: bytes) -> openpyxl.Workbook:
    """A valid archive of parts of one fixed time, that openpyxl reads back."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        assert {entry.date_time for entry in archive.infolist()} == {XLSX_EPOCH.timetuple()[:6]}
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames
    return book


def test_the_report_xlsx_is_the_same_bytes_written_again(
    report_store: ReportStore, tmp_path: Path
) -> None:
    arguments = ["report", "--db", str(report_store.path), "--force"]
    data = _twice(
        lambda name: _written(arguments, tmp_path / name),
        lambda data: _stated(data, "Summary", "Report date"),
    )
    book = _sound(data)
    assert book["Summary"].max_row > 5
    assert book.properties.created == book.properties.modified


def test_the_inventory_xlsx_is_the_same_bytes_written_again(
    report_store: ReportStore, tmp_path: Path
) -> None:
    arguments = ["inventory", "--db", str(report_store.path), "-f", "xlsx", "--force"]
    data = _twice(lambda name: _written(arguments, tmp_path / name), lambda data: None)
    book = _sound(data)
    # the inventory states no time of its own: the properties carry the fixed epoch
    assert book.properties.created == XLSX_EPOCH.replace(tzinfo=None)
    assert book.properties.modified == XLSX_EPOCH.replace(tzinfo=None)
    assert book["Inventory"].max_row > 1


def test_the_report_xlsx_properties_state_the_report_date(
    report_store: ReportStore, tmp_path: Path
) -> None:
    data = _written(["report", "--db", str(report_store.path)], tmp_path / "r.xlsx")
    stated = _stated(data, "Summary", "Report date")
    assert isinstance(stated, str)
    moment = datetime.strptime(stated, "%Y-%m-%d %H:%M UTC").replace(tzinfo=UTC)
    book = _sound(data)
    assert book.properties.created == moment.replace(tzinfo=None)
    assert book.properties.modified == moment.replace(tzinfo=None)

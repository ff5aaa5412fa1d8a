"""A screened workbook written again is the same bytes (auditors hash the files they hand over).

openpyxl stamps the document properties (created, modified) and zipfile every part of the
archive with the time of writing. ``workbook_bytes`` writes the time the screening states
(its "Screened at") into the properties and a fixed time into the zip entries.
"""

from __future__ import annotations

import io
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from provscan.screening.audit import (
    XLSX_EPOCH,
    add_audit_sheets,
    screened_time,
    with_audit,
    workbook_bytes,
)
from provscan.screening.verdict import ScreenSummary

#: Longer than a zip entry's time resolution (two seconds) and a document property's (one).
_APART = 2.1
LIST = "Brand,Model,Description\nHikvision,DS-2CD2043G2-I,camera\nAxis,M3106-L Mk II,camera\n"


def _summary(now: datetime) -> ScreenSummary:
    bare = ScreenSummary(
        rows=2,
        restricted=1,
        review=0,
        clear=1,
        unknown=0,
        policies=["us"],
        columns={"brand": "Brand", "model": "Model"},
        source="list.csv",
        judged_for="a national government body",
    )
    return with_audit(bare, source=LIST.encode(), knowledge={"version": "x"}, now=now)


def _screened_book(summary: ScreenSummary) -> openpyxl.Workbook:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Brand", "Model"])
    sheet.append(["Hikvision", "DS-2CD2043G2-I"])
    add_audit_sheets(book, summary, [], results="columns C:K of sheet 'Sheet'")
    return book


def _entry_times(data: bytes) -> set[tuple[int, ...]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        return {entry.date_time for entry in archive.infolist()}


def test_a_workbook_written_again_is_the_same_bytes_and_states_the_screening_time() -> None:
    summary = _summary(datetime(2026, 11, 30, 9, 15, 42, 123456, tzinfo=UTC))
    moment = screened_time(summary)
    assert moment is not None
    first = workbook_bytes(_screened_book(summary), moment)
    time.sleep(_APART)
    second = workbook_bytes(_screened_book(summary), moment)
    assert first == second
    assert _entry_times(first) == {XLSX_EPOCH.timetuple()[:6]}
    book = openpyxl.load_workbook(io.BytesIO(first))
    stated = next(
        row[1]
        for row in book["provscan screening"].iter_rows(values_only=True)
        if row[0] == "Screened at (UTC)"
    )
    assert book.properties.created == book.properties.modified
    assert book.properties.created.isoformat() + "Z" == stated


def test_a_workbook_without_a_stated_time_carries_the_epoch_and_a_loaded_one_too() -> None:
    plain = openpyxl.Workbook()
    plain.active["A1"] = "x"  # type: ignore[index]
    data = workbook_bytes(plain)
    # read back and written again (as screening an XLSX does): its properties do not survive
    again = workbook_bytes(openpyxl.load_workbook(io.BytesIO(data)))
    for written in (data, again):
        book = openpyxl.load_workbook(io.BytesIO(written))
        assert book.properties.created == XLSX_EPOCH.replace(tzinfo=None)
        assert _entry_times(written) == {XLSX_EPOCH.timetuple()[:6]}
    assert (
        screened_time(_summary(datetime.now(UTC)).model_copy(update={"screened_at": None})) is None
    )


def _stated_and_sound(data: bytes, created: datetime | None = None) -> str:
    """The screening time the workbook states; its properties' modified time is that time,
    its created time ``created`` (the user's own workbook's), else that time too."""
    assert _entry_times(data) == {XLSX_EPOCH.timetuple()[:6]}
    book = openpyxl.load_workbook(io.BytesIO(data))
    stated = next(
        row[1]
        for row in book["provscan screening"].iter_rows(values_only=True)
        if row[0] == "Screened at (UTC)"
    )
    assert isinstance(stated, str)
    assert book.properties.modified.isoformat() + "Z" == stated
    assert book.properties.created == (created or book.properties.modified)
    return stated


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_the_screen_command_writes_the_same_bytes_for_the_same_screening(
    cli: Any, tmp_path: Path, kind: str
) -> None:
    source = tmp_path / f"list.{kind}"
    created = None
    if kind == "csv":
        source.write_text(LIST, encoding="utf-8")
    else:
        book = openpyxl.Workbook()
        for line in LIST.splitlines():
            book.active.append(line.split(","))  # type: ignore[union-attr]
        created = datetime(2020, 5, 1, 12, 0, 0)  # the user's workbook's own date (UTC)
        book.properties.created = created
        book.save(source)
    outputs: list[bytes] = []
    for attempt in range(8):  # the screening states its second: two runs within one
        output = tmp_path / f"out{attempt}.xlsx"
        result = cli("screen", str(source), "-o", str(output), "-q")
        assert result.exit_code == 0, result.output
        outputs.append(output.read_bytes())
        stated = [_stated_and_sound(data, created) for data in outputs[-2:]]
        if len(stated) == 2 and stated[0] == stated[1]:
            assert outputs[-2] == outputs[-1]
            return
    pytest.fail("no two runs screened within the same second")

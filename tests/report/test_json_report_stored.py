"""A JSON report of a stored result: written as the store takes each device's contract entry,
so that each entry is made once (issue 14), with emit's guarantees kept: the same text as an
unstored report, the store first when the report cannot be written, the whole report when
the store fails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provscan.commands.common import OutputFormat, emit, open_db
from provscan.errors import StoreError
from provscan.model import ScanResult
from provscan.report import contract
from provscan.report.files import OutputError
from provscan.report.formats import render_json


def _stored_devices(db: Path, scan_id: str) -> list[str]:
    with open_db(str(db), must_exist=True) as store:
        return [device.ip for device in store.load(scan_id).devices]


def test_a_stored_json_report_is_the_unstored_one(
    sample_result: ScanResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # When the result is stored and its JSON report written, to a file and to the console
    emit(sample_result, OutputFormat.json, tmp_path / "scan.json", str(tmp_path / "a.db"), False)
    emit(sample_result, OutputFormat.json, None, str(tmp_path / "b.db"), False)
    # Then both are the report of the unstored result, byte for byte
    expected = render_json(sample_result)
    assert (tmp_path / "scan.json").read_text() == expected
    assert capsys.readouterr().out == expected
    # And each store holds every device, in the report's order
    ips = [device["ip"] for device in json.loads(expected)["devices"]]
    assert len(ips) == len(sample_result.devices)
    scan_id = sample_result.info.scan_id
    assert _stored_devices(tmp_path / "a.db", scan_id) == ips
    assert _stored_devices(tmp_path / "b.db", scan_id) == ips


def test_each_device_entry_is_made_once_for_the_store_and_the_report(
    sample_result: ScanResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[object] = []
    validate = contract.DeviceEntry.model_validate

    def counted(data: object) -> contract.DeviceEntry:
        made.append(data)
        return validate(data)

    monkeypatch.setattr(contract.DeviceEntry, "model_validate", counted)
    emit(sample_result, OutputFormat.json, tmp_path / "scan.json", str(tmp_path / "s.db"), False)
    assert len(made) == len(sample_result.devices)


def test_a_store_that_fails_still_gets_the_whole_report_then_its_error(
    sample_result: ScanResult, tmp_path: Path
) -> None:
    # Given the scan already stored (a second save is refused before any device is taken)
    db = str(tmp_path / "s.db")
    emit(sample_result, OutputFormat.table, tmp_path / "first.txt", db, False)
    # When it is stored again with a JSON report
    with pytest.raises(StoreError, match="already stored"):
        emit(sample_result, OutputFormat.json, tmp_path / "scan.json", db, False)
    # Then the report was still written in full before the error
    assert (tmp_path / "scan.json").read_text() == render_json(sample_result)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
def test_a_report_that_cannot_be_written_is_stored_anyway(
    sample_result: ScanResult, tmp_path: Path
) -> None:
    # When the report goes to a device that is always full
    db = tmp_path / "s.db"
    with pytest.raises(OutputError, match="/dev/full"):
        emit(sample_result, OutputFormat.json, Path("/dev/full"), str(db), False)
    # Then the scan was stored anyway, every device of it
    assert len(_stored_devices(db, sample_result.info.scan_id)) == len(sample_result.devices)

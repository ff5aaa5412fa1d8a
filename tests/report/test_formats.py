"""Renderers: CSV, JSON Lines, the rich table, and writing reports to files."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from provscan.model import ScanResult
from provscan.report.contract import to_contract
from provscan.report.formats import (
    CSV_COLUMNS,
    FORMATS,
    OutputError,
    render_csv,
    render_json,
    render_jsonl,
    render_table,
    write_output,
)


def _csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _table_text(result: ScanResult, *, verbose: bool = False) -> str:
    console = Console(record=True, width=160, file=io.StringIO())
    render_table(result, console, verbose=verbose)
    return console.export_text()


def test_csv_has_one_row_per_device_in_contract_order(sample_result: ScanResult) -> None:
    text = render_csv(sample_result)
    header = next(csv.reader(io.StringIO(text, newline="")))
    assert tuple(header) == CSV_COLUMNS
    rows = _csv_rows(text)
    assert [row["ip"] for row in rows] == ["192.0.2.10", "192.0.2.20"]
    amcrest, axis = rows
    assert amcrest["open_ports"] == "80 554 37777"
    assert amcrest["manufacturer"] == "Dahua"
    assert amcrest["brand"] == "Amcrest"
    assert amcrest["relation"] == "oem_relabel"
    assert amcrest["restricted"] == "true"
    assert amcrest["policies"] == "us-ndaa-889;us-fcc-covered-list"
    assert amcrest["evidence_count"] == "3"
    assert amcrest["confidence"] == "0.93"
    assert axis["restricted"] == "false"
    assert axis["policies"] == ""
    assert axis["relation"] == ""


def test_csv_guards_against_formula_injection(sample_result: ScanResult) -> None:
    # Given a hostile device whose banners look like spreadsheet formulas
    hostile = replace(
        sample_result.devices[1],
        manufacturer='=HYPERLINK("http://evil.invalid")',
        brand="+SUM(A1:A9)",
        model="-2+3",
        firmware="@cmd",
        device_type="\tinjected",
        mac="\rrow",
    )
    result = replace(sample_result, devices=(hostile,))
    # When it is rendered and parsed back
    (row,) = _csv_rows(render_csv(result))
    # Then every such cell is neutralised with a leading quote, the rest kept verbatim
    assert row["manufacturer"] == '\'=HYPERLINK("http://evil.invalid")'
    assert row["brand"] == "'+SUM(A1:A9)"
    assert row["model"] == "'-2+3"
    assert row["firmware"] == "'@cmd"
    assert row["device_type"] == "'\tinjected"
    assert row["mac"] == "'\rrow"
    assert row["ip"] == hostile.ip


def test_jsonl_is_a_scan_line_then_one_line_per_device(sample_result: ScanResult) -> None:
    lines = list(render_jsonl(sample_result))
    assert all(line.endswith("\n") and line.count("\n") == 1 for line in lines)
    records = [json.loads(line) for line in lines]
    document = json.loads(render_json(sample_result))
    assert records[0] == {"type": "scan", "schema_version": "1.8", **document["scan"]}
    assert [record["type"] for record in records[1:]] == ["device", "device"]
    for record, device in zip(records[1:], document["devices"], strict=True):
        assert record == {"type": "device", "scan_id": document["scan"]["id"], **device}


def test_table_leads_with_the_summary_and_groups_devices_by_verdict(
    sample_result: ScanResult,
) -> None:
    lines = _table_text(sample_result).splitlines()
    assert lines[1] == (
        "2 devices: 1 restricted, 0 to review, 0 unknown, 1 clear; 12 hosts without answers"
    )
    assert lines[2] == "By maker family: Dahua 1, other makers 1"
    everyone_answered = replace(
        sample_result,
        info=replace(sample_result.info, hosts_scanned=2, hosts_responding=2),
    )
    assert _table_text(everyone_answered).splitlines()[1] == (
        "2 devices: 1 restricted, 0 to review, 0 unknown, 1 clear"
    )
    text = "\n".join(lines)
    # restricted first, with its family's pointer to the policies, then the clear device
    assert text.index("Restricted: 1 device") < text.index("Clear: 1 device")
    assert (
        "Dahua family (1): restricted by us-ndaa-889, us-fcc-covered-list (see Policies below)"
        in text
    )
    assert "Axis 192.0.2.20" in text
    # each policy is explained once, with its citation
    assert text.count("Federal procurement ban on covered video-surveillance equipment") == 1
    assert "Pub. L. 115-232 s.889(a)(1)(A); FAR 52.204-25" in text
    # the evidence is for --verbose
    assert "dvrip/37777" not in text
    assert "--verbose" in text


def test_verbose_table_shows_every_finding_and_piece_of_evidence(
    sample_result: ScanResult,
) -> None:
    text = _table_text(sample_result, verbose=True)
    assert "192.0.2.10 restricted: Amcrest IP8M-2496EB, made by Dahua (oem_relabel)" in text
    assert "M3106-L Mk II" in text
    for device in sample_result.devices:
        for finding in device.findings:
            assert f"{finding.policy} ({finding.jurisdiction}): {finding.measure}" in text
        for evidence in device.evidence:
            assert evidence.observed_field in text
    # the strongest rule match comes first among the evidence lines
    assert text.index("rule dahua.dvrip.reply") < text.index("rule amcrest.http.digest_realm")
    assert "dvrip/37777" in text


def test_table_marks_restricted_in_bold_red(sample_result: ScanResult) -> None:
    console = Console(record=True, width=160, file=io.StringIO(), force_terminal=True)
    render_table(sample_result, console)
    styled = console.export_text(styles=True)
    assert "\x1b[1;31mRestricted: 1 device" in styled


def test_table_neither_interprets_markup_nor_passes_escapes_from_devices(
    sample_result: ScanResult,
) -> None:
    hostile = replace(
        sample_result.devices[0],
        model="[bold]X[/bold]\x1b[2J",
        brand="Amcrest\u202e",
        manufacturer="[red]Axis\x1b[0m",
    )
    for verbose in (False, True):
        text = _table_text(replace(sample_result, devices=(hostile,)), verbose=verbose)
        assert "[red]Axis\\x1b[0m" in text
        assert "\x1b" not in text
        assert "\u202e" not in text
    assert "[bold]X[/bold]\\x1b[2J" in text


def test_incomplete_scan_is_flagged_in_the_summary(sample_result: ScanResult) -> None:
    info = replace(sample_result.info, complete=False)
    assert "scan INCOMPLETE" in _table_text(replace(sample_result, info=info))


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv"])
def test_write_output_to_console_writes_plain_data(sample_result: ScanResult, fmt: str) -> None:
    buffer = io.StringIO()
    write_output(sample_result, fmt, None, Console(file=buffer, width=40))
    expected = {
        "json": render_json(sample_result),
        "jsonl": "".join(render_jsonl(sample_result)),
        "csv": render_csv(sample_result),
    }[fmt]
    assert buffer.getvalue() == expected


@pytest.mark.parametrize("fmt", FORMATS)
def test_write_output_to_file_is_atomic_and_complete(
    sample_result: ScanResult, fmt: str, tmp_path: Path
) -> None:
    target = tmp_path / f"report.{fmt}"
    target.write_text("old content that must be replaced whole")
    write_output(sample_result, fmt, target, Console(file=io.StringIO()))
    content = target.read_bytes().decode("utf-8")
    if fmt == "json":
        assert content == render_json(sample_result)
        assert json.loads(content)["scan"]["id"] == to_contract(sample_result).scan.id
    elif fmt == "jsonl":
        assert content == "".join(render_jsonl(sample_result))
    elif fmt == "csv":
        assert content == render_csv(sample_result)
    else:
        assert "restricted by us-ndaa-889" in content
        assert "\x1b" not in content
    # no temporary file is left next to the report
    assert [path.name for path in tmp_path.iterdir()] == [target.name]


def test_write_output_into_a_missing_directory_raises_output_error(
    sample_result: ScanResult, tmp_path: Path
) -> None:
    with pytest.raises(OutputError, match="cannot write"):
        write_output(sample_result, "json", tmp_path / "missing" / "r.json", Console())


def test_write_output_rejects_unknown_format(sample_result: ScanResult) -> None:
    with pytest.raises(ValueError, match="unknown output format"):
        write_output(sample_result, "xml", None, Console(file=io.StringIO()))

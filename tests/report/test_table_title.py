"""The table's first line names what made the result and shows an id only when it was
stored; its lines end without the spaces rich pads them with.

A newcomer found `--no-db` output starting with `provscan scan <uuid>` (an id never stored,
which `provscan report --scan` cannot find), `provscan pcap` output titled `provscan scan`,
and table rows padded with trailing spaces.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from provscan.commands.common import OutputFormat, emit
from provscan.model import ScanResult
from provscan.report.formats import FILE_TABLE_WIDTH, render_table, write_output

CAPTURE = Path(__file__).parents[1] / "pcap" / "fixtures" / "lab_scan.pcap.gz"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _with_kind(result: ScanResult, kind: str) -> ScanResult:
    return replace(result, info=replace(result.info, kind=kind))


@pytest.mark.parametrize(
    ("kind", "command", "title"),
    [
        ("active", None, "provscan scan"),
        ("passive", None, "provscan pcap"),
        ("import", None, "provscan import"),
        ("active", "discover", "provscan discover"),
    ],
)
def test_an_unstored_result_is_titled_by_kind_without_an_id(
    sample_result: ScanResult,
    capsys: pytest.CaptureFixture[str],
    kind: str,
    command: str | None,
    title: str,
) -> None:
    emit(_with_kind(sample_result, kind), OutputFormat.table, None, None, True, command=command)
    out = capsys.readouterr().out
    assert out.splitlines()[0] == title
    assert sample_result.info.scan_id not in out


def test_a_stored_result_shows_the_id_it_was_stored_under(
    sample_result: ScanResult, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    emit(sample_result, OutputFormat.table, None, str(tmp_path / "p.db"), False)
    captured = capsys.readouterr()
    scan_id = sample_result.info.scan_id
    assert captured.out.splitlines()[0] == f"provscan scan {scan_id}"
    assert f"stored scan {scan_id[:12]}" in captured.err  # the prefix commands take


def test_the_json_keeps_the_scan_id_without_a_store(
    sample_result: ScanResult, capsys: pytest.CaptureFixture[str]
) -> None:
    emit(sample_result, OutputFormat.json, None, None, True)
    document = json.loads(capsys.readouterr().out)
    assert document["scan"]["id"] == sample_result.info.scan_id
    assert document["scan"]["kind"] == "active"


def test_pcap_output_is_titled_pcap() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "provscan", "pcap", str(CAPTURE), "--no-db"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "provscan pcap"


def test_a_table_file_has_no_trailing_spaces(sample_result: ScanResult, tmp_path: Path) -> None:
    target = tmp_path / "scan.txt"
    write_output(sample_result, "table", target, Console(), verbose=True)
    written = target.read_text(encoding="utf-8").splitlines()
    assert written and all(line == line.rstrip() for line in written)
    # the same lines as rendered, only the padding gone
    buffer = io.StringIO()
    render_table(
        sample_result, Console(file=buffer, width=FILE_TABLE_WIDTH, no_color=True), verbose=True
    )
    padded = buffer.getvalue().splitlines()
    assert any(line != line.rstrip() for line in padded)
    assert written == [line.rstrip() for line in padded]


@pytest.mark.parametrize("terminal", [True, False])
def test_a_table_on_a_terminal_has_no_trailing_spaces(
    sample_result: ScanResult, terminal: bool
) -> None:
    def shown(trimmed: bool) -> str:
        buffer = io.StringIO()
        console = Console(file=buffer, width=100, force_terminal=terminal, soft_wrap=False)
        if trimmed:
            write_output(sample_result, "table", None, console, title="provscan scan")
        else:
            render_table(sample_result, console, title="provscan scan")
        return buffer.getvalue()

    output = shown(trimmed=True)
    # styles are kept on a terminal (the restricted line stays red)
    assert ("\x1b[" in output) is terminal
    lines = _ANSI.sub("", output).splitlines()
    assert all(line == line.rstrip() for line in lines)
    assert lines == [line.rstrip() for line in _ANSI.sub("", shown(trimmed=False)).splitlines()]

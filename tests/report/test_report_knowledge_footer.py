"""The table says which knowledge judged the devices (issue 12.3): its last line names the
knowledge version and as-of date the JSON carries as scan.knowledge_version/_as_of."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from rich.console import Console
from typer.testing import CliRunner

from provscan.cli import app
from provscan.knowledge.packs import active_pack
from provscan.model import ScanResult
from provscan.report.formats import knowledge_line, render_table


def _lines(result: ScanResult, width: int) -> list[str]:
    console = Console(width=width, record=True, file=io.StringIO())
    render_table(result, console)
    return console.export_text().splitlines()


@pytest.mark.parametrize("width", [80, 100])
def test_lab_scan_table_ends_with_the_knowledge_it_was_judged_with(
    lab_scan: ScanResult, width: int
) -> None:
    # Given a real scan of the lab, stamped with the active knowledge
    pack = active_pack()
    assert lab_scan.info.knowledge_version == pack.version
    # When it is shown at a common terminal width
    lines = _lines(lab_scan, width)
    # Then the last line names that version and as-of date, whole and within the width
    assert lines[-1] == f"knowledge {pack.version}, as of {pack.as_of}"
    assert len(lines[-1]) <= width


def test_a_result_without_a_recorded_version_says_so(lab_scan: ScanResult) -> None:
    old = replace(
        lab_scan,
        info=replace(lab_scan.info, knowledge_version=None, knowledge_as_of=None),
        devices=(),
    )
    assert _lines(old, 80)[-1] == "knowledge: version not recorded"


def test_device_text_in_the_version_is_printed_inert() -> None:
    # A stored document is data: a control character in it is never sent to the terminal.
    assert "\x1b" not in knowledge_line("2026.12.0\x1b[31m", "2026-12-03")


def test_lookup_table_ends_with_the_knowledge_line() -> None:
    pack = active_pack()
    result = CliRunner().invoke(app, ["lookup", "Uniview IPC322LB-SF28-A"], catch_exceptions=False)
    assert result.exit_code == 0
    assert result.stdout.rstrip().splitlines()[-1] == (
        f"knowledge {pack.version}, as of {pack.as_of}"
    )

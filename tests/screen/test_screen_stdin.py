"""`provscan screen -` reads the list from standard input, as from a file: CSV redirected or
piped, an XLSX workbook piped (its bytes are read whole), text pasted at a terminal. An input
it cannot read is one line and exit 2, and the file standard input comes from is never
written over."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
from helpers import run_provscan

EXAMPLES = Path(__file__).parents[2] / "examples"
PURCHASE = EXAMPLES / "purchase.csv"
BOM = EXAMPLES / "bom.xlsx"


def _one_line_refusal(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stdout == ""
    return result.stderr


def test_a_redirected_csv_screens_as_the_file_does() -> None:
    from_file = run_provscan("screen", str(PURCHASE), "-f", "csv")
    with PURCHASE.open("rb") as handle:
        from_stdin = run_provscan("screen", "-", "-f", "csv", stdin=handle)
    assert from_file.returncode == from_stdin.returncode == 0, from_stdin.stderr
    assert from_stdin.stdout == from_file.stdout  # the list written back the same way
    assert from_stdin.stderr == from_file.stderr  # the same columns and summary


def test_a_piped_csv_and_a_piped_workbook(tmp_path: Path) -> None:
    # CSV through a pipe (no file to seek in), as JSON
    with subprocess.Popen(["cat", str(PURCHASE)], stdout=subprocess.PIPE) as cat:
        piped = run_provscan("screen", "-", "-f", "json", "-q", stdin=cat.stdout)
    assert piped.returncode == 0, piped.stderr
    from_file = run_provscan("screen", str(PURCHASE), "-f", "json", "-q")
    rows, expected = json.loads(piped.stdout)["rows"], json.loads(from_file.stdout)["rows"]
    assert rows == expected and rows
    assert json.loads(piped.stdout)["summary"]["source"] == "-"

    # An XLSX through a pipe comes back as the same workbook with the results
    out_stdin, out_file = tmp_path / "from-stdin.xlsx", tmp_path / "from-file.xlsx"
    with subprocess.Popen(["cat", str(BOM)], stdout=subprocess.PIPE) as cat:
        result = run_provscan(
            "screen", "-", "--sheet", "BOM", "-o", str(out_stdin), stdin=cat.stdout
        )
    assert result.returncode == 0, result.stderr
    assert run_provscan("screen", str(BOM), "--sheet", "BOM", "-o", str(out_file)).returncode == 0
    got, want = openpyxl.load_workbook(out_stdin), openpyxl.load_workbook(out_file)
    assert got.sheetnames == want.sheetnames
    # the screening's context differs only in when, and in how the input is named; the
    # same bytes have the same sha256
    differ = {"Screened at (UTC)", "Input file"}
    for name in want.sheetnames:
        assert [
            [c.value for c in row] for row in got[name].iter_rows() if row[0].value not in differ
        ] == [
            [c.value for c in row] for row in want[name].iter_rows() if row[0].value not in differ
        ]
    context = {row[0].value: row[1].value for row in got["provscan screening"].iter_rows()}
    assert context["Input file"] == "-"
    assert context["Input sha256"] == hashlib.sha256(BOM.read_bytes()).hexdigest()
    # and converted to CSV
    with BOM.open("rb") as handle:
        converted = run_provscan("screen", "-", "--sheet", "BOM", "-f", "csv", stdin=handle)
    assert converted.returncode == 0, converted.stderr
    assert (
        converted.stdout == run_provscan("screen", str(BOM), "--sheet", "BOM", "-f", "csv").stdout
    )


def test_what_cannot_be_screened_is_one_line(tmp_path: Path) -> None:
    # nothing at all
    said = _one_line_refusal(run_provscan("screen", "-", stdin=subprocess.DEVNULL))
    assert "standard input is empty" in said
    # a descriptor that cannot be read (open for writing only)
    target = tmp_path / "write-only"
    target.write_bytes(b"")
    descriptor = os.open(target, os.O_WRONLY)
    try:
        said = _one_line_refusal(run_provscan("screen", "-", stdin=descriptor))
    finally:
        os.close(descriptor)
    assert said.startswith("provscan: error: cannot read standard input: ")
    # bytes that are no list, more than the limit, an XLSX option on a CSV
    noise = tmp_path / "noise.bin"
    noise.write_bytes(bytes(range(256)) * 8)
    with noise.open("rb") as handle:
        said = _one_line_refusal(run_provscan("screen", "-", stdin=handle))
    assert "standard input does not look like a text CSV file" in said
    with PURCHASE.open("rb") as handle:
        said = _one_line_refusal(run_provscan("screen", "-", "--max-bytes", "100", stdin=handle))
    assert "standard input is over the 100 bytes limit" in said
    with PURCHASE.open("rb") as handle:
        said = _one_line_refusal(run_provscan("screen", "-", "--sheet", "BOM", stdin=handle))
    assert "--sheet applies to XLSX files only" in said


def test_the_file_standard_input_comes_from_is_never_written_over(tmp_path: Path) -> None:
    listed = tmp_path / "purchase.csv"
    listed.write_bytes(PURCHASE.read_bytes())
    link = tmp_path / "link.csv"
    link.hardlink_to(listed)
    before = listed.read_bytes()
    for output, force in ((listed, True), (link, True), (listed, False)):
        with listed.open("rb") as handle:
            args = ["screen", "-", "-o", str(output), *(["--force"] if force else [])]
            said = _one_line_refusal(run_provscan(*args, stdin=handle))
        assert "never" in said or "already exists" in said
        assert listed.read_bytes() == before
    # another file is written as asked
    screened = tmp_path / "screened.csv"
    with listed.open("rb") as handle:
        assert run_provscan("screen", "-", "-o", str(screened), stdin=handle).returncode == 0
    header = next(csv.reader(io.StringIO(screened.read_text(encoding="utf-8"))))
    assert header[-2:] == ["verdict", "measures"]


def test_a_list_pasted_at_a_terminal() -> None:
    # At a terminal, a line says what is awaited; the list ends with Ctrl-D
    leader, follower = pty.openpty()
    with subprocess.Popen(
        [sys.executable, "-m", "provscan", "screen", "-", "-f", "csv"],
        stdin=follower,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        os.close(follower)
        assert process.stderr is not None
        said = b""
        deadline = time.monotonic() + 60
        while b"Ctrl-D" not in said and time.monotonic() < deadline:
            ready, _, _ = select.select([process.stderr], [], [], 1)
            if ready:
                said += os.read(process.stderr.fileno(), 4096)
        assert b"reading the list from standard input" in said
        os.write(leader, b"Brand,Model\nHikvision,DS-2CD2143G0-I\n")
        os.write(leader, b"\x04")
        out, _ = process.communicate(timeout=60)
        os.close(leader)
    assert process.returncode == 0
    header, row = list(csv.reader(io.StringIO(out.decode("utf-8"))))
    assert header[:2] == ["Brand", "Model"] and row[:2] == ["Hikvision", "DS-2CD2143G0-I"]
    assert row[header.index("restricted")] in ("yes", "review")

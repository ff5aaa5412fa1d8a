"""What a newcomer saw at an 80-column terminal, measured on the real commands.

The scan's progress bar cut its host count (``321/163… hosts``), the pcap bar wrapped on a
long path and showed ``?`` for its rate, ``scan --help`` described an ``auto`` sweep engine
the code no longer had, only nmap said in the report that it had swept, and a file report of
one device said ``1 devices``.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import SESSION_DEVICES, run_in_terminal
from rich.console import Console
from rich.filesize import decimal
from typer.testing import CliRunner

from provscan.cli import app
from provscan.commands import pcap as pcap_command
from provscan.engine.sweep import AUTO_NMAP_FROM, SweepChoice, sweep_note
from provscan.lab.server import Lab
from provscan.transport.sweep import sweep_connect
from provscan.transport.sweep_workers import MAX_WORKERS, PARALLEL_FROM

WIDTH = 80
FIXTURES = Path(__file__).parent / "pcap" / "fixtures"
#: The terminal's control sequences between the bar's frames (cursor moves, line erases),
#: and its styles (bold stays under NO_COLOR), which only leave the frame's text.
CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-LN-Za-ln-z]")
STYLE = re.compile(r"\x1b\[[0-9;]*m")


def provscan(*args: str) -> list[str]:
    return [sys.executable, "-m", "provscan", *args]


def bar_frames(lines: list[str]) -> list[str]:
    """The progress bar's frames as the terminal drew them: each starts with its spinner."""
    pieces = CONTROL.split(STYLE.sub("", "\n".join(lines)))
    frames = [line for piece in pieces for line in piece.split("\n")]
    return [frame for frame in frames if frame[:1] and "\u2800" <= frame[0] <= "\u28ff"]


def test_the_scan_bar_shows_the_whole_host_count_and_the_report_names_the_sweep() -> None:
    # Given an empty /18 on loopback (16,384 addresses), scanned at an 80-column terminal
    lines = run_in_terminal(
        provscan("scan", "127.240.0.0/18", "--no-db", "--no-discovery"),
        WIDTH,
        stderr_too=True,
    )
    frames = bar_frames(lines)
    assert frames
    for frame in frames:
        # Then every frame fits on one line and shows the count and its total whole
        assert len(frame) <= WIDTH, frame
        assert re.search(r" \d+/16384 hosts ", frame), frame
        assert re.search(r"eta (\d+:\d\d:\d\d|-:--:--)$", frame.rstrip()), frame
    # And the report says that the builtin sweep ran, in one line, as it does for nmap
    notes = [line for line in lines if line.startswith("note: sweep:")]
    assert len(notes) == 1, lines
    assert notes[0].startswith("note: sweep: open ports found by the builtin connect sweep in ")


def test_the_pcap_bar_keeps_to_one_line_on_a_long_path(tmp_path: Path) -> None:
    # Given the lab capture (about 1 MB) deep in folders with long names
    folder = tmp_path / "captures-from-the-mirror-port-of-the-north-building" / "site-north"
    folder.mkdir(parents=True)
    capture = folder / "mirror-port-2025-06-01-north-building-ground-floor.pcap.gz"
    shutil.copy(FIXTURES / "lab_scan.pcap.gz", capture)
    size = decimal(capture.stat().st_size)  # "971.9 kB", as the bar writes it
    # When it is read at an 80-column terminal
    lines = run_in_terminal(provscan("pcap", str(capture), "--no-db"), WIDTH, stderr_too=True)
    frames = bar_frames(lines)
    assert frames
    for frame in frames:
        # Then each frame is one line: the file's name, cut to fit, its bytes and packets
        assert len(frame) <= WIDTH, frame
        assert frame.startswith(f"{frame[0]} mirror-port-2025-06-01-"), frame
        assert str(folder) not in frame
        assert re.search(rf" [\d.]+/{re.escape(size)} .*\b\d+ packets?\b", frame), frame
        # And no rate before one is measured ("?" read as an error)
        assert "?" not in frame, frame


def test_the_pcap_bar_shows_the_rate_once_measured_and_counts_in_the_singular(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a capture bar at 80 columns that shows a rate from the first update on
    monkeypatch.setattr(pcap_command, "_RATE_AFTER_S", 0.0)
    stream = io.StringIO()
    console = Console(file=stream, width=WIDTH, force_terminal=True, color_system=None)
    progress = pcap_command.RichCaptureProgress(console)
    progress.capture_started("/srv/captures/" + "a-long-capture-name-" * 4 + ".pcapng", 500 * 10**6)
    progress.capture_progress(250 * 10**6, 1)
    progress._progress.refresh()
    progress.close()
    (frame, *_) = [
        frame
        for frame in bar_frames(stream.getvalue().replace("\r", "").splitlines())
        if "/s" in frame
    ]
    # Then the line holds the name cut short, the bytes, the rate and "1 packet"
    assert len(frame) <= WIDTH, frame
    assert frame.startswith(f"{frame[0]} a-long-capture-name-a-") and "/srv" not in frame
    assert "… " in frame
    assert re.search(r" 250\.0/500\.0 MB +[\d.]+ [kMG]?B/s 1 packet$", frame.rstrip()), frame


def test_scan_help_describes_the_auto_engine_as_the_code_chooses() -> None:
    result = CliRunner().invoke(app, ["scan", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    start = result.output.index("--sweep-engine")
    text = " ".join(result.output[start : result.output.index("--help", start)].split())
    # builtin, in worker processes from PARALLEL_FROM addresses; nmap only on one CPU
    assert f"from {PARALLEL_FROM} addresses, in one worker process per CPU" in text
    assert f"at most {MAX_WORKERS}" in text
    assert "PROVSCAN_SWEEP_WORKERS" in text
    assert (
        f"auto: builtin, except on a machine with one CPU for {AUTO_NMAP_FROM} or more "
        "addresses without --rate, where it is nmap when installed" in text
    )


def test_the_sweep_note_names_the_engine_where_auto_could_have_chosen_nmap() -> None:
    nmap = SweepChoice("nmap", sweep_connect)
    assert sweep_note(nmap, 1) == "sweep: open ports found by nmap's connect scan (nmap -sT)"
    builtin = SweepChoice("builtin", sweep_connect, 2)
    assert sweep_note(builtin, AUTO_NMAP_FROM - 1) is None
    assert sweep_note(builtin, AUTO_NMAP_FROM) == (
        "sweep: open ports found by the builtin connect sweep in 2 worker processes"
    )
    alone = SweepChoice("builtin", sweep_connect, 1)
    assert sweep_note(alone, 65536) == (
        "sweep: open ports found by the builtin connect sweep in one process"
    )


def test_a_report_file_of_one_device_says_one_device(lab: Lab, tmp_path: Path) -> None:
    device = next(d for d in SESSION_DEVICES if d.expect.restricted and not d.expect.hostile)
    ports = ",".join(str(service.port) for service in device.services)
    output = tmp_path / "scan.json"
    done = subprocess.run(
        provscan(
            "scan",
            device.address,
            "-p",
            ports,
            "--no-db",
            "--no-discovery",
            "-q",
            "-o",
            str(output),
        ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert len(json.loads(output.read_text())["devices"]) == 1
    assert f"wrote json report to {output}: 1 device, 1 restricted" in done.stderr

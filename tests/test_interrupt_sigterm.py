"""SIGTERM is a Ctrl-C (an MSP automation engineer's review).

`timeout --preserve-status -s TERM 10 provscan scan … -f json --db term.db` exited 143 with
nothing on stdout, no message and nothing stored: `timeout`, systemd and a CI job cancelled
send SIGTERM, which killed the process. Now SIGTERM goes where Ctrl-C goes: the scan stops,
what it learned is printed and stored, marked incomplete, with the same "interrupted" line
and notes, and the exit is 143 (128 + 15) instead of 130. `timeout` sends its signal to the
command and then to its process group, so one SIGTERM can arrive twice at once: that is one
request; a later one stops at once, as a second Ctrl-C does.

The commands run as real `python -m provscan` subprocesses on the session lab (loopback) or
on a capture piped in.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from provscan import cli
from provscan.lab.server import Lab
from provscan.store.db import open_store
from test_interrupt import CLEAN, PORTS, RESTRICTED, SILENT, Terminal

CAPTURE = Path(__file__).parent / "pcap" / "fixtures" / "lab_scan.pcap.gz"


def _stored(database: Path) -> list[tuple[str, bool]]:
    with open_store(f"sqlite:///{database}") as store:
        return [(scan.id, scan.complete) for scan in store.list_scans()]


def _shows(
    terminal: Terminal, pattern: str, timeout: float, process: subprocess.Popen[bytes]
) -> bool:
    """Whether the terminal shows ``pattern`` (a regular expression) within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if re.search(pattern, terminal.plain()):
            return True
        time.sleep(0.05)
    return False


def test_sigterm_prints_and_stores_a_partial_scan_and_exits_143(lab: Lab, tmp_path: Path) -> None:
    database = tmp_path / "term.db"
    terminal = Terminal()  # stderr: a terminal, so the progress bar says when to signal
    # Given a scan that cannot finish soon (a silent device), its JSON on standard output
    process = subprocess.Popen(
        [sys.executable, "-m", "provscan", "scan", RESTRICTED.address, CLEAN.address,
         SILENT.address, "--ports", ",".join(map(str, PORTS)), "--timeout", "60",
         "--host-timeout", "300", "--no-discovery", "-f", "json", "--db", str(database)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=terminal.slave,
        env={**os.environ, "COLUMNS": "100", "TERM": "xterm"},
    )  # fmt: skip
    terminal.start()
    try:
        # When SIGTERM comes once two hosts are done, as `timeout` sends it: to the
        # command, then to its process group
        assert _shows(terminal, r"2/3 hosts", 60, process), terminal.plain()
        process.send_signal(signal.SIGTERM)
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        stdout, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    shown = " ".join(terminal.text().split())
    # Then it stops promptly with 143 (it was killed: -15, nothing printed or stored)
    assert process.returncode == 143, shown
    assert time.monotonic() - started < 15
    assert re.search(
        r"provscan: interrupted: partial results (for 2 of 3 hosts|\(marked incomplete\): "
        r"all 3 hosts swept).*; scan stored as ",
        shown,
    ), shown
    assert "Traceback" not in shown
    # And standard output holds the JSON of what was learned, marked incomplete
    document = json.loads(stdout)
    assert document["scan"]["complete"] is False
    assert any(note.startswith("interrupted: ") for note in document["scan"]["notes"])
    devices = {device["ip"]: device for device in document["devices"]}
    assert devices[RESTRICTED.address]["manufacturer"] == RESTRICTED.expect.manufacturer
    assert devices[CLEAN.address]["manufacturer"] == CLEAN.expect.manufacturer
    # And the scan is stored like any other
    assert _stored(database) == [(document["scan"]["id"], False)]


def test_sigterm_during_pcap_keeps_the_packets_read(tmp_path: Path) -> None:
    # Given a live capture piped in that has sent its packets and then goes quiet
    database = tmp_path / "x.db"
    read, write = os.pipe()
    process = subprocess.Popen(
        [sys.executable, "-m", "provscan", "pcap", "-", "-f", "json", "--db", str(database)],
        stdin=read,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    os.close(read)
    try:
        os.write(write, gzip.decompress(CAPTURE.read_bytes()))
        time.sleep(3)
        # When SIGTERM comes while it waits for more (the pipe stays open)
        process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        os.close(write)  # as when the capture program dies of the same SIGTERM
        write = -1
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if write >= 0:
            os.close(write)
        if process.poll() is None:
            process.kill()
    # Then what was read is printed and stored, marked incomplete, and the exit is 143
    assert process.returncode == 143, stderr
    assert b"provscan: interrupted " in stderr and b"the result is marked incomplete" in stderr
    document = json.loads(stdout)
    assert document["scan"]["complete"] is False
    assert document["devices"]
    assert _stored(database) == [(document["scan"]["id"], False)]


def _child(code: str) -> subprocess.CompletedProcess[str]:
    """Python running ``code`` after importing the command line, as `provscan` runs."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_sigterm_while_the_command_starts_ends_it_at_once_with_143() -> None:
    done = _child(
        """
        import os, signal, time
        from provscan import cli
        cli._terminate_as_interrupt()
        cli._starting()  # as main() does until the command runs
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(10)
        """
    )
    assert done.returncode == 143
    assert done.stderr == "provscan: interrupted\n"


def test_sigterm_where_ctrl_c_is_ignored_still_ends_the_process() -> None:
    # a script's background job runs with SIGINT ignored: SIGTERM must not be ignored too
    done = _child(
        """
        import os, signal, time
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        from provscan import cli
        cli._terminate_as_interrupt()
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(10)
        print("still running")
        """
    )
    assert done.returncode == -signal.SIGTERM
    assert "still running" not in done.stdout


def test_main_exits_143_for_what_a_sigterm_interrupted(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted() -> None:
        raise SystemExit(130)

    monkeypatch.setattr(cli, "_main", interrupted)
    monkeypatch.setattr(cli, "_terminate_as_interrupt", lambda: None)
    monkeypatch.setattr(cli, "TERMINATED", [])
    with pytest.raises(SystemExit) as ctrl_c:
        cli.main()
    assert ctrl_c.value.code == 130
    monkeypatch.setattr(cli, "TERMINATED", [time.monotonic()])
    with pytest.raises(SystemExit) as term:
        cli.main()
    assert term.value.code == 143


def test_one_sigterm_sent_twice_at_once_is_one_ctrl_c_and_a_later_one_a_second(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: calls.append(signum))
    try:
        monkeypatch.setattr(cli, "TERMINATED", [])
        cli._terminate(signal.SIGTERM, None)
        cli._terminate(signal.SIGTERM, None)  # `timeout`: to the command, then its group
        assert calls == [signal.SIGTERM]
        cli.TERMINATED[-1] -= cli.SAME_SIGTERM_S  # a later SIGTERM: a second Ctrl-C
        cli._terminate(signal.SIGTERM, None)
        assert calls == [signal.SIGTERM, signal.SIGTERM]
    finally:
        signal.signal(signal.SIGINT, previous)

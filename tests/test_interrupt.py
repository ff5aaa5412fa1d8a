"""Ctrl-C keeps what was learned: a stopped scan is printed and stored, marked incomplete,
and exits 130; a second Ctrl-C exits at once (issue 9, point 6)."""

from __future__ import annotations

import asyncio
import dataclasses
import fcntl
import gzip
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import SESSION_DEVICES, TEST_LIMITS

from provscan.engine.scanner import CANCELLED_ERROR
from provscan.events import ScanObserver
from provscan.lab.server import Lab
from provscan.model import Device, ScanResult
from provscan.pipeline import first_interrupt_calls, run_scan
from provscan.targets import build_targets

RESTRICTED = next(d for d in SESSION_DEVICES if d.expect.restricted and not d.expect.hostile)
CLEAN = next(d for d in SESSION_DEVICES if d.id == "axis-p3225")
#: Accepts connections and never answers: with long deadlines it keeps a scan going.
SILENT = next(d for d in SESSION_DEVICES if d.id == "hostile-never-answer")
PORTS = sorted({s.port for d in (RESTRICTED, CLEAN, SILENT) for s in d.services})
#: Deadlines far longer than the test may take: only a stop can end the scan early.
SLOW = dataclasses.replace(
    TEST_LIMITS, read_timeout_s=60.0, per_connection_deadline_s=60.0, per_host_deadline_s=300.0
)


class StopWhenDone(ScanObserver):
    """Sets ``stop`` when the given hosts are done: a Ctrl-C at a known moment."""

    def __init__(self, stop: asyncio.Event, addresses: set[str]) -> None:
        self.stop = stop
        self.waiting = set(addresses)
        self.stopping = False

    def host_done(self, ip: str, device: Device | None) -> None:
        self.waiting.discard(ip)
        if not self.waiting:
            self.stop.set()

    def scan_stopping(self) -> None:
        self.stopping = True


def _scan_until(addresses: list[str], done_before_stop: set[str]) -> tuple[ScanResult, bool]:
    async def main() -> tuple[ScanResult, bool]:
        stop = asyncio.Event()
        observer = StopWhenDone(stop, done_before_stop)
        result = await run_scan(
            build_targets(addresses),
            addresses,
            PORTS,
            limits=SLOW,
            observer=observer,
            discovery=None,
            stop=stop,
        )
        return result, observer.stopping

    return asyncio.run(main())


def test_a_stopped_scan_keeps_what_it_learned(lab: Lab) -> None:
    # Given a scan of two quick devices and one that never answers
    addresses = [RESTRICTED.address, CLEAN.address, SILENT.address]
    started = time.monotonic()
    # When it is stopped as soon as the quick ones are done
    result, announced = _scan_until(addresses, {RESTRICTED.address, CLEAN.address})
    # Then it ends at once, not after the silent device's long deadlines
    assert time.monotonic() - started < 20
    assert announced
    # And the finished devices are there with their verdict and evidence
    devices = {device.ip: device for device in result.devices}
    assert devices[RESTRICTED.address].restricted and devices[RESTRICTED.address].evidence
    assert devices[CLEAN.address].manufacturer == CLEAN.expect.manufacturer
    # And the silent one was cut short: its unfinished probes are recorded as cancelled
    silent = devices[SILENT.address]
    cancelled = [a for a in silent.attempts if a.error == CANCELLED_ERROR]
    assert cancelled and {a.status.value for a in cancelled} == {"error"}
    assert {a.port for a in silent.attempts} == set(silent.open_ports)
    assert any("interrupted" in note for note in silent.notes)
    # And the scan is marked incomplete, saying why
    assert result.info.complete is False
    assert result.info.hosts_scanned == 3
    assert any(note.startswith("interrupted: ") for note in result.info.notes)


def test_a_stop_after_the_last_host_leaves_a_complete_scan(lab: Lab) -> None:
    result, _ = _scan_until([CLEAN.address], {CLEAN.address})
    assert result.info.complete is True
    assert not any(note.startswith("interrupted") for note in result.info.notes)


def test_first_sigint_calls_back_and_the_second_raises() -> None:
    calls: list[str] = []
    previous = signal.getsignal(signal.SIGINT)
    with first_interrupt_calls(lambda: calls.append("stop")):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # the handler runs in the main thread between bytecodes
        assert calls == ["stop"]
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
    assert signal.getsignal(signal.SIGINT) is previous


# -- the command, in a subprocess whose stderr is a terminal (so the progress bar runs) ---


_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    """A pseudo-terminal for the child's stderr; everything it shows is collected."""

    def __init__(self, columns: int = 100) -> None:
        self.master, self.slave = pty.openpty()
        size = struct.pack("HHHH", 50, columns, 0, 0)
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, size)
        self.output = b""
        self._reader = threading.Thread(target=self._read, daemon=True)

    def start(self) -> None:
        os.close(self.slave)
        self._reader.start()

    def _read(self) -> None:
        while True:
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if not ready:
                continue
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # the child closed its side
                return
            if not chunk:
                return
            self.output += chunk

    def plain(self) -> str:
        """What was shown, without the terminal's colour and cursor sequences."""
        return _ESCAPES.sub("", self.output.decode(errors="replace"))

    def wait_for(
        self, text: str, timeout: float, process: subprocess.Popen[bytes] | None = None
    ) -> bool:
        """Whether ``text`` is shown within ``timeout`` (and before ``process`` ends)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.plain():
                return True
            if process is not None and process.poll() is not None:
                time.sleep(0.3)  # what it showed last may still be on its way
                return text in self.plain()
            time.sleep(0.05)
        return False

    def text(self) -> str:
        self._reader.join(timeout=5)
        os.close(self.master)
        return self.plain()


def _provscan(*args: str, terminal: Terminal) -> subprocess.Popen[bytes]:
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm"}
    process = subprocess.Popen(
        [sys.executable, "-m", "provscan", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=terminal.slave,
        env=env,
    )
    terminal.start()
    return process


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    yield Terminal()


def test_ctrl_c_prints_and_stores_a_partial_scan_and_exits_130(
    lab: Lab, tmp_path: Path, terminal: Terminal
) -> None:
    report, database = tmp_path / "report.json", tmp_path / "x.db"
    # Given a scan that cannot finish soon (a silent device, long deadlines)
    process = _provscan(
        "scan",
        RESTRICTED.address,
        CLEAN.address,
        SILENT.address,
        "--ports",
        ",".join(map(str, PORTS)),
        "--timeout",
        "60",
        "--host-timeout",
        "300",
        "--no-discovery",
        "-f",
        "json",
        "-o",
        str(report),
        "--db",
        str(database),
        terminal=terminal,
    )
    try:
        # When Ctrl-C comes once the progress bar has announced the restricted device
        assert terminal.wait_for(f"RESTRICTED {RESTRICTED.address}", 60, process), terminal.plain()
        time.sleep(1)  # the clean device finishes too
        process.send_signal(signal.SIGINT)
        started = time.monotonic()
        code = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    shown = terminal.text()
    # Then it stops promptly with exit 130 and says what it kept
    assert time.monotonic() - started < 15
    assert code == 130, shown
    assert (
        "provscan: interrupted: partial results (marked incomplete): all 3 hosts swept, "
        "probes cut short on 1 device"
    ) in " ".join(shown.split())
    assert "Traceback" not in shown
    assert "eta" in shown  # the bar estimates the time left
    # And the JSON report holds the devices found so far, marked incomplete
    document = json.loads(report.read_text())
    assert document["scan"]["complete"] is False
    assert any(note.startswith("interrupted: ") for note in document["scan"]["notes"])
    devices = {device["ip"]: device for device in document["devices"]}
    assert devices[RESTRICTED.address]["restricted"] is True
    assert devices[RESTRICTED.address]["evidence"]
    assert devices[CLEAN.address]["manufacturer"] == CLEAN.expect.manufacturer
    silent = devices[SILENT.address]["attempts"]
    assert any(attempt["error"].startswith("cancelled") for attempt in silent)
    # And the scan is stored like any other
    from provscan.store.db import open_store

    with open_store(f"sqlite:///{database}") as store:
        (stored,) = store.list_scans()
        assert stored.id == document["scan"]["id"]
        assert stored.complete is False
        assert len(store.load(stored.id).devices) == len(devices)


def test_a_second_ctrl_c_exits_at_once(lab: Lab, tmp_path: Path, terminal: Terminal) -> None:
    process = _provscan(
        "scan",
        RESTRICTED.address,
        SILENT.address,
        "--ports",
        ",".join(map(str, PORTS)),
        "--timeout",
        "60",
        "--host-timeout",
        "300",
        "--no-discovery",
        "--db",
        str(tmp_path / "x.db"),
        terminal=terminal,
    )
    try:
        assert terminal.wait_for(f"RESTRICTED {RESTRICTED.address}", 60, process), terminal.plain()
        process.send_signal(signal.SIGINT)
        process.send_signal(signal.SIGINT)
        started = time.monotonic()
        code = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    shown = terminal.text()
    assert code == 130, shown
    assert time.monotonic() - started < 10
    assert "provscan: interrupted" in shown
    assert "Traceback" not in shown


def test_ctrl_c_during_pcap_keeps_the_packets_read(tmp_path: Path, terminal: Terminal) -> None:
    # Given a live capture piped in that has sent a few packets and then goes quiet
    capture = Path(__file__).parent / "pcap" / "fixtures" / "lab_scan.pcap.gz"
    report = tmp_path / "report.json"
    read, write = os.pipe()
    database = tmp_path / "x.db"
    command = ["pcap", "-", "-f", "json", "-o", str(report), "--db", str(database)]
    process = subprocess.Popen(
        [sys.executable, "-m", "provscan", *command],
        stdin=read,
        stdout=subprocess.DEVNULL,
        stderr=terminal.slave,
    )
    os.close(read)
    terminal.start()
    try:
        os.write(write, gzip.decompress(capture.read_bytes()))
        time.sleep(3)
        # When Ctrl-C comes while it waits for more (the pipe stays open)
        process.send_signal(signal.SIGINT)
        time.sleep(0.5)
        os.close(write)  # as when the capture program dies of the same Ctrl-C
        write = -1
        code = process.wait(timeout=30)
    finally:
        if write >= 0:
            os.close(write)
        if process.poll() is None:
            process.kill()
    shown = terminal.text()
    # Then what was read is reported, marked incomplete, and the exit is 130
    assert code == 130, shown
    # (where the reading was: at the end of the input the Ctrl-C closed, or at a progress
    # point before it when the machine is slow; standard input has no size to share)
    assert re.search(
        r"provscan: interrupted (after capture 1 of 1 \(<stdin>\) was read to its end "
        r"\([\d,]+ packets\)|in capture 1 of 1 \(<stdin>\) after [\d,]+ packets); "
        r"the result is marked incomplete",
        shown,
    ), shown
    document = json.loads(report.read_text())
    assert document["scan"]["complete"] is False
    assert document["devices"]
    from provscan.store.db import open_store

    with open_store(f"sqlite:///{database}") as store:
        (stored,) = store.list_scans()
        assert stored.id == document["scan"]["id"] and stored.complete is False


def test_ctrl_c_during_the_demo_keeps_its_partial_scan(tmp_path: Path, terminal: Terminal) -> None:
    # The demo serves the lab on its bundled 127.77.x.y addresses (a `provscan lab up` or
    # another demo holding them makes it fail to start: then there is nothing to test).
    report = tmp_path / "demo.json"
    process = _provscan("demo", "--no-db", "-f", "json", "-o", str(report), terminal=terminal)
    try:
        if not terminal.wait_for("RESTRICTED 127.77.", 60, process):
            process.wait(timeout=30)
            shown = terminal.text()
            if "address already in use" in shown:
                pytest.skip("the lab's 127.77.x.y addresses are in use by another lab")
            pytest.fail(shown)
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    shown = terminal.text()
    assert code == 130, shown
    assert re.search(
        r"provscan: interrupted: partial results (for \d+ of \d+ hosts|\(marked incomplete\): "
        r"all \d+ hosts swept)",
        shown,
    )
    document = json.loads(report.read_text())
    assert document["scan"]["complete"] is False
    assert any(device["restricted"] for device in document["devices"])

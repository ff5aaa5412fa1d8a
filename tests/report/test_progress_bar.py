"""The progress bar: an estimate of the time left, few announcements, and a stop shown."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from dataclasses import replace

from rich.console import Console

from provscan.model import ScanResult
from provscan.report.events import ANNOUNCED_RESTRICTED, RichProgressObserver


def test_bar_estimates_time_left_and_announces_only_the_first_restricted_devices(
    sample_result: ScanResult,
) -> None:
    # Given many restricted devices found one after another
    restricted = next(d for d in sample_result.devices if d.restricted)
    found = [replace(restricted, ip=f"192.0.2.{index}") for index in range(1, 13)]
    stream = io.StringIO()
    console = Console(file=stream, width=120, force_terminal=True, color_system=None)
    with RichProgressObserver(console) as observer:
        observer.scan_started(sample_result.info, total_hosts=len(found) + 2)
        for device in found:
            observer.host_done(device.ip, device)
        observer.scan_stopping()
    output = stream.getvalue()
    # Then only the first few get a line of their own; the bar counts them all
    announced = [d.ip for d in found if f"RESTRICTED {d.ip} " in output]
    assert announced == [d.ip for d in found[:ANNOUNCED_RESTRICTED]]
    assert "more restricted devices: counted in the bar, all in the report" in output
    assert observer.restricted_found == len(found)
    # And the bar shows the time left and, after Ctrl-C, that it is stopping
    assert "eta" in output
    assert "stopping" in output


def test_the_scan_core_does_not_load_rich() -> None:
    # The core reports through the observer seam; only a progress bar needs rich.
    code = "import sys, provscan.pipeline; sys.exit('rich' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_bar_counts_one_device_in_the_singular_and_a_line_without_model_has_single_spaces(
    sample_result: ScanResult,
) -> None:
    # Given one restricted device without a model, then a second device
    restricted = next(d for d in sample_result.devices if d.restricted)
    bare = replace(restricted, model=None)
    stream = io.StringIO()
    console = Console(file=stream, width=120, force_terminal=True, color_system=None)
    with RichProgressObserver(console) as observer:
        observer.scan_started(sample_result.info, total_hosts=3)
        observer.host_done(bare.ip, bare)
        observer._progress.refresh()
        one = stream.getvalue()
        observer.host_done("192.0.2.99", replace(restricted, ip="192.0.2.99", findings=()))
        observer._progress.refresh()
    output = stream.getvalue()
    # Then the bar says "1 device", later "2 devices", never "1 devices"
    assert "1 device " in one and "1 devices" not in output
    assert "2 devices" in output
    # And the announcement has one space between its parts
    (line,) = [line for line in output.splitlines() if f"RESTRICTED {bare.ip}" in line]
    announced = line[line.index("RESTRICTED") :].rstrip()
    maker = bare.brand or bare.manufacturer
    assert announced.startswith(f"RESTRICTED {bare.ip} {maker} (")
    assert "  " not in announced


def test_a_sweep_batch_advances_the_bar_once_so_the_time_left_is_real(
    sample_result: ScanResult,
) -> None:
    # Given a sweep that reports 512 empty hosts at a time, every 0.05 s, out of 16,384
    console = Console(file=io.StringIO(), width=120, force_terminal=True, color_system=None)
    with RichProgressObserver(console) as observer:
        observer.scan_started(sample_result.info, total_hosts=16384)
        stamps = []
        for batch in range(8):
            observer.hosts_empty([f"192.0.2.{batch}"] * 512)
            stamps.append(time.monotonic())
            time.sleep(0.05)
        task = observer._progress.tasks[0]
        pace = 512 * (len(stamps) - 1) / (stamps[-1] - stamps[0])
        # Then the bar counts every host and estimates the batches' real pace; one update
        # per host (512 in the same millisecond) made rich's estimate about twice as fast,
        # and the time left read 0:00:01 for a whole /18
        assert task.completed == 4096
        assert task.speed is not None
        assert 0.6 * pace < task.speed < 1.4 * pace, (task.speed, pace)


def test_the_default_listener_hears_each_empty_host() -> None:
    from provscan.events import ScanObserver

    heard: list[str] = []

    class Recorder(ScanObserver):
        def host_done(self, ip: str, device: object) -> None:  # type: ignore[override]
            heard.append(ip)

    Recorder().hosts_empty(["127.0.0.1", "127.0.0.2"])
    assert heard == ["127.0.0.1", "127.0.0.2"]

"""The progress bar: an estimate of the time left, few announcements, and a stop shown."""

from __future__ import annotations

import io
import subprocess
import sys
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

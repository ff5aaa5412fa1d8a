"""The observer seam: the null listener and the rich progress bar."""

from __future__ import annotations

import io

from rich.console import Console

from provscan.model import AttemptStatus, ProbeAttempt, ScanResult
from provscan.report.events import NullObserver, RichProgressObserver, ScanObserver


def _drive(observer: ScanObserver, result: ScanResult) -> None:
    observer.scan_started(result.info, total_hosts=3)
    for device in result.devices:
        observer.host_started(device.ip)
        for port in device.open_ports:
            observer.port_open(device.ip, port)
        for attempt in device.attempts:
            observer.probe_done(device.ip, attempt)
        observer.host_done(device.ip, device)
    observer.host_started("192.0.2.30")
    observer.probe_done("192.0.2.30", ProbeAttempt("http", 80, AttemptStatus.TIMEOUT))
    observer.host_done("192.0.2.30", None)
    observer.scan_done(result)


def test_null_observer_accepts_every_event(sample_result: ScanResult) -> None:
    _drive(NullObserver(), sample_result)


def test_rich_progress_counts_devices_and_announces_restricted(
    sample_result: ScanResult,
) -> None:
    stream = io.StringIO()
    console = Console(file=stream, width=120, force_terminal=True, color_system=None)
    with RichProgressObserver(console) as observer:
        _drive(observer, sample_result)
        assert observer.devices_found == 2
        assert observer.restricted_found == 1
    output = stream.getvalue()
    assert "RESTRICTED 192.0.2.10 Amcrest IP8M-2496EB" in output
    assert "us-ndaa-889" in output
    assert "2 devices" in output


def test_rich_progress_close_is_idempotent_without_a_scan() -> None:
    observer = RichProgressObserver(Console(file=io.StringIO()))
    observer.close()
    observer.close()

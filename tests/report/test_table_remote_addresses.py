"""Addresses a capture saw only through a router's MAC (its internet peers, say) are listed
apart from the unknown devices of the captured segment, not as devices to check by hand
among them (a newcomer's review of `provscan pcap`)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console

from provscan.model import (
    FORWARDED_NOTE_PREFIX,
    Device,
    ScanInfo,
    ScanResult,
    seen_only_through_a_router,
)
from provscan.report.formats import render_table

FORWARDED = f"{FORWARDED_NOTE_PREFIX} 00:1b:21:0a:0b:0c (a router, or a host relaying)"


def result(*devices: Device, kind: str = "passive") -> ScanResult:
    now = datetime(2026, 12, 5, tzinfo=UTC)
    info = ScanInfo(
        scan_id="s",
        kind=kind,
        started_at=now,
        finished_at=now,
        targets=("capture.pcap",),
        ports=(),
        policies=(),
        tool_version="test",
    )
    return ScanResult(info=info, devices=tuple(devices))


def table(scan: ScanResult) -> str:
    buffer = io.StringIO()
    render_table(scan, Console(file=buffer, width=100, no_color=True))
    return buffer.getvalue()


def test_only_a_macless_forwarded_address_is_remote() -> None:
    assert seen_only_through_a_router(Device(ip="203.0.113.10", notes=(FORWARDED,)))
    # a host with its own MAC on the segment, some of whose frames came via the router
    assert not seen_only_through_a_router(
        Device(ip="192.168.1.7", mac="00:11:22:33:44:55", notes=(FORWARDED,))
    )
    assert not seen_only_through_a_router(Device(ip="192.168.1.50"))


def test_remote_addresses_are_listed_apart_from_local_unknown_devices() -> None:
    text = table(
        result(
            Device(ip="192.168.1.50", mac="02:42:ac:11:00:02"),
            Device(ip="203.0.113.10", open_ports=(443,), notes=(FORWARDED,)),
            Device(ip="203.0.113.20", open_ports=(443,), notes=(FORWARDED,)),
        )
    )
    lines = text.splitlines()
    local = next(i for i, line in enumerate(lines) if "192.168.1.50" in line)
    apart = next(i for i, line in enumerate(lines) if "seen only through a router" in line)
    remote = next(i for i, line in enumerate(lines) if "203.0.113.10" in line)
    assert local < apart < remote
    assert "and 2 addresses seen only through a router's MAC" in " ".join(text.split())
    assert "203.0.113.20" in lines[remote]


def test_without_local_unknown_devices_the_note_stands_alone() -> None:
    text = " ".join(table(result(Device(ip="203.0.113.10", notes=(FORWARDED,)))).split())
    assert "1 address seen only through a router's MAC" in text
    assert "and 1 address" not in text


def test_a_portless_device_of_a_capture_is_heard_not_discovered() -> None:
    # "(discovery)" belongs to an active scan's discovery; a capture only heard the host
    text = table(result(Device(ip="192.168.1.50", mac="02:42:ac:11:00:02")))
    assert "192.168.1.50 (no open port seen)" in text
    assert "(discovery)" not in text


def test_a_portless_device_of_an_import_is_imported_not_discovered() -> None:
    # `provscan import` of a CMDB CSV: the row has an address and no ports; nothing was sent,
    # so nothing was discovered either
    text = table(result(Device(ip="127.77.40.3"), kind="import"))
    assert "127.77.40.3 (imported)" in text
    assert "(discovery)" not in text

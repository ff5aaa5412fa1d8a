"""Scans of devices of every verdict (restricted, review, unknown, clear), as scan reports
give them, for the inventory's verdict tests, and the command line run in this process
(importable as ``inventory_verdicts``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from provscan.cli import app
from provscan.report.contract import DeviceEntry, ScanDocument, from_contract

GOLDEN = Path(__file__).parent / "report" / "golden" / "scan_v1.json"
REVIEW_NOTE = (
    "review: maker Dahua is not established (confidence 0.40 is below 0.5); if confirmed, "
    "restricted by us"
)


def entry(base: DeviceEntry, number: int, **changes: Any) -> DeviceEntry:
    """``base`` at 127.0.41.``number`` with its own MAC and no serial (so that no two devices
    are taken for one), changed as given; validated, so its verdict agrees with its fields."""
    fields = base.model_dump() | {
        "ip": f"127.0.41.{number}",
        "mac": f"02:00:00:00:41:{number:02x}",
        "serial": None,
    }
    return DeviceEntry.model_validate(fields | changes)


def scan_of(scan_id: str, hour: int, devices: list[DeviceEntry]) -> ScanDocument:
    golden = from_contract(GOLDEN.read_text(encoding="utf-8"))
    scan = golden.scan.model_copy(
        update={
            "id": scan_id,
            "started_at": golden.scan.started_at.replace(hour=hour),
            "finished_at": None,
            "devices_found": len(devices),
            "restricted_count": sum(d.restricted for d in devices),
        }
    )
    return golden.model_copy(update={"scan": scan, "devices": devices})


def four_verdicts() -> list[DeviceEntry]:
    """A device of each verdict, as scans report them."""
    golden = from_contract(GOLDEN.read_text(encoding="utf-8"))
    restricted = next(d for d in golden.devices if d.restricted)
    clear = next(d for d in golden.devices if not d.restricted and d.manufacturer)
    return [
        entry(restricted, 1),
        entry(clear, 2),
        entry(
            clear,
            3,
            manufacturer="Dahua",
            brand=None,
            family="dahua",
            confidence=0.4,
            notes=[REVIEW_NOTE],
            verdict="review",
        ),
        entry(
            clear,
            4,
            manufacturer=None,
            brand=None,
            family=None,
            relation=None,
            model=None,
            confidence=0.0,
            verdict="unknown",
        ),
    ]


def golden_copy(scan_id: str, hour: int, keep: slice) -> ScanDocument:
    """The golden scan's devices at 127.0.40.1, .2, ... (those ``keep`` selects), as scan
    ``scan_id`` started at ``hour``."""
    golden = from_contract(GOLDEN.read_text(encoding="utf-8"))
    devices = [
        d.model_copy(update={"ip": f"127.0.40.{i + 1}"}) for i, d in enumerate(golden.devices)
    ][keep]
    return scan_of(scan_id, hour, devices)


def cli(*args: str, width: int = 100) -> Result:
    """``provscan ARGS`` in this process, at ``width`` columns without colour."""
    return CliRunner().invoke(app, list(args), env={"COLUMNS": str(width), "NO_COLOR": "1"})


def ok(*args: str, width: int = 100) -> Result:
    """:func:`cli` that must exit 0."""
    result = cli(*args, width=width)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result


def refused(*args: str) -> str:
    """The one line of a refused command: exit 2, nothing on stdout, no traceback."""
    result = cli(*args)
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("provscan: error: "), lines
    return lines[0]

"""A store for an internal audit of the compliance report: a case closed twice, a stale site,
and scans of one day whose count dips and comes back.

- site Warehouse: one complete scan, 335 days before the report (a copy of the lab's first
  scan at other addresses, MACs and serials, stored as an imported document would be):
  its restricted devices remain, counted as that scan saw them;
- site HQ, the lab on loopback scanned four times into SQLite, minutes apart:
  1. every device; alice sets the Dahua camera's case to removed ("disposal cert DC-001");
  2. without the Dahua camera: the case is verified at the scan's ingest;
  3. with the Dahua camera again: the scan reopens the case; alice sets it to removed again
     ("disposal cert DC-002");
  4. without it: the case is verified again.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from helpers import SESSION_DEVICES, TEST_LIMITS

from provscan.lab.server import run_lab_in_thread
from provscan.model import ScanResult
from provscan.report.contract import ScanDocument, to_contract
from provscan.store.db import Store, open_store
from provscan.store.inventory import coverage_ranges
from provscan.transport.limits import DEFAULT_PORTS

#: 127.70-79.193.x (HQ) and .194.x (the Warehouse's data): no other test serves a lab there.
OCTET = 70 + os.getpid() % 10
HQ = "HQ"
WAREHOUSE = "Warehouse"
FIRST_NOTE = "camera taken down; disposal cert DC-001"
SECOND_NOTE = "camera taken down again; disposal cert DC-002"
#: How old the Warehouse's only scan is when the report is made.
WAREHOUSE_AGE = 335
_SESSION = {d.id: d for d in SESSION_DEVICES}
DEVICES = {
    key: _SESSION[key].model_copy(update={"address": f"127.{OCTET}.193.{host}"})
    for key, host in (("hik-ipc-g2", 10), ("dahua-ipc", 11), ("lts-ipc", 12), ("axis-p3225", 13))
}
REMOVED = "dahua-ipc"
TARGETS = [f"127.{OCTET}.193.0/27"]


def _scan(keys: list[str]) -> ScanResult:
    from provscan.pipeline import run_scan
    from provscan.targets import build_targets

    ports = sorted(set(DEFAULT_PORTS) | {s.port for d in DEVICES.values() for s in d.services})
    with run_lab_in_thread([DEVICES[key] for key in keys]):
        return asyncio.run(run_scan(build_targets(TARGETS), TARGETS, ports, limits=TEST_LIMITS))


def _warehouse(document: ScanDocument, started: datetime) -> ScanDocument:
    """The lab's devices as another site's scan long ago saw them (other addresses and
    identities, so that the inventory holds them as other devices)."""
    devices = []
    for n, device in enumerate(document.devices, start=1):
        devices.append(
            device.model_copy(
                update={
                    "ip": f"127.{OCTET}.194.{n}",
                    "mac": f"02:00:00:00:94:{n:02x}",
                    "serial": f"WH-{n:04d}" if device.serial else None,
                    "hostname": None,
                }
            )
        )
    scan = document.scan.model_copy(
        update={
            "id": f"{document.scan.id[:8]}-warehouse",
            "started_at": started,
            "finished_at": started + timedelta(minutes=5),
            "targets": [f"127.{OCTET}.194.0/27"],
            "complete": True,
        }
    )
    return document.model_copy(update={"scan": scan, "devices": devices})


@dataclass(frozen=True)
class AuditStore:
    path: Path
    url: str
    warehouse_scan: str
    #: The HQ scans, oldest first.
    scans: tuple[str, str, str, str]
    #: The Dahua camera's restricted-maker case (removed, verified, reopened, verified).
    case: int
    #: When the report is made: a few minutes after the last HQ scan.
    now: datetime

    def open(self) -> Store:
        return open_store(self.url)


def _case_of(store: Store, ip: str) -> int:
    device_id = next(d.device_id for d in store.inventory() if d.ip == ip)
    (case,) = [c for c in store.cases(device_id=device_id) if c.subject == "restricted"]
    return case.id


def build_audit_store(path: Path) -> AuditStore:
    url = f"sqlite:///{path}"
    coverage = coverage_ranges(TARGETS)
    everything = list(DEVICES)
    without = [key for key in DEVICES if key != REMOVED]
    with open_store(url) as store:
        first = _scan(everything)
        old = datetime.now(UTC) - timedelta(days=WAREHOUSE_AGE, hours=1)
        warehouse = store.save_document(
            _warehouse(to_contract(first), old),
            site=WAREHOUSE,
            coverage=coverage_ranges([f"127.{OCTET}.194.0/27"]),
        )
        one = store.save(first, site=HQ, coverage=coverage)
        case = _case_of(store, DEVICES[REMOVED].address)
        store.update_case(case, actor="alice", status="removed", note=FIRST_NOTE)
        two = store.save(_scan(without), site=HQ, coverage=coverage)
        three = store.save(_scan(everything), site=HQ, coverage=coverage)
        store.update_case(case, actor="alice", status="removed", note=SECOND_NOTE)
        four = store.save(_scan(without), site=HQ, coverage=coverage)
    now = datetime.now(UTC) + timedelta(minutes=5)
    return AuditStore(path, url, warehouse, (one, two, three, four), case, now)

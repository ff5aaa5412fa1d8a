"""A store with real history for the report tests: two scans of a small lab on loopback (a
restricted camera removed between them and its case verified by the second scan), a case
past due, and a hostile device saved from an incomplete scan at another site."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from helpers import SESSION_DEVICES, TEST_LIMITS, open_case_on

from provscan.lab.server import run_lab_in_thread
from provscan.lab.spec import DeviceSpec
from provscan.model import ScanResult
from provscan.report.contract import ScanDocument, to_contract
from provscan.store.db import Store, open_store
from provscan.store.inventory import coverage_ranges
from provscan.transport.limits import DEFAULT_PORTS

#: 127.10-19.x.y: outside the session labs (130-229), the posture labs (230-249) and the
#: inventory tests' 120-129.
REPORT_OCTET = 10 + os.getpid() % 10
#: Restricted (Hikvision, Dahua, an LTS relabel), one with a priority-1 vulnerability
#: (CVE-2021-36260, KEV), one unrestricted maker and one device of unknown maker.
LAB_IDS = ("hik-ipc-g2", "dahua-ipc", "lts-ipc", "hik-fw-7921-fixed", "axis-p3225", "neg-nginx")
REMOVED_ID = "dahua-ipc"
OVERDUE_ID = "lts-ipc"
#: When the overdue case was opened (before its due date, 2026-01-31).
OVERDUE_OPENED = datetime(2026, 1, 5, tzinfo=UTC)
#: An address no device answers at.
SILENT_ADDRESS = f"127.{REPORT_OCTET}.7.7"
HOSTILE_MODEL = '<script>alert("model")</script>'
HOSTILE_FORMULA = '=HYPERLINK("http://attacker.invalid","click")'
HOSTILE_SITE = 'Branch <b>&amp; "annex"'
HOSTILE_OBSERVED = '</code></td><script>alert("evidence")</script><img src=x onerror=alert(1)>'


def _moved(device: DeviceSpec) -> DeviceSpec:
    parts = device.address.split(".")
    parts[1] = str(REPORT_OCTET)
    return device.model_copy(update={"address": ".".join(parts)})


DEVICES = {d.id: _moved(d) for d in SESSION_DEVICES if d.id in LAB_IDS}


def _scan(devices: list[DeviceSpec]) -> tuple[ScanResult, list[str]]:
    from provscan.pipeline import run_scan
    from provscan.targets import build_targets

    targets = [d.address for d in DEVICES.values()] + [SILENT_ADDRESS]
    with run_lab_in_thread(devices):
        result = asyncio.run(
            run_scan(build_targets(targets), targets, DEFAULT_PORTS, limits=TEST_LIMITS)
        )
    return result, targets


def _hostile(document: ScanDocument, based_on: str) -> ScanDocument:
    """A copy of one restricted device with hostile text, as an incomplete scan."""
    later = document.scan.started_at + timedelta(hours=1)
    device = next(d for d in document.devices if d.ip == based_on)
    evidence = [e.model_copy(update={"observed": HOSTILE_OBSERVED}) for e in device.evidence[:1]]
    hostile = device.model_copy(
        update={
            "ip": f"127.{REPORT_OCTET}.99.1",
            "mac": "02:00:00:00:99:01",
            "serial": HOSTILE_FORMULA,
            "model": HOSTILE_MODEL,
            "hostname": HOSTILE_FORMULA,
            "evidence": [*evidence, *device.evidence[1:]],
        }
    )
    scan = document.scan.model_copy(
        update={
            "id": f"{document.scan.id}-hostile",
            "started_at": later,
            "finished_at": later + timedelta(minutes=1),
            "targets": [hostile.ip],
            "hosts_scanned": 1,
            "hosts_responding": 1,
            "devices_found": 1,
            "restricted_count": 1,
            "complete": False,
        }
    )
    return document.model_copy(update={"scan": scan, "devices": [hostile]})


@dataclass(frozen=True)
class ReportStore:
    path: Path
    url: str
    first_scan: str
    second_scan: str
    hostile_scan: str
    removed_case: int
    overdue_case: int

    def open(self) -> Store:
        return open_store(self.url)


def build_report_store(path: Path) -> ReportStore:
    """Scan the lab twice into a new store at ``path`` and work its cases (see above)."""
    url = f"sqlite:///{path}"
    with open_store(url) as store:
        # Given a first scan of the whole lab at HQ
        first, targets = _scan(list(DEVICES.values()))
        first_id = store.save(first, site="HQ", coverage=coverage_ranges(targets))
        by_ip = {device_id_ip[1]: device_id_ip[0] for device_id_ip in _ids(store)}
        removed = store.cases(device_id=by_ip[DEVICES[REMOVED_ID].address])[0]
        overdue = store.cases(device_id=by_ip[DEVICES[OVERDUE_ID].address])[0]
        # and people working the cases: one camera planned and taken down, one overdue
        store.update_case(removed.id, actor="alice", status="planned", owner="facilities")
        store.update_case(
            removed.id, actor="alice", status="removed", note="camera taken down, ticket 4411"
        )
        # (opened before its due date: the store refuses a due date before the opening)
        open_case_on(url, overdue.id, OVERDUE_OPENED)
        store.update_case(overdue.id, actor="bob", owner="security office", due="2026-01-31")
        # and a second scan of the same addresses without the removed camera
        second, _ = _scan([d for key, d in DEVICES.items() if key != REMOVED_ID])
        second_id = store.save(second, site="HQ", coverage=coverage_ranges(targets))
        # and an incomplete scan at another site that met a hostile device
        hostile = _hostile(to_contract(second), DEVICES["hik-ipc-g2"].address)
        hostile_id = store.save_document(hostile, site=HOSTILE_SITE)
    return ReportStore(path, url, first_id, second_id, hostile_id, removed.id, overdue.id)


def _ids(store: Store) -> list[tuple[str, str]]:
    return [(d.device_id, d.ip) for d in store.inventory()]

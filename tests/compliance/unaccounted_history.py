"""A store as a Crown corporation's security team had it: three sites, a sensor's scans and
cases, and restricted cameras that stopped answering.

Made from the committed lab capture (``provscan pcap lab_scan.pcap.gz --db ... -f json``):
its devices, split by subnet into three sites, stored as complete scans covering each
site's subnets (as a sensor's or the command line's scans of them would be):

- site ``depot``: one scan from the command line, 2026-12-05;
- site ``plant``: one scan from the command line, 2026-12-06;
- site ``hq``: ten scans sent by schedule 1 to its sensor ``hq-sensor-1``, on 2026-12-07
  from 06:30, three minutes apart. The first sees every camera; alice records the removal
  of one (127.77.2.11, ``removed``) and the second scan verifies it. From the second scan
  on, three restricted cameras no longer answer (:data:`UNACCOUNTED`: powered off, or the
  sensor blocked): after three scans they are ``gone``, their cases still open (bob planned
  one of them: no removal recorded either).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from helpers import run_provscan

from provscan.report.contract import ScanDocument, from_contract
from provscan.store.db import Store, open_store
from provscan.store.inventory import coverage_ranges
from provscan.transport.limits import DEFAULT_PORTS

CAPTURE = Path(__file__).parent.parent / "pcap" / "fixtures" / "lab_scan.pcap.gz"
SITES = {
    "depot": ("127.77.12.0/24", "127.77.13.0/24", "127.77.21.0/24"),
    "plant": ("127.77.3.0/24", "127.77.4.0/24", "127.77.6.0/24"),
    "hq": ("127.77.1.0/24", "127.77.2.0/24", "127.77.5.0/24"),
}
#: The restricted cameras at hq that stop answering after the first scan.
UNACCOUNTED = ("127.77.1.11", "127.77.1.13", "127.77.2.12")
#: The camera whose removal alice records after the first hq scan (verified by the second).
REMOVED = "127.77.2.11"
PLANNED = "127.77.1.13"
SENSOR = "hq-sensor-1"
HQ_SCANS = 10
HQ_START = datetime(2026, 12, 7, 6, 30, tzinfo=UTC)
#: When the reports are made.
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class UnaccountedStore:
    path: Path
    url: str
    #: Every scan id, oldest first; the hq ones last.
    scans: tuple[str, ...]
    hq_scans: tuple[str, ...]
    #: The ports the hq scans probed.
    ports: tuple[int, ...]
    document: dict[str, Any]

    def open(self) -> Store:
        return open_store(self.url)


def _capture_document(folder: Path) -> dict[str, Any]:
    output = folder / "capture.json"
    stored = run_provscan(
        "pcap",
        str(CAPTURE),
        "--db",
        str(folder / "capture.db"),
        "-f",
        "json",
        "-o",
        str(output),
        env={"PROVSCAN_ALLOWED_TARGETS": "127.0.0.0/8,::1/128"},
    )
    assert stored.returncode == 0, stored.stderr
    document: dict[str, Any] = json.loads(output.read_text(encoding="utf-8"))
    return document


def _in(ip: str, networks: tuple[str, ...]) -> bool:
    return any(ip.startswith(network.removesuffix("0/24")) for network in networks)


def _scan(
    base: dict[str, Any],
    site: str,
    scan_id: str,
    started: datetime,
    ports: list[int],
    without: tuple[str, ...] = (),
) -> ScanDocument:
    devices = [d for d in base["devices"] if _in(d["ip"], SITES[site]) and d["ip"] not in without]
    restricted = sum(bool(d["restricted"]) for d in devices)
    scan = base["scan"] | {
        "id": scan_id,
        "kind": "active",
        "started_at": started.isoformat(),
        "finished_at": (started + timedelta(minutes=2)).isoformat(),
        "targets": list(SITES[site]),
        "ports": ports,
        "hosts_scanned": 3 * 256,
        "hosts_responding": len(devices),
        "devices_found": len(devices),
        "restricted_count": restricted,
        "complete": True,
    }
    return from_contract(base | {"scan": scan, "devices": devices})


def build_unaccounted_store(folder: Path) -> UnaccountedStore:
    base = _capture_document(folder)
    seen_ports = {port for d in base["devices"] for port in d["open_ports"]}
    ports = sorted(set(DEFAULT_PORTS) | seen_ports)
    url = f"sqlite:///{folder / 'provscan.db'}"
    ids: list[str] = []
    hq: list[str] = []
    with open_store(url) as store:
        for site, day in (("depot", 5), ("plant", 6)):
            scan_id = f"{site}-0000-scan-{day:02d}"
            document = _scan(base, site, scan_id, datetime(2026, 12, day, 14, 0, tzinfo=UTC), ports)
            ids.append(store.save_document(document, site=site, coverage=_coverage(site)))
        fleet = store.fleet()
        for n in range(HQ_SCANS):
            scan_id = f"hq{n:02d}0000-sensor-scan"
            started = HQ_START + timedelta(minutes=3 * n)
            document = _scan(
                base, "hq", scan_id, started, ports, without=(*UNACCOUNTED, REMOVED) if n else ()
            )
            fleet.add_job(scan_id, "hq", list(SITES["hq"]), requested_by="schedule:1", ports=ports)
            fleet.mark_running(scan_id, SENSOR)
            stored = store.save_document(document, site="hq", coverage=_coverage("hq"))
            fleet.finish_job(scan_id, "done", sensor=SENSOR, scan_id=stored)
            ids.append(stored)
            hq.append(stored)
            if n == 0:
                _work_cases(store)
    return UnaccountedStore(folder / "provscan.db", url, tuple(ids), tuple(hq), tuple(ports), base)


def _coverage(site: str) -> list[list[str]]:
    return coverage_ranges(list(SITES[site]))


def case_of(store: Store, ip: str) -> int:
    device_id = next(d.device_id for d in store.inventory() if d.ip == ip)
    (case,) = [c for c in store.cases(device_id=device_id) if c.subject == "restricted"]
    return case.id


def _work_cases(store: Store) -> None:
    removed = case_of(store, REMOVED)
    store.update_case(removed, actor="alice", status="removed", note="taken down, ticket 88")
    planned = case_of(store, PLANNED)
    store.update_case(planned, actor="bob", status="planned", owner="facilities")

"""Benchmark: the inventory at department scale (issue 13).

Generates a store of ``--devices`` devices (default 100,000) seen by ``--scans`` scans
(default 1,000: each covers one /24-sized block of a site, and every block is scanned twice,
the second time with some devices gone, re-addressed, upgraded and added), through the real
``Store.save_document`` path (matching, statuses and cases included), then times the
commands people run on it, as child processes: ``provscan inventory --format json``,
``provscan diff`` and ``provscan report --format html`` (when the report command exists).

Goals (issue 13): inventory under 2 s, diff under 2 s, HTML report under 10 s.

    .venv/bin/python bench/bench_inventory.py                 # 100k devices, 1000 scans
    .venv/bin/python bench/bench_inventory.py --devices 10000 --scans 100
    .venv/bin/python bench/bench_inventory.py --db postgresql://postgres@127.0.0.1:5432/bench

No network traffic: the store is a local file (or the local PostgreSQL server).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from measure import compile_provscan, run_measured

from provscan.report.contract import ScanDocument, from_contract
from provscan.store.db import normalise_db_arg, open_store
from provscan.store.inventory import coverage_ranges

GOALS = {"inventory": 2.0, "diff": 2.0, "report": 10.0}
MAKERS = (
    ("Hikvision", "hikvision", True, "DS-2CD2143G2-I"),
    ("Dahua", "dahua", True, "IPC-HDW2431T-AS"),
    ("Axis", None, False, "P3225-LV Mk II"),
    ("Bosch", None, False, "FLEXIDOME IP 5000i"),
    ("Hanwha Vision", None, False, "XNV-6080R"),
    ("HP", None, False, "LaserJet M404"),
)


def _finding(family: str) -> dict[str, Any]:
    return {
        "policy": "us",
        "jurisdiction": "United States",
        "measure": "NDAA FY2019 s. 889(a)(1)(A): no procurement of covered equipment",
        "citation": "Pub. L. 115-232, s. 889",
        "effective": "2019-08-13",
        "family": family,
        "scope_note": "Federal executive agencies.",
    }


def _device(ip: str, serial: int, firmware: str) -> dict[str, Any]:
    maker, family, restricted, model = MAKERS[serial % 20 % len(MAKERS)]
    restricted = restricted and serial % 20 < 2  # about 10% of devices restricted
    return {
        "ip": ip,
        "mac": f"02:00:{serial >> 24 & 255:02x}:{serial >> 16 & 255:02x}:"
        f"{serial >> 8 & 255:02x}:{serial & 255:02x}",
        "hostname": None,
        "open_ports": [80, 554],
        "manufacturer": maker,
        "brand": maker,
        "relation": None,
        "family": family if restricted else None,
        "model": model,
        "firmware": firmware,
        "serial": f"SN{serial:09d}",
        "device_type": "ipc",
        "confidence": 0.9,
        "restricted": restricted,
        "findings": [_finding(family)] if restricted and family else [],
        "vulnerabilities": [],
        "exposure": [],
        "remediation": [],
        "evidence": [],
        "phones_home": [],
        "conflicts": [],
        "attempts": [],
        "notes": [],
    }


def _document(
    scan_id: str, when: datetime, block: str, devices: list[dict[str, Any]]
) -> ScanDocument:
    scan = {
        "id": scan_id,
        "kind": "active",
        "started_at": when.isoformat(),
        "finished_at": (when + timedelta(minutes=3)).isoformat(),
        "targets": [block],
        "ports": [80, 554],
        "policies": ["us"],
        "tool_version": "bench",
        "hosts_scanned": 256,
        "hosts_responding": len(devices),
        "devices_found": len(devices),
        "restricted_count": sum(d["restricted"] for d in devices),
        "complete": True,
        "notes": [],
    }
    # Written as a contract 1.2 document (its findings have no effect or binding); reading
    # it upgrades it to the current version, as for any stored or exported 1.2 scan.
    return from_contract(json.dumps({"schema_version": "1.2", "scan": scan, "devices": devices}))


def generate(url: str, devices: int, scans: int) -> float:
    """Fill the store; returns the seconds it took."""
    blocks = max(1, scans // 2)
    per_block = max(1, devices // blocks)
    started = time.monotonic()
    when = datetime(2026, 1, 1, tzinfo=UTC)
    with open_store(url) as store:
        for round_ in range(2):
            for block in range(blocks):
                net = f"10.{block // 256}.{block % 256}"
                base = block * per_block
                found = []
                for index in range(per_block):
                    serial = base + index
                    host = index % 254 + 1
                    firmware = "V5.7.1" if round_ == 0 or index % 10 else "V5.7.3"
                    if round_ == 1 and index % 25 == 0:
                        continue  # gone
                    if round_ == 1 and index % 40 == 1:
                        host = (host + 100) % 254 + 1  # re-addressed (same MAC)
                    found.append(_device(f"{net}.{host}", serial, firmware))
                if round_ == 1 and block % 10 == 0:  # a device added
                    found.append(_device(f"{net}.255", 10_000_000 + block, "V1"))
                when += timedelta(minutes=5)
                store.save_document(
                    _document(f"scan-{round_}-{block:05d}", when, f"{net}.0/24", found),
                    site=f"site-{block % 40:02d}",
                    coverage=coverage_ranges([f"{net}.0/24"]),
                )
            print(
                f"  round {round_ + 1}: {blocks} scans stored, "
                f"{time.monotonic() - started:.0f} s so far",
                file=sys.stderr,
            )
    return time.monotonic() - started


def _provscan(*args: str) -> list[str]:
    return [sys.executable, "-m", "provscan", *args]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--scans", type=int, default=1_000)
    parser.add_argument(
        "--db",
        help="database URL or file (default: a new temporary file); a store that already "
        "holds scans is reused as it is",
    )
    args = parser.parse_args()
    print(compile_provscan())
    with tempfile.TemporaryDirectory() as work:
        url = normalise_db_arg(args.db or str(Path(work) / "bench.db"))
        with open_store(url) as store:
            stored = len(store.scans(None))
        if stored:
            print(f"reusing the {stored} scans already in {args.db}", file=sys.stderr)
        else:
            print(f"generating {args.devices} devices in {args.scans} scans ...", file=sys.stderr)
            seconds = generate(url, args.devices, args.scans)
            print(f"generated {args.scans} scans in {seconds:.1f} s")
        with open_store(url) as store:
            count = len(store.inventory_documents())
            scans = len(store.scans(None))
        print(f"store: {count} inventory devices, {scans} scans")
        db = args.db or url.removeprefix("sqlite:///")
        runs = {
            "inventory": _provscan("inventory", "--db", db, "--format", "json"),
            "diff": _provscan("diff", "--db", db, "--format", "json"),
            "report": _provscan(
                "report", "--db", db, "--format", "html", "--output", str(Path(work) / "r.html")
            ),
        }
        failed = False
        for name, command in runs.items():
            measured = run_measured(command, timeout=600)
            if measured.returncode != 0:
                first = (measured.stderr.strip().splitlines() or ["?"])[-1]
                print(f"{name:<10} exit {measured.returncode}: {first}")
                failed = failed or name != "report"
                continue
            verdict = "ok" if measured.seconds <= GOALS[name] else "OVER GOAL"
            print(
                f"{name:<10} {measured.seconds:6.2f} s  (goal {GOALS[name]:.0f} s, {verdict})  "
                f"peak RSS {measured.peak_rss / 2**20:.0f} MiB"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

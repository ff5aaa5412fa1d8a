"""A device present in the inventory is never counted among the hosts that did not answer:
a block scanned in full over loopback, then one of its devices scanned again on a port it
does not listen on (a narrow scan that gets no reply from it, and does not count it as
missed). The methodology counts only the block's really silent addresses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from helpers import SESSION_DEVICES

from provscan.compliance.facts import gather
from provscan.lab.server import run_lab_in_thread
from provscan.store.db import open_store

OCTET = 20 + os.getpid() % 10
BLOCK = f"127.{OCTET}.181.8/29"
ENV = {**os.environ, "PROVSCAN_ALLOWED_TARGETS": "127.0.0.0/8,::1/128"}
DEVICES = [
    device.model_copy(update={"address": f"127.{OCTET}.181.{10 + index}"})
    for index, device in enumerate(SESSION_DEVICES[:2])
]


def _scan(db: Path, *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "provscan", "scan", *args, "-q", "--db", str(db)],
        capture_output=True, text=True, timeout=300, check=False, env=ENV,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_a_narrow_scan_does_not_make_a_present_device_silent(tmp_path: Path) -> None:
    db = tmp_path / "provscan.db"
    with run_lab_in_thread(DEVICES):
        _scan(db, BLOCK)
        _scan(db, DEVICES[0].address, "--ports", "9", "--no-discovery")  # nothing on 9
    store = open_store(f"sqlite:///{db}")
    full, narrow = sorted(store.list_scans(None), key=lambda s: s.hosts_scanned, reverse=True)
    # the narrow scan heard nothing from the device, which stays present
    assert (narrow.hosts_scanned, narrow.hosts_responding) == (1, 0)
    present = {d["ip"] for d in store.inventory_documents() if d["status"] == "present"}
    assert DEVICES[0].address in present
    silent = full.hosts_scanned - full.hosts_responding
    assert silent > 0
    # the block's silent addresses, not the device the narrow scan looked at
    assert gather(store).silent_hosts == silent
    (only,) = [s for s in store.scans(None) if s.id == narrow.id]
    assert gather(store, scan_id=only.id).silent_hosts == 0

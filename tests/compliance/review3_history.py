"""A store for the third review of the compliance report: devices to review and closed cases.

The lab on loopback, scanned three times at site HQ into SQLite (a device gone after two
covering scans miss it):

- an Annke camera that shows only its label brand (ONVIF Manufacturer ANNKE, a page titled
  ANNKE): Annke sells some Hikvision-made and some Dahua-made lines, so a restricted maker is
  possible, not established: *review*, throughout;
- a camera whose only signal is the bare ``Server: Webs`` header old Hikvision DVRs send (and
  GoAhead-based firmware of many makers): *review*; absent from scans 2 and 3, so missing
  after scan 2 and gone after scan 3;
- a Dahua camera set to removed by alice with a disposal note before scan 2, which no longer
  sees it: verified at scan 2's ingest;
- an LTS (Hikvision relabel) camera absent from scan 3, set to replaced by bob afterwards and
  verified by bob on request, with scan 3 as the proof;
- a Hikvision camera on firmware with an actively exploited vulnerability (CVE-2021-36260),
  updated before scan 3, which sees it without the vulnerability: its posture case verified;
- a Hikvision camera that remains, and an Axis camera (clear).
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

from helpers import SESSION_DEVICES, TEST_LIMITS

from provscan.compliance.report import render_report
from provscan.lab.server import load_devices, run_lab_in_thread
from provscan.lab.spec import DeviceSpec
from provscan.model import ScanResult
from provscan.store.db import Store, StoreSettings, open_store
from provscan.store.inventory import coverage_ranges
from provscan.transport.limits import DEFAULT_PORTS

#: 127.70-79.191.x: no other test serves a lab there.
OCTET = 70 + os.getpid() % 10
SITE = "HQ"
DISPOSAL_NOTE = "camera taken down; disposal certificate DC-2291 (WEEE contractor)"
REPLACEMENT_NOTE = "replaced by an Axis P3265-LVE; old unit to e-waste, ticket 4412"
_HTML = [
    ["Date", "{date}"],
    ["Content-Type", "text/html"],
    ["Content-Length", "{content_length}"],
    ["Connection", "close"],
]


def _at(host: int) -> str:
    return f"127.{OCTET}.191.{host}"


def _moved(device: DeviceSpec, host: int) -> DeviceSpec:
    return device.model_copy(update={"address": _at(host)})


def _label_only(base: DeviceSpec, host: int) -> DeviceSpec:
    """The Annke camera with nothing Hikvision-made about it: its label brand only."""
    http = base.services[0]
    options = dict(http.options)
    options["routes"] = [
        {
            "path": "/",
            "headers": _HTML,
            "body": "<html><head><title>ANNKE</title></head>"
            "<body>ANNKE Network Camera</body></html>",
        }
    ]
    options["default"] = {"status": 404, "headers": _HTML, "body": "not found"}
    identity = base.identity.model_copy(
        update={"manufacturer": None, "model": "C800", "serial": None, "firmware": "V1.0.0"}
    )
    return base.model_copy(
        update={
            "id": "annke-label-only",
            "address": _at(host),
            "identity": identity,
            "services": [http.model_copy(update={"options": options})],
            "discovery": [],
            "expect": base.expect.model_copy(update={"manufacturer": None, "restricted": False}),
        }
    )


def _bare_webs(base: DeviceSpec, host: int) -> DeviceSpec:
    """A camera whose web server says only ``Webs``."""
    http = base.services[0]
    options = {
        "routes": [
            {
                "path": "/",
                "headers": [["Server", "Webs"], *_HTML],
                "body": "<html><head><title>Camera</title></head><body>login</body></html>",
            }
        ],
        "default": {"status": 404, "headers": _HTML, "body": "not found"},
    }
    identity = base.identity.model_copy(
        update={"manufacturer": None, "brand": None, "model": None, "serial": None}
    )
    return base.model_copy(
        update={
            "id": "bare-webs",
            "address": _at(host),
            "identity": identity,
            "services": [http.model_copy(update={"options": options})],
            "discovery": [],
            "expect": base.expect.model_copy(
                update={"manufacturer": None, "brand": None, "restricted": False}
            ),
        }
    )


def _updated(camera: DeviceSpec, firmware: str, host: int) -> DeviceSpec:
    """The same camera (model, serial, MAC, address) after a firmware update."""
    identity = camera.identity.model_copy(update={"firmware": firmware})
    return camera.model_copy(update={"address": _at(host), "identity": identity})


_SESSION = {d.id: d for d in SESSION_DEVICES}
_ANNKE = next(d for d in load_devices(["hikvision_oem"]) if d.id == "annke-ipc")
DEVICES = {
    "hikvision": _moved(_SESSION["hik-ipc-g2"], 10),
    "dahua": _moved(_SESSION["dahua-ipc"], 11),
    "lts": _moved(_SESSION["lts-ipc"], 12),
    "axis": _moved(_SESSION["axis-p3225"], 13),
    "annke": _label_only(_ANNKE, 14),
    "webs": _bare_webs(_ANNKE, 15),
    "kev": _moved(_SESSION["hik-fw-7921-fixed"], 16),
    # the release that fixed CVE-2021-36260 (Hikvision's notice: V5.5.800 build 210628)
    "patched": _updated(_SESSION["hik-fw-7921-fixed"], "V5.5.800 build 210628", 16),
}
TARGETS = [f"127.{OCTET}.191.0/27"]


def _scan(keys: list[str]) -> ScanResult:
    from provscan.pipeline import run_scan
    from provscan.targets import build_targets

    # the camera ports and every port the lab devices serve (the same in each scan)
    ports = sorted(set(DEFAULT_PORTS) | {s.port for d in DEVICES.values() for s in d.services})
    with run_lab_in_thread([DEVICES[key] for key in keys]):
        return asyncio.run(run_scan(build_targets(TARGETS), TARGETS, ports, limits=TEST_LIMITS))


@dataclass(frozen=True)
class ReviewStore:
    path: Path
    url: str
    scans: tuple[str, str, str]
    removed_case: int
    replaced_case: int
    patched_case: int
    #: The HTML report as it read after the second scan (the Webs camera then missing).
    html_after_second: str

    def open(self) -> Store:
        return open_store(self.url, settings=SETTINGS)


#: A device is gone after two covering scans in a row miss it.
SETTINGS = StoreSettings(gone_after=2)


def _case_of(store: Store, ip: str, subject: str = "restricted") -> int:
    device_id = next(d.device_id for d in store.inventory() if d.ip == ip)
    (case,) = [c for c in store.cases(device_id=device_id) if c.subject.startswith(subject)]
    return case.id


def build_review_store(path: Path) -> ReviewStore:
    url = f"sqlite:///{path}"
    coverage = coverage_ranges(TARGETS)
    with open_store(url, settings=SETTINGS) as store:
        everything = [key for key in DEVICES if key != "patched"]
        first = store.save(_scan(everything), site=SITE, coverage=coverage)
        removed = _case_of(store, DEVICES["dahua"].address)
        replaced = _case_of(store, DEVICES["lts"].address)
        patched = _case_of(store, DEVICES["kev"].address, "vulnerability:")
        store.update_case(removed, actor="alice", status="planned", owner="facilities")
        store.update_case(removed, actor="alice", status="removed", note=DISPOSAL_NOTE)
        second = store.save(
            _scan(["hikvision", "lts", "axis", "annke", "kev"]), site=SITE, coverage=coverage
        )
        html = render_report(store, fmt="html").decode()
        third = store.save(
            _scan(["hikvision", "axis", "annke", "patched"]), site=SITE, coverage=coverage
        )
        store.update_case(replaced, actor="bob", status="replaced", note=REPLACEMENT_NOTE)
        store.update_case(replaced, actor="bob", status="verified")
    return ReviewStore(path, url, (first, second, third), removed, replaced, patched, html)

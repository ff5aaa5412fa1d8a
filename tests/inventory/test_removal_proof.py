"""What proves a restricted device removed (newcomer review of the inventory and cases).

Found: a scan on other ports proved a removal. With case #6 set to removed, `provscan scan
127.77.1.15 --ports 80,443 --no-discovery` while the EZVIZ camera still listened on 554 and
8000 verified the case ("a complete scan covering the device's address did not see it"), and
three such scans made the camera `gone`, off the "N restricted devices remain" headline.
And a re-addressed LTS NVR (no MAC, no serial) counted as removed: the scan that no longer
saw it at .11 verified its case and opened another for "a new device" at .50.

Now a scan covers a device only when it covered its address and probed every port the
device was last seen on; and a restricted device that a scan does not see is not counted
missing, nor its case verified, when the same scan saw a device first seen since, at another
address, that nothing tells apart from it. Real lab devices on loopback, real SQLite stores;
the compliance report's trend (which replays the inventory) must agree with the store.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from helpers import SESSION_DEVICES, TEST_LIMITS

from inventory_verdicts import entry, scan_of
from provscan.compliance.facts import gather
from provscan.errors import StoreError
from provscan.lab.server import run_lab_in_thread
from provscan.lab.spec import DeviceSpec
from provscan.model import ScanResult
from provscan.pipeline import run_scan
from provscan.report.contract import from_contract
from provscan.store.cases import RESTRICTED, Case
from provscan.store.db import Store, normalise_db_arg, open_store
from provscan.store.inventory import could_have_moved, coverage_ranges
from provscan.targets import build_targets

#: 120-129: the inventory tests' own labs (test_inventory_lab.py uses .7; these use .8).
OCTET = 120 + os.getpid() % 10
NET = f"127.{OCTET}.8"
BY_ID = {device.id: device for device in SESSION_DEVICES}
#: Every port the devices here listen on.
ALL_PORTS = [80, 443, 554, 8000, 37777]
#: The ports of the README's example scan (`provscan scan 127.77.1.10 --ports 80,443,554,8000`).
README_PORTS = [80, 443, 554, 8000]
SITE = "townhall"
GOLDEN = Path(__file__).parent.parent / "report" / "golden" / "scan_v1.json"


def _at(device_id: str, host: int, ports: Sequence[int] | None = None) -> DeviceSpec:
    device = BY_ID[device_id]
    update: dict[str, Any] = {"address": f"{NET}.{host}"}
    if ports is not None:
        update["services"] = [s for s in device.services if s.port in ports]
    return device.model_copy(update=update)


#: The EZVIZ camera: RTSP on 554 and the Hikvision SDK on 8000, no web interface.
EZVIZ = _at("hik-ezviz-c6n", 15)
#: A Dahua camera that answers only Dahua's DVRIP on 37777.
DVRIP_ONLY = _at("dahua-ipc-legacy", 16, ports=[37777])
#: The LTS NVR (Hikvision OEM): the scan reads neither its MAC (loopback) nor its serial.
NVR_BEFORE = _at("lts-nvr", 11)
NVR_AFTER = _at("lts-nvr", 50)
#: The range the move scans cover: .0-.63 (both of the NVR's addresses).
RANGE = f"{NET}.0/26"


def _scan(devices: list[DeviceSpec], specs: list[str], ports: Sequence[int]) -> ScanResult:
    """A real scan over loopback (no discovery, as `--no-discovery`), with ``devices``
    served while it runs; none: nothing answers any more."""
    targets = build_targets(specs)
    if not devices:
        return asyncio.run(run_scan(targets, specs, ports, limits=TEST_LIMITS, discovery=None))
    with run_lab_in_thread(devices):
        return asyncio.run(run_scan(targets, specs, ports, limits=TEST_LIMITS, discovery=None))


def _save(store: Store, result: ScanResult, specs: list[str]) -> str:
    return store.save(result, site=SITE, coverage=coverage_ranges(specs))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(normalise_db_arg(str(tmp_path / "proof.db"))) as opened:
        yield opened


def _restricted_case(store: Store, device_id: str) -> Case:
    (case,) = [c for c in store.cases(device_id=device_id) if c.subject == RESTRICTED]
    return store.case(case.id)


def _notes(case: Case) -> list[str]:
    return [e.note for e in case.events if e.actor == "provscan" and e.action == "note"]


def _trend_agrees(store: Store, remaining: int) -> None:
    """The compliance report's headline and trend (a replay of the inventory) agree with the
    store: each scan's point is what the store recorded when the scan was stored."""
    facts = gather(store)
    assert facts.remaining == remaining
    recorded = {point.scan_id: point.restricted for point in store.trend(1000)[0]}
    points = [p for p in facts.trend if not p.is_now]
    assert points and {p.scan_id: p.inventory_restricted for p in points} == {
        scan_id: recorded[scan_id] for scan_id in (p.scan_id for p in points)
    }
    assert facts.trend[-1].inventory_restricted == remaining


# -- 1. the ports the device was last seen on -----------------------------------------------


def test_a_scan_that_did_not_probe_the_cameras_ports_proves_no_removal(store: Store) -> None:
    address = [EZVIZ.address]
    first = _scan([EZVIZ], address, ALL_PORTS)
    (camera,) = first.devices
    assert camera.restricted and camera.open_ports == (554, 8000)
    _save(store, first, address)
    (device,) = store.inventory()
    case = _restricted_case(store, device.device_id)
    store.update_case(case.id, actor="alice", status="removed", note="taken down")

    # The camera still listens on 554 and 8000; scans of 80 and 443 do not see it.
    wrong = []
    for _ in range(3):
        result = _scan([EZVIZ], address, [80, 443])
        assert result.info.complete and not result.devices
        wrong.append(_save(store, result, address))
    case = store.case(case.id)
    assert case.status == "removed"
    notes = _notes(case)
    assert len(notes) == 3
    for scan_id, note in zip(wrong, notes, strict=True):
        assert f"scan {scan_id[:12]} covered {EZVIZ.address}" in note
        assert "did not probe ports 554, 8000" in note
    # not missing, not gone: still one restricted device remaining
    shown = store.device(device.device_id)[0]
    assert (shown.status, shown.missed) == ("present", 0)
    assert len(store.remaining()) == 1
    _trend_agrees(store, remaining=1)
    # nor can a person verify it with those scans as proof
    with pytest.raises(StoreError, match=r"did not probe ports 554, 8000") as refused:
        store.update_case(case.id, actor="alice", status="verified")
    assert "\n" not in str(refused.value)

    # The camera is taken away; a scan of its ports no longer sees it: that is proof.
    proof = _save(store, _scan([], address, [554, 8000]), address)
    case = store.case(case.id)
    assert case.status == "verified"
    assert case.events[-1].scan_id == proof
    assert "the ports it was last seen on" in case.events[-1].note
    assert store.device(device.device_id)[0].status == "missing"
    _trend_agrees(store, remaining=0)


def test_the_readme_ports_do_not_prove_a_camera_on_37777_gone(store: Store) -> None:
    address = [DVRIP_ONLY.address]
    first = _scan([DVRIP_ONLY], address, ALL_PORTS)
    (camera,) = first.devices
    assert camera.manufacturer == "Dahua" and camera.restricted
    assert camera.open_ports == (37777,)
    _save(store, first, address)
    (device,) = store.inventory()
    case = _restricted_case(store, device.device_id)
    store.update_case(case.id, actor="alice", status="replaced")

    readme = _scan([DVRIP_ONLY], address, README_PORTS)
    assert not readme.devices  # the camera is there, on a port the scan did not ask
    _save(store, readme, address)
    case = store.case(case.id)
    assert case.status == "replaced"
    assert any("did not probe port 37777" in note for note in _notes(case))
    assert store.device(device.device_id)[0].status == "present"

    # A scan that does probe 37777 sees it: the case reopens.
    _save(store, _scan([DVRIP_ONLY], address, [*README_PORTS, 37777]), address)
    assert store.case(case.id).status == "open"
    _trend_agrees(store, remaining=1)


def test_a_device_last_seen_on_no_port_is_covered_by_its_address(store: Store) -> None:
    """A device whose newest sighting saw no open TCP port (it answered only discovery or
    SNMP, or came from an import without ports): there is no port to compare, so a
    complete scan covering its address counts, as before."""
    golden = from_contract(GOLDEN.read_text(encoding="utf-8"))
    restricted = next(d for d in golden.devices if d.restricted)
    quiet = entry(restricted, 1, open_ports=[])
    addresses = ["127.0.41.0/24"]
    store.save_document(
        scan_of("seen", 10, [quiet]), site=SITE, coverage=coverage_ranges(addresses)
    )
    (device,) = store.inventory()
    case = _restricted_case(store, device.device_id)
    store.update_case(case.id, actor="alice", status="removed")
    store.save_document(scan_of("after", 11, []), site=SITE, coverage=coverage_ranges(addresses))
    assert store.case(case.id).status == "verified"
    assert store.device(device.device_id)[0].status == "missing"


# -- 2. a device that may have moved --------------------------------------------------------


def test_a_re_addressed_nvr_without_mac_or_serial_is_possibly_moved_not_removed(
    store: Store,
) -> None:
    first = _scan([NVR_BEFORE], [RANGE], ALL_PORTS)
    (nvr,) = first.devices
    assert (nvr.ip, nvr.mac, nvr.serial) == (NVR_BEFORE.address, None, None)
    assert (nvr.manufacturer, nvr.brand, nvr.restricted) == ("Hikvision", "LTS", True)
    _save(store, first, [RANGE])
    (old,) = store.inventory()
    old_case = _restricted_case(store, old.device_id)
    store.update_case(old_case.id, actor="alice", status="removed")

    # Re-addressed: the scan sees it at .50 only.
    _save(store, _scan([NVR_AFTER], [RANGE], ALL_PORTS), [RANGE])
    devices = {d.ip: d for d in store.inventory()}
    new = devices[NVR_AFTER.address]
    assert new.device_id != old.device_id and new.match_rule == "new"
    new_case = _restricted_case(store, new.device_id)
    old_case = store.case(old_case.id)
    assert old_case.status == "removed"  # not verified
    shown = store.device(old.device_id)[0]
    assert (shown.status, shown.missed) == ("present", 0)  # not counted missing
    (moved,) = _notes(old_case)
    assert moved.startswith(
        f"possibly moved to {NVR_AFTER.address} (device {new.device_id}, case #{new_case.id})"
    )
    assert "maker Hikvision and brand LTS" in moved and "no MAC or serial" in moved
    (here,) = _notes(new_case)
    assert here.startswith(f"possibly device {old.device_id} (case #{old_case.id})")
    assert f"last seen at {NVR_BEFORE.address}" in here
    with pytest.raises(StoreError, match="may have moved there"):
        store.update_case(old_case.id, actor="alice", status="verified")
    _trend_agrees(store, remaining=2)

    # Seen there again: still possibly moved, and said once.
    _save(store, _scan([NVR_AFTER], [RANGE], ALL_PORTS), [RANGE])
    assert store.case(old_case.id).status == "removed"
    assert len(_notes(store.case(old_case.id))) == 1
    assert len(_notes(store.case(new_case.id))) == 1
    assert store.device(old.device_id)[0].status == "present"
    _trend_agrees(store, remaining=2)

    # Taken away for good: neither is seen, the removed one's case is verified.
    _save(store, _scan([], [RANGE], ALL_PORTS), [RANGE])
    assert store.case(old_case.id).status == "verified"
    assert store.device(old.device_id)[0].status == "missing"
    assert store.device(new.device_id)[0].status == "missing"
    assert store.case(new_case.id).status == "open"
    _trend_agrees(store, remaining=1)


@pytest.mark.parametrize(
    ("missed", "seen", "expected"),
    [
        (("Hikvision", "LTS", None, None, None), ("Hikvision", "LTS", None, None, None), True),
        (("hikvision", "LTS", "M1", None, None), ("Hikvision", None, "m1", None, None), True),
        (("Hikvision", "LTS", None, None, None), ("Hikvision", "EZVIZ", None, None, None), False),
        (("Hikvision", None, "M1", None, None), ("Hikvision", None, "M2", None, None), False),
        (("Hikvision", None, None, "aa:bb", None), ("Hikvision", None, None, "aa:cc", None), False),
        (("Hikvision", None, None, None, "S1"), ("Hikvision", None, None, None, "S2"), False),
        (("Hikvision", None, None, None, None), ("Dahua", None, None, None, None), False),
        ((None, None, "M1", None, None), (None, None, "M1", None, None), False),
    ],
)
def test_what_may_be_the_same_device(
    missed: tuple[str | None, ...], seen: tuple[str | None, ...], expected: bool
) -> None:
    assert could_have_moved(missed, seen) is expected  # type: ignore[arg-type]


# -- the reported commands, as a user runs them ---------------------------------------------


def _run(*args: str, check: int | None = 0) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "provscan", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "COLUMNS": "120"},
    )
    if check is not None:
        assert done.returncode == check, (args, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    return done


def test_the_reported_commands_no_longer_verify_the_case(tmp_path: Path) -> None:
    db = str(tmp_path / "ports.db")
    scan = ("scan", EZVIZ.address, "--no-discovery", "--site", SITE, "--db", db, "-q")
    with run_lab_in_thread([EZVIZ]):
        _run(*scan, "--ports", "80,443,554,8000")
        cases = json.loads(_run("cases", "list", "--db", db, "-f", "json").stdout)["cases"]
        (case,) = [c for c in cases if c["subject"] == RESTRICTED]
        number = str(case["id"])
        _run("cases", "update", number, "--status", "removed", "--db", db)
        for _ in range(3):
            _run(*scan, "--ports", "80,443")
    shown = _run("cases", "show", number, "--db", db).stdout
    assert "did not probe ports 554, 8000" in " ".join(shown.split())
    listed = json.loads(_run("cases", "list", "--db", db, "-f", "json").stdout)["cases"]
    assert [c["status"] for c in listed if c["id"] == case["id"]] == ["removed"]
    inventory = json.loads(_run("inventory", "--db", db, "-f", "json").stdout)
    (device,) = inventory["devices"]
    assert device["status"] == "present"
    assert inventory["inventory"]["remaining"] == 1
    refused = _run("cases", "update", number, "--status", "verified", "--db", db, check=None)
    assert refused.returncode != 0
    (line,) = refused.stderr.strip().splitlines()
    assert "did not probe ports 554, 8000" in line

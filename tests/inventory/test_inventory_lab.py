"""The inventory across scans of a real lab whose devices change between scans (issue 13).

Each scan runs the whole pipeline over loopback against a lab of its own (127.12X.7.0/24)
and is stored with the address range it covered. Between scans a Dahua camera moves to
another address (same MAC), another is taken away, a Hikvision camera gets new firmware
(same serial), a printer is replaced at its address by a camera of another maker, and a
Hikvision camera is added. The inventory, the diff and the cases must follow every one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from helpers import SESSION_DEVICES, TEST_LIMITS

from provscan.errors import StoreError
from provscan.lab.server import run_lab_in_thread
from provscan.lab.spec import DeviceSpec
from provscan.model import ScanResult
from provscan.pipeline import run_scan
from provscan.store.db import Store, StoreSettings, normalise_db_arg, open_store
from provscan.store.inventory import coverage_ranges
from provscan.targets import build_targets

#: 120-129: the inventory tests' own labs (see tests/helpers.py for the other octets).
OCTET = 120 + os.getpid() % 10
NET = f"127.{OCTET}.7"
RANGE = f"{NET}.0/24"
BY_ID = {device.id: device for device in SESSION_DEVICES}
USED = (
    "dahua-ipc",
    "dahua-ipc-legacy",
    "hik-hilook-ipc",
    "hik-ptz",
    "neg-hp-printer",
    "axis-p3225",
    "bosch-flexidome",
)
PORTS = sorted({s.port for name in USED for s in BY_ID[name].services})


def _at(device_id: str, host: int, **identity: str) -> DeviceSpec:
    device = BY_ID[device_id]
    update: dict[str, object] = {"address": f"{NET}.{host}"}
    if identity:
        update["identity"] = device.identity.model_copy(update=identity)
    return device.model_copy(update=update)


FIRST = [
    _at("dahua-ipc", 10),
    _at("dahua-ipc-legacy", 11),
    _at("hik-hilook-ipc", 12),
    _at("axis-p3225", 13),
    _at("neg-hp-printer", 14),
]
SECOND = [
    _at("dahua-ipc", 20),  # re-addressed (DHCP): same MAC
    # dahua-ipc-legacy taken away
    _at("hik-hilook-ipc", 12, firmware="V5.7.3 build 230101"),  # upgraded: same serial
    _at("axis-p3225", 13),
    _at("bosch-flexidome", 14),  # the printer's address now holds a Bosch camera
    _at("hik-ptz", 30),  # added
]


def _scan(devices: list[DeviceSpec], specs: list[str] | None = None) -> ScanResult:
    specs = specs or [RANGE]
    with run_lab_in_thread(devices):
        targets = build_targets(specs)
        return asyncio.run(run_scan(targets, specs, PORTS, limits=TEST_LIMITS))


def _save(store: Store, result: ScanResult, specs: list[str] | None = None) -> str:
    return store.save(result, coverage=coverage_ranges(specs or [RANGE]))


@pytest.fixture(scope="module")
def scans() -> dict[str, ScanResult]:
    """The lab scanned before and after the changes (and once more, unchanged)."""
    return {"first": _scan(FIRST), "second": _scan(SECOND), "third": _scan(SECOND)}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(normalise_db_arg(str(tmp_path / "inventory.db"))) as opened:
        yield opened


def _by_ip(store: Store) -> dict[str, list[dict[str, object]]]:
    found: dict[str, list[dict[str, object]]] = {}
    for device in store.inventory():
        found.setdefault(device.ip, []).append(device.to_json())
    return found


def test_the_lab_scans_see_what_the_test_expects(scans: dict[str, ScanResult]) -> None:
    first = {d.ip: d for d in scans["first"].devices}
    second = {d.ip: d for d in scans["second"].devices}
    assert set(first) == {f"{NET}.{h}" for h in (10, 11, 12, 13, 14)}
    assert set(second) == {f"{NET}.{h}" for h in (12, 13, 14, 20, 30)}
    # the evidence the matching relies on is really there
    assert first[f"{NET}.10"].mac == second[f"{NET}.20"].mac == "3c:ef:8c:0a:0b:0c"
    assert first[f"{NET}.12"].serial == second[f"{NET}.12"].serial
    assert first[f"{NET}.12"].firmware != second[f"{NET}.12"].firmware


def test_inventory_follows_moves_removals_upgrades_and_replacements(
    scans: dict[str, ScanResult], store: Store
) -> None:
    first_id = _save(store, scans["first"])
    after_first = {d.ip: d for d in store.inventory()}
    assert len(after_first) == 5 and all(d.status == "present" for d in after_first.values())
    second_id = _save(store, scans["second"])
    devices = {d.device_id: d for d in store.inventory()}
    by_ip = _by_ip(store)

    # re-addressed: the same device, now at .20, matched by MAC
    moved = after_first[f"{NET}.10"]
    assert devices[moved.device_id].ip == f"{NET}.20"
    assert devices[moved.device_id].match_rule == "mac"
    assert devices[moved.device_id].status == "present"
    # taken away: missing after one covering scan
    removed = after_first[f"{NET}.11"]
    assert devices[removed.device_id].status == "missing"
    assert devices[removed.device_id].last_scan_id == first_id
    # upgraded: the same device (serial, or address + maker + model), new firmware
    upgraded = after_first[f"{NET}.12"]
    assert devices[upgraded.device_id].firmware == "V5.7.3 build 230101"
    assert devices[upgraded.device_id].last_scan_id == second_id
    assert devices[upgraded.device_id].first_seen == upgraded.first_seen
    # replaced at the same address: a new device; the old one is missing
    assert len(by_ip[f"{NET}.14"]) == 2
    printer = after_first[f"{NET}.14"]
    assert devices[printer.device_id].status == "missing"
    camera = next(d for d in by_ip[f"{NET}.14"] if d["device_id"] != printer.device_id)
    assert camera["manufacturer"] == "Bosch" and camera["status"] == "present"
    # added
    (added,) = by_ip[f"{NET}.30"]
    assert added["match_rule"] == "new" and added["restricted"] is True
    # unchanged
    assert devices[after_first[f"{NET}.13"].device_id].status == "present"
    assert len(devices) == 7
    # the fast JSON paths (driver rows; on SQLite, SQLite's own json_object) give exactly
    # what the devices give, keys in the same order
    documents = store.inventory_documents()
    assert documents == [d.to_json() for d in store.inventory()]
    made_by_sqlite = store.inventory_fragments()
    assert made_by_sqlite is not None
    fragments, restricted = made_by_sqlite
    assert json.loads(orjson.dumps(fragments)) == documents
    assert [list(d) for d in json.loads(orjson.dumps(fragments))] == [list(d) for d in documents]
    assert restricted == sum(d["restricted"] for d in documents)


def test_gone_after_the_configured_number_of_covering_scans(
    scans: dict[str, ScanResult], tmp_path: Path
) -> None:
    url = normalise_db_arg(str(tmp_path / "gone.db"))
    with open_store(url, StoreSettings(gone_after=2)) as store:
        _save(store, scans["first"])
        first = {d.ip: d.device_id for d in store.inventory()}
        _save(store, scans["second"])
        assert store.device(first[f"{NET}.11"])[0].status == "missing"
        _save(store, scans["third"])
        # the camera taken away and the printer replaced were missed by two covering scans
        gone = {d.device_id for d in store.inventory(status="gone")}
        assert gone == {first[f"{NET}.11"], first[f"{NET}.14"]}
        assert {d.ip for d in store.inventory(status="present")} == {
            f"{NET}.{host}" for host in (12, 13, 14, 20, 30)
        }


def test_a_scan_that_did_not_cover_an_address_proves_nothing(
    scans: dict[str, ScanResult], store: Store
) -> None:
    _save(store, scans["first"])
    # the same devices, stored as a scan that covered only .10-.12
    narrow = [f"{NET}.10-{NET}.12"]
    _save(store, scans["second"], narrow)
    statuses = {d.ip: d.status for d in store.inventory()}
    assert statuses[f"{NET}.11"] == "missing"  # covered, not seen
    # .14's printer lies outside what the second scan covered: still present
    printer = [d for d in store.inventory() if d.manufacturer == "HP"]
    assert [d.status for d in printer] == ["present"]


def test_diff_lists_added_removed_and_changed(scans: dict[str, ScanResult], store: Store) -> None:
    first_id = _save(store, scans["first"])
    second_id = _save(store, scans["second"])
    result = store.diff()  # default: the newest two whose scopes overlap
    assert (result.old.id, result.new.id) == (first_id, second_id)
    document = result.to_json()
    assert {d["ip"] for d in document["added"]} == {f"{NET}.14", f"{NET}.30"}
    assert {d["ip"] for d in document["removed"]} == {f"{NET}.11", f"{NET}.14"}
    changed = {c["device_id"]: c["changes"] for c in document["changed"]}
    moved = next(d for d in store.inventory() if d.ip == f"{NET}.20")
    assert changed[moved.device_id]["ip"] == [f"{NET}.10", f"{NET}.20"]
    upgraded = next(d for d in store.inventory() if d.ip == f"{NET}.12")
    assert changed[upgraded.device_id]["firmware"][1] == "V5.7.3 build 230101"
    assert [d["ip"] for d in result.new_restricted] == [f"{NET}.30"]


def test_cases_open_once_verify_only_with_a_covering_scan_and_reopen(
    scans: dict[str, ScanResult], store: Store
) -> None:
    _save(store, scans["first"])
    devices = {d.ip: d for d in store.inventory()}
    restricted = {ip for ip, d in devices.items() if d.restricted}
    assert restricted == {f"{NET}.10", f"{NET}.11", f"{NET}.12"}
    cases = {c.device_id: c for c in store.cases() if c.subject == "restricted"}
    assert set(cases) == {devices[ip].device_id for ip in restricted}
    legacy = cases[devices[f"{NET}.11"].device_id]
    camera = cases[devices[f"{NET}.12"].device_id]

    # No covering scan since the device was last seen: it cannot be verified.
    store.update_case(legacy.id, actor="alice", status="removed", note="taken down")
    with pytest.raises(StoreError, match="no complete scan has covered"):
        store.update_case(legacy.id, actor="alice", status="verified")
    # Nor can a case that is not marked removed or replaced.
    with pytest.raises(StoreError, match="mark it removed or replaced"):
        store.update_case(camera.id, actor="alice", status="verified")

    # The covering scan that no longer sees it verifies it, automatically.
    second_id = _save(store, scans["second"])
    verified = store.case(legacy.id)
    assert verified.status == "verified"
    assert verified.events[-1].scan_id == second_id and verified.events[-1].actor == "provscan"
    # The cases were opened once: the second scan opened only the new camera's.
    opened = [c for c in store.cases() if c.subject == "restricted"]
    assert len(opened) == 4
    assert [e.action for e in store.case(camera.id).events] == ["opened"]

    # The device comes back: its case reopens (and is not duplicated).
    again = dataclasses.replace(
        scans["first"].info,
        scan_id="first-again",
        started_at=store.scans(1)[0].started_at + timedelta(minutes=5),
    )
    _save(store, ScanResult(again, scans["first"].devices))
    reopened = store.case(legacy.id)
    assert reopened.status == "open"
    assert [e.action for e in reopened.events] == ["opened", "updated", "verified", "reopened"]
    assert reopened.events[1].actor == "alice" and reopened.events[1].note == "taken down"
    assert len([c for c in store.cases() if c.subject == "restricted"]) == 4


def test_a_replaced_case_is_verified_by_hand_once_a_covering_scan_exists(
    scans: dict[str, ScanResult], store: Store
) -> None:
    _save(store, scans["first"])
    legacy = {d.ip: d for d in store.inventory()}[f"{NET}.11"]
    _save(store, scans["second"])  # covers .11, does not see it; the case is still open
    (case,) = store.cases(device_id=legacy.device_id)
    assert case.status == "open"
    store.update_case(case.id, actor="bob", status="replaced", owner="facilities")
    done = store.update_case(case.id, actor="bob", status="verified")
    assert done.status == "verified"
    assert done.events[-1].action == "verified" and done.events[-1].scan_id is not None

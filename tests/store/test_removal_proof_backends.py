"""What proves a removal, on SQLite and PostgreSQL alike: the store reads the ports a device
was last seen on and the ports a scan probed from the stored documents (one JSON field each,
not the documents), and the compliance report's trend reads them too. Scans are stored as
contract documents (the golden scan's Dahua camera, seen on 80, 554 and 37777), as
tests/inventory/test_removal_proof.py stores real lab scans."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from provscan.compliance.facts import gather
from provscan.errors import StoreError
from provscan.report.contract import DeviceEntry, ScanDocument, from_contract
from provscan.store.cases import RESTRICTED
from provscan.store.db import Store
from provscan.store.inventory import coverage_ranges

GOLDEN = Path(__file__).parents[1] / "report" / "golden" / "scan_v1.json"
RANGE = ["127.0.42.0/24"]
SITE = "depot"


def _camera(host: int, *, stable: bool) -> DeviceEntry:
    """The golden scan's restricted Dahua camera (seen on 80, 554 and 37777) at
    127.0.42.``host``; without MAC and serial unless ``stable``."""
    golden = from_contract(GOLDEN.read_text(encoding="utf-8"))
    camera = next(d for d in golden.devices if d.restricted)
    assert camera.open_ports == [80, 554, 37777]
    changes: dict[str, object] = {"ip": f"127.0.42.{host}"}
    if not stable:
        changes |= {"mac": None, "serial": None}
    return camera.model_copy(update=changes)


def _scan(scan_id: str, hour: int, ports: list[int], devices: list[DeviceEntry]) -> ScanDocument:
    golden = from_contract(GOLDEN.read_text(encoding="utf-8"))
    started = datetime(2026, 11, 2, tzinfo=UTC) + timedelta(hours=hour)
    scan = golden.scan.model_copy(
        update={
            "id": scan_id,
            "started_at": started,
            "finished_at": started + timedelta(minutes=5),
            "ports": ports,
            "targets": RANGE,
            "devices_found": len(devices),
            "restricted_count": sum(d.restricted for d in devices),
        }
    )
    return golden.model_copy(update={"scan": scan, "devices": devices})


def _save(store: Store, document: ScanDocument) -> None:
    store.save_document(document, site=SITE, coverage=coverage_ranges(RANGE))


def _agrees(store: Store, remaining: int) -> None:
    facts = gather(store)
    assert facts.remaining == remaining == len(store.remaining())
    recorded = {point.scan_id: point.restricted for point in store.trend(1000)[0]}
    for point in facts.trend:
        if not point.is_now:
            assert point.inventory_restricted == recorded[point.scan_id], point
    assert facts.trend[-1].inventory_restricted == remaining


def test_ports_not_probed_are_no_proof_and_ports_probed_are(store: Store) -> None:
    _save(store, _scan("seen", 0, [80, 554, 37777], [_camera(10, stable=True)]))
    (device,) = store.inventory()
    (case,) = [c for c in store.cases(device_id=device.device_id) if c.subject == RESTRICTED]
    store.update_case(case.id, actor="alice", status="removed")
    for hour in (1, 2, 3):  # three scans, as many as make a device gone
        _save(store, _scan(f"web-only-{hour}", hour, [80, 443, 554], []))
    assert store.case(case.id).status == "removed"
    notes = [e.note for e in store.case(case.id).events if e.action == "note"]
    assert len(notes) == 3 and all("did not probe port 37777" in n for n in notes)
    assert store.device(device.device_id)[0].status == "present"
    with pytest.raises(
        StoreError, match=r"did not probe port 37777, where.*; 2 earlier scans did not either"
    ):
        store.update_case(case.id, actor="alice", status="verified")
    _agrees(store, remaining=1)
    _save(store, _scan("every-port", 4, [80, 443, 554, 8000, 37777], []))
    assert store.case(case.id).status == "verified"
    _agrees(store, remaining=0)


def test_a_possible_move_is_no_proof_until_that_device_is_gone_too(store: Store) -> None:
    _save(store, _scan("before", 0, [80, 554, 37777], [_camera(11, stable=False)]))
    (old,) = store.inventory()
    (case,) = [c for c in store.cases(device_id=old.device_id) if c.subject == RESTRICTED]
    store.update_case(case.id, actor="alice", status="replaced")
    _save(store, _scan("moved", 1, [80, 554, 37777], [_camera(50, stable=False)]))
    assert store.case(case.id).status == "replaced"
    assert store.device(old.device_id)[0].status == "present"
    with pytest.raises(StoreError, match="may have moved there"):
        store.update_case(case.id, actor="alice", status="verified")
    _agrees(store, remaining=2)
    # Seen there again: still no proof.
    _save(store, _scan("again", 2, [80, 554, 37777], [_camera(50, stable=False)]))
    assert store.case(case.id).status == "replaced"
    _agrees(store, remaining=2)
    # Neither answers any more: the replaced one's case is verified; the other is missing.
    _save(store, _scan("empty", 3, [80, 554, 37777], []))
    assert store.case(case.id).status == "verified"
    assert {d.status for d in store.inventory()} == {"missing"}
    _agrees(store, remaining=1)

"""A removal is no proof while a device of the same maker answers at the removed device's
address (a sensor review: a sensor stored a camera without its serial, a CLI scan of another
site's spelling stored it with one; a later scan matched the camera by serial to the second
record, and the first record's "removed" case was verified while the camera still answered)."""

from __future__ import annotations

from test_removal_proof_backends import RANGE, _camera, _scan

from provscan.report.contract import ScanDocument
from provscan.store.cases import RESTRICTED
from provscan.store.db import Store
from provscan.store.inventory import coverage_ranges

PORTS = [80, 554, 37777]


def _save(store: Store, document: ScanDocument, site: str) -> None:
    store.save_document(document, site=site, coverage=coverage_ranges(RANGE))


def test_a_removal_is_not_verified_while_the_same_maker_answers_at_its_address(
    store: Store,
) -> None:
    _save(store, _scan("sensor", 0, PORTS, [_camera(10, stable=False)]), "ottawa")
    _save(store, _scan("cli", 1, PORTS, [_camera(10, stable=True)]), "Ottawa")
    records = {d.site: d for d in store.inventory()}
    assert set(records) == {"ottawa", "Ottawa"}, records
    first = records["ottawa"]
    (case,) = [c for c in store.cases(device_id=first.device_id) if c.subject == RESTRICTED]
    store.update_case(case.id, actor="alice", status="removed", note="camera replaced")
    # The camera still answers at the address, with its serial.
    _save(store, _scan("again", 2, PORTS, [_camera(10, stable=True)]), "ottawa")
    seen = [d for d in store.inventory() if d.last_scan_id == "again"]
    assert seen and seen[0].device_id != first.device_id
    after = store.case(case.id)
    assert after.status == "removed"
    (note,) = [e.note for e in after.events if e.action == "note"]
    assert note.startswith("not verified: scan again saw a Dahua device at 127.0.42.10")
    # Gone from the address: now the removal is proven.
    _save(store, _scan("empty", 3, PORTS, []), "ottawa")
    assert store.case(case.id).status == "verified"


def test_a_verified_case_is_not_told_there_is_no_proof_when_a_look_alike_appears(
    store: Store,
) -> None:
    """A review found a verified case whose newest note said "no proof of removal while a
    scan sees that device": a verified removal stays proven, and the note says which record
    tracks the device seen elsewhere."""
    _save(store, _scan("before", 0, PORTS, [_camera(11, stable=False)]), "depot")
    (old,) = store.inventory()
    (case,) = [c for c in store.cases(device_id=old.device_id) if c.subject == RESTRICTED]
    store.update_case(case.id, actor="alice", status="removed")
    _save(store, _scan("gone", 1, PORTS, []), "depot")
    assert store.case(case.id).status == "verified"
    _save(store, _scan("elsewhere", 2, PORTS, [_camera(50, stable=False)]), "depot")
    new = next(d for d in store.inventory() if d.device_id != old.device_id)
    (new_case,) = [c for c in store.cases(device_id=new.device_id) if c.subject == RESTRICTED]
    after = store.case(case.id)
    assert after.status == "verified"
    notes = [e.note for e in after.events if e.action == "note"]
    assert notes, after.events
    assert "no proof of removal" not in notes[-1]
    assert notes[-1].endswith(
        f"this case stays verified, and if it is the same device, case #{new_case.id} tracks it"
    )
    assert "saw at 127.0.42.50 a device first seen since" in notes[-1]

"""A sighting that identified nothing does not erase what a stronger one established: the
inventory keeps the device's verdict, restriction, confidence and findings (a sighting that
identifies it sets them, whatever it says); ``diff`` shows what the newer sighting did not
read as not read, not as a change; migration 0012 mends a store the former rule left. Real
stores (SQLite files, PostgreSQL), scans saved through the Store's save path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from test_migration_0011 import _downgrade, _execute

from inventory_verdicts import four_verdicts, scan_of
from provscan.report.contract import DeviceEntry
from provscan.store.db import normalise_db_arg, open_store


def _unidentified(device: DeviceEntry) -> DeviceEntry:
    """``device`` as a sighting that read nothing of it sees it (its resets in a capture):
    its address and MAC, no maker, model, firmware, findings or vulnerabilities."""
    return device.model_copy(
        update={
            "manufacturer": None,
            "brand": None,
            "family": None,
            "relation": None,
            "model": None,
            "firmware": None,
            "device_type": None,
            "serial": None,
            "confidence": 0.0,
            "restricted": False,
            "verdict": "unknown",
            "findings": [],
            "notes": [],
            "vulnerabilities": [],
            "remediation": [],
            "exposure": [],
            "alternatives": [],
        }
    )


def _cleared(device: DeviceEntry) -> DeviceEntry:
    """``device`` identified again after a knowledge fix: another maker, clear."""
    return device.model_copy(
        update={
            "manufacturer": "Axis",
            "brand": "Axis",
            "family": None,
            "relation": None,
            "restricted": False,
            "verdict": "clear",
            "findings": [],
            "notes": [],
            "vulnerabilities": [],
            "remediation": [],
            "alternatives": [],
        }
    )


@pytest.fixture
def db(tmp_path: Path) -> str:
    return normalise_db_arg(str(tmp_path / "store.db"))


def test_an_unidentified_sighting_keeps_the_verdict_and_an_identifying_one_sets_it(
    db: str,
) -> None:
    devices = four_verdicts()
    restricted = devices[0]
    assert restricted.verdict == "restricted" and restricted.findings
    with open_store(db) as store:
        store.save_document(scan_of("scan-a", 10, devices))
        first = {d.ip: d for d in store.inventory()}[restricted.ip]
        # a newer sighting that identified nothing
        store.save_document(scan_of("scan-b", 11, [_unidentified(restricted)]))
        kept = {d.ip: d for d in store.inventory()}[restricted.ip]
        restricted_total = sum(d.restricted for d in store.inventory())
    assert kept.device_id == first.device_id
    assert kept.last_scan_id == "scan-b" and kept.last_seen > first.last_seen
    assert (kept.verdict, kept.restricted, kept.confidence, kept.findings) == (
        first.verdict,
        first.restricted,
        first.confidence,
        first.findings,
    )
    assert kept.manufacturer == first.manufacturer
    assert restricted_total == 1
    assert first.verdict == "restricted" and first.restricted and first.findings

    # a sighting that identifies it (a knowledge fix: another maker) sets them, clear
    with open_store(db) as store:
        store.save_document(scan_of("scan-c", 12, [_cleared(restricted)]))
        fixed = {d.ip: d for d in store.inventory()}[restricted.ip]
    assert (fixed.verdict, fixed.restricted, fixed.findings) == ("clear", False, ())
    assert fixed.manufacturer == "Axis"

    # a device that no sighting identified stays unknown; identified later, it is restricted
    # and counts as newly restricted (its event)
    stranger = devices[3].model_copy(update={"ip": "127.0.41.77", "mac": "02:00:00:00:41:77"})
    assert stranger.verdict == "unknown"
    named = restricted.model_copy(update={"ip": stranger.ip, "mac": stranger.mac})
    with open_store(db) as store:
        store.save_document(scan_of("scan-d", 13, [stranger]))
        assert {d.ip: d.verdict for d in store.inventory()}[stranger.ip] == "unknown"
        store.save_document(scan_of("scan-e", 14, [named]))
        assert {d.ip: d.verdict for d in store.inventory()}[stranger.ip] == "restricted"
        became = [
            e.payload["device"]["ip"]
            for e in store.pending_events("test-sink")
            if e.kind == "device.restricted"
        ]
    # the device of scan-a, then the one identified since; none for the unidentified sighting
    assert became == [restricted.ip, stranger.ip]


def test_diff_lists_what_the_newer_sighting_did_not_read_as_not_read(db: str) -> None:
    devices = four_verdicts()
    restricted = devices[0]
    assert restricted.firmware and restricted.vulnerabilities
    with open_store(db) as store:
        store.save_document(scan_of("scan-a", 10, devices[:2]))
        store.save_document(scan_of("scan-b", 11, [_unidentified(restricted), devices[1]]))
        store.save_document(scan_of("scan-c", 12, [_cleared(restricted), devices[1]]))
        unread = store.diff("scan-a", "scan-b")
        fixed = store.diff("scan-b", "scan-c")
        direct = store.diff("scan-a", "scan-c")
    # nothing changed from a sighting that read nothing, and nothing became restricted
    assert unread.changed == () and unread.new_restricted == []
    (entry,) = unread.not_read
    assert entry["ip"] == restricted.ip
    assert {"firmware", "model", "manufacturer", "restricted", "verdict", "policies"} <= set(
        entry["fields"]
    )
    assert "vulnerabilities" in entry["fields"]
    assert unread.to_json()["not_read"] == [entry]
    # what a sighting reads that the older did not is a change (identified since)
    (change,) = fixed.changed
    assert change["changes"]["verdict"] == ["unknown", "clear"]
    assert change["changes"]["manufacturer"] == [None, "Axis"]
    # and a sighting that identified the device changes its verdict, whatever it says
    (change,) = direct.changed
    assert change["changes"]["restricted"] == [True, False]
    assert change["changes"]["verdict"] == ["restricted", "clear"]
    assert change["changes"]["vulnerabilities"][1] == []  # read model and firmware: patched
    assert "firmware" not in change["changes"]


@pytest.fixture(params=["sqlite", "postgresql"])
def url(
    request: pytest.FixtureRequest, tmp_path: Path, make_postgres_database: Callable[[], str]
) -> str:
    if request.param == "sqlite":
        return normalise_db_arg(str(tmp_path / "store.db"))
    return make_postgres_database()


def test_migration_0012_mends_devices_the_former_rule_left_unknown(url: str) -> None:
    # Given a store whose restricted device was seen again by a sighting that identified
    # nothing, and a device no sighting identified
    devices = four_verdicts()
    with open_store(url) as store:
        store.save_document(scan_of("scan-a", 10, devices))
        store.save_document(scan_of("scan-b", 11, [_unidentified(devices[0])]))
        recorded = {d.device_id: d for d in store.inventory()}
    # made as the former rule made it: the newest sighting's values, unknown
    restricted_id = next(i for i, d in recorded.items() if d.ip == devices[0].ip)
    _execute(
        url,
        "UPDATE inventory SET verdict = 'unknown', restricted = false, confidence = 0, "
        f"findings = '[]' WHERE device_id = '{restricted_id}'",
    )
    with open_store(url) as store:
        assert {d.device_id: d.verdict for d in store.inventory()}[restricted_id] == "unknown"

    # When the store is taken back to 0011 and opened again
    _downgrade(url, "0011")
    with open_store(url) as store:
        mended = {d.device_id: d for d in store.inventory()}

    # Then the device has what the sighting that identified it said; the others are as they
    # were (the unknown one among them)
    for device_id, device in recorded.items():
        assert (
            mended[device_id].verdict,
            mended[device_id].restricted,
            mended[device_id].confidence,
            mended[device_id].findings,
        ) == (device.verdict, device.restricted, device.confidence, device.findings)
    assert sorted(d.verdict for d in mended.values()) == [
        "clear",
        "restricted",
        "review",
        "unknown",
    ]

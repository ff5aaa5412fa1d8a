"""The inventory in the store without a lab: coverage ranges, concurrent saves on SQLite and
PostgreSQL, stores written before the inventory existed, and foreign database files."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import open_case_on

from provscan.errors import StoreError
from provscan.report.contract import ScanDocument, from_contract
from provscan.store.cases import CaseSettings, _due, subjects
from provscan.store.db import normalise_db_arg, open_store
from provscan.store.inventory import (
    Sighting,
    address_key,
    compact_findings,
    coverage_ranges,
    covers,
)

GOLDEN = Path(__file__).parents[1] / "report" / "golden" / "scan_v1.json"
#: When the overdue case of the events test was opened.
OPENED_2019 = datetime(2019, 12, 1, tzinfo=UTC)
OLD_DB = Path(__file__).parents[1] / "store" / "fixtures" / "store_0003.db"


def _document(scan_id: str, third_octet: int) -> ScanDocument:
    """The golden scan under another id, its devices moved to 127.0.<octet>.x (no MACs or
    serials, so each copy's devices are other devices)."""
    golden = from_contract(GOLDEN.read_text(encoding="utf-8"))
    devices = []
    for index, device in enumerate(golden.devices):
        devices.append(
            device.model_copy(
                update={"ip": f"127.0.{third_octet}.{index + 1}", "mac": None, "serial": None}
            )
        )
    scan = golden.scan.model_copy(update={"id": scan_id})
    return golden.model_copy(update={"scan": scan, "devices": devices})


def test_coverage_is_targets_less_exclusions() -> None:
    ranges = coverage_ranges(["10.0.0.0/24", "10.0.1.5"], ["10.0.0.128/25", "10.0.0.7"])
    assert covers(ranges, address_key("10.0.0.6"))
    assert not covers(ranges, address_key("10.0.0.7"))
    assert covers(ranges, address_key("10.0.0.8"))
    assert not covers(ranges, address_key("10.0.0.200"))
    assert covers(ranges, address_key("10.0.1.5"))
    assert not covers(ranges, address_key("10.0.1.6"))
    assert covers(coverage_ranges(["10.0.0.1-20"]), address_key("10.0.0.20"))
    assert covers(coverage_ranges(["fd00::/120"]), address_key("fd00::ff"))
    assert not covers(coverage_ranges(["fd00::/120"]), address_key("10.0.0.1"))
    # names and file references cover nothing (they are expanded by the scan, not here)
    assert coverage_ranges(["cam1.example", "@targets.txt"]) == []


def test_a_sighting_keeps_all_the_inventory_and_the_cases_read() -> None:
    # A sighting holds part of a device's document while a scan is added (issue 14); what
    # the inventory and the cases make of it must not change.
    golden = from_contract(GOLDEN.read_text(encoding="utf-8"))
    first = golden.devices[0]
    replace, reconfigure = first.remediation
    # a measure's deadline, a patch and a reconfiguration to do first: posture cases
    urgent = first.model_copy(
        update={
            "findings": [first.findings[0].model_copy(update={"deadline": "2027-06-30"})],
            "remediation": [
                replace.model_copy(
                    update={"action": "patch", "priority": 1, "reason": "CVE-2021-36260"}
                ),
                reconfigure.model_copy(update={"priority": 1}),
            ],
        }
    )
    opened = datetime(2026, 12, 1, tzinfo=UTC)
    for device in [*golden.devices, urgent]:
        document = device.model_dump(mode="json")
        kept = Sighting.of(0, document).document
        assert subjects(kept) == subjects(document)
        assert compact_findings(kept) == compact_findings(document)
        for subject in subjects(document):
            assert _due(subject, kept, opened, CaseSettings()) == _due(
                subject, document, opened, CaseSettings()
            )
        for field in (
            "ip",
            "mac",
            "serial",
            "hostname",
            "manufacturer",
            "model",
            "restricted",
            "verdict",
        ):
            assert kept[field] == document[field]
    assert set(subjects(urgent.model_dump(mode="json"))) == {
        "restricted",
        "vulnerability:CVE-2021-36260",
        "exposure:rtsp_unauthenticated",
    }
    assert _due("restricted", urgent.model_dump(mode="json"), opened, CaseSettings()) == (
        "2027-06-30"
    )


def _save_concurrently(url: str) -> None:
    errors: list[BaseException] = []

    def save(index: int) -> None:
        try:
            with open_store(url) as store:
                store.save_document(_document(f"concurrent-{index}", 10 + index))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    golden = from_contract(GOLDEN.read_text(encoding="utf-8"))
    with open_store(url) as store:
        assert len(store.scans(None)) == 4
        assert len(store.inventory()) == 4 * len(golden.devices)
        restricted = sum(d.restricted for d in golden.devices)
        opened = [c for c in store.cases() if c.subject == "restricted"]
        assert len(opened) == 4 * restricted


def test_scans_saved_at_once_lose_nothing_on_sqlite(tmp_path: Path) -> None:
    _save_concurrently(normalise_db_arg(str(tmp_path / "busy.db")))


def test_scans_saved_at_once_lose_nothing_on_postgresql(
    make_postgres_database: Callable[[], str],
) -> None:
    _save_concurrently(make_postgres_database())


def test_the_inventory_works_the_same_on_postgresql(
    make_postgres_database: Callable[[], str],
) -> None:
    url = make_postgres_database()
    with open_store(url) as store:
        store.save_document(_document("pg-1", 20), coverage=coverage_ranges(["127.0.20.0/24"]))
        first = {d.ip: d.device_id for d in store.inventory()}
        # the second scan no longer sees the first device
        second = _document("pg-2", 20)
        later = second.scan.model_copy(
            update={"started_at": second.scan.started_at.replace(year=2030)}
        )
        second = second.model_copy(
            update={
                "scan": later.model_copy(
                    update={
                        "devices_found": len(second.devices) - 1,
                        "restricted_count": sum(d.restricted for d in second.devices[1:]),
                    }
                ),
                "devices": second.devices[1:],
            }
        )
        store.save_document(second, coverage=coverage_ranges(["127.0.20.0/24"]))
        statuses = {d.device_id: d.status for d in store.inventory()}
        assert statuses[first["127.0.20.1"]] == "missing"
        assert all(
            statuses[device_id] == "present"
            for ip, device_id in first.items()
            if ip != "127.0.20.1"
        )
        assert {d["ip"] for d in store.diff().to_json()["removed"]} == {"127.0.20.1"}
        # the fast JSON path (driver rows) gives what the devices give, on PostgreSQL too
        assert store.inventory_documents() == [d.to_json() for d in store.inventory()]
        assert store.inventory_fragments() is None  # SQLite only: PostgreSQL uses the rows


def test_a_store_written_before_the_inventory_gets_one(tmp_path: Path) -> None:
    copy = tmp_path / "old.db"
    shutil.copyfile(OLD_DB, copy)
    with open_store(normalise_db_arg(str(copy))) as store:
        scans = store.scans(None)
        devices = store.inventory()
        assert scans and devices
        assert sum(s.devices for s in scans) >= len(devices)
        # every stored device is linked to an inventory device
        for scan in scans:
            assert len(store.sightings(scan.id)) == scan.devices
    # opening again adds nothing twice
    with open_store(normalise_db_arg(str(copy))) as store:
        assert len(store.inventory()) == len(devices)


@pytest.mark.parametrize(
    "content",
    [b"just some notes, not a database\n" * 10, b"SQLite format 3\x00" + b"\xff" * 200],
)
def test_a_foreign_or_corrupt_file_is_a_clear_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(content)
    with pytest.raises(StoreError, match=r"not a database provscan can read|malformed|cannot open"):
        open_store(normalise_db_arg(str(path)))
    assert path.read_bytes() == content  # untouched


def test_events_are_written_once_with_their_change_and_delivered_per_sink(
    tmp_path: Path,
) -> None:
    golden = from_contract(GOLDEN.read_text(encoding="utf-8"))
    restricted = sum(d.restricted for d in golden.devices)
    with open_store(normalise_db_arg(str(tmp_path / "events.db"))) as store:
        store.save_document(_document("ev-1", 30), coverage=coverage_ranges(["127.0.30.0/24"]))
        events = store.pending_events("syslog")
        kinds = [e.kind for e in events]
        assert kinds.count("device.restricted") == restricted
        assert kinds.count("case.opened") == len(store.cases())
        opened = next(e for e in events if e.kind == "case.opened")
        assert opened.to_json()["device"]["ip"].startswith("127.0.30.")
        assert opened.to_json()["case"]["status"] == "open"
        # taken by one sink: gone for it, still there for another
        store.acknowledge_events("syslog", events[-1].id)
        assert store.pending_events("syslog") == []
        assert len(store.pending_events("webhook")) == len(events)
        # the same devices seen again (matched by MAC/serial): no new events
        store.save_document(_document("ev-2", 30), coverage=coverage_ranges(["127.0.30.0/24"]))
        assert store.pending_events("syslog") == []
        # a case past due: one overdue event, once
        case = store.cases()[0]
        # (a case opened in 2019: the store refuses a due date before the opening)
        open_case_on(normalise_db_arg(str(tmp_path / "events.db")), case.id, OPENED_2019)
        store.update_case(case.id, actor="t", due="2020-01-01")
        assert store.record_overdue() == 1
        assert store.record_overdue() == 0
        # the person's change is an event too, then the overdue one
        updated, overdue = store.pending_events("syslog")
        assert updated.kind == "case.updated" and updated.case_id == case.id
        assert updated.payload["change"]["changes"]["due"][1] == "2020-01-01"
        assert overdue.kind == "case.overdue" and overdue.case_id == case.id
        assert store.case(case.id).events[-1].action == "overdue"


def test_a_scan_is_found_by_a_unique_prefix_of_its_id(tmp_path: Path) -> None:
    from provscan.errors import StoreRequestError

    with open_store(normalise_db_arg(str(tmp_path / "ids.db"))) as store:
        store.save_document(_document("5f3a9c21-aaaa", 50))
        store.save_document(_document("5f3a9c21-bbbb", 51))
        store.save_document(_document("77e0b1d4-cccc", 52))
        assert store.load("77e0b1").scan.id == "77e0b1d4-cccc"
        assert store.scan_summary("5f3a9c21-b").id == "5f3a9c21-bbbb"
        with pytest.raises(StoreRequestError, match="ambiguous"):
            store.load("5f3a9c21")
        with pytest.raises(StoreRequestError, match="no scan"):
            store.load("77e0b")  # shorter than six characters: never a prefix
        # LIKE wildcards in what the user typed are literal
        with pytest.raises(StoreRequestError, match="no scan"):
            store.load("5f3a9%")
        assert store.diff("5f3a9c21-a", "77e0b1").new.id == "77e0b1d4-cccc"


def _scan_of(scan_id: str, year: int, devices: list[tuple[str, str]]) -> ScanDocument:
    """A scan in ``year`` of the golden's first device at each (address, serial), no MACs."""
    golden = from_contract(GOLDEN.read_text(encoding="utf-8"))
    first = golden.devices[0]
    found = [
        first.model_copy(update={"ip": ip, "mac": None, "serial": serial}) for ip, serial in devices
    ]
    started = golden.scan.started_at.replace(year=year)
    scan = golden.scan.model_copy(
        update={
            "id": scan_id,
            "started_at": started,
            "finished_at": started,
            "devices_found": len(found),
            "restricted_count": sum(device.restricted for device in found),
        }
    )
    return golden.model_copy(update={"scan": scan, "devices": found})


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_serial_two_devices_share_goes_to_the_one_known_longest(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # Given two inventory devices with the same serial (cloned firmware defaults), the first
    # known since 2026, the second since 2027
    if backend == "sqlite":
        url = normalise_db_arg(str(tmp_path / "serials.db"))
    else:
        url = request.getfixturevalue("make_postgres_database")()
    with open_store(url) as store:
        store.save_document(_scan_of("serial-1", 2026, [("127.0.30.1", "SN-CLONE")]))
        store.save_document(
            _scan_of("serial-2", 2027, [("127.0.30.1", "SN-CLONE"), ("127.0.30.2", "SN-CLONE")])
        )
        by_ip = {d.ip: d for d in store.inventory()}
        assert by_ip["127.0.30.1"].device_id != by_ip["127.0.30.2"].device_id
        oldest = by_ip["127.0.30.1"].device_id
        # When a later scan sees that serial at a third address only
        store.save_document(_scan_of("serial-3", 2028, [("127.0.30.9", "SN-CLONE")]))
        # Then the device known longest took it, whatever the database's plan (the candidates
        # had no order: which one was taken was the plan's choice)
        moved = {d.device_id: d for d in store.inventory()}[oldest]
        assert moved.ip == "127.0.30.9"
        assert moved.match_rule.startswith("serial")


def test_a_sighting_refuses_a_field_it_does_not_keep() -> None:
    # Reading a field the sighting does not keep must fail loudly, not pass for a device
    # without it (a new field read by the inventory or the cases goes in _SIGHTING_FIELDS).
    golden = from_contract(GOLDEN.read_text(encoding="utf-8"))
    document = golden.devices[0].model_dump(mode="json")
    assert document["evidence"], "the golden device has evidence: the check below means it"
    kept = Sighting.of(0, document).document
    with pytest.raises(LookupError, match="_SIGHTING_FIELDS"):
        kept.get("evidence")
    with pytest.raises(LookupError, match="_SIGHTING_FIELDS"):
        kept["open_ports"]
    finding = kept["findings"][0]
    assert finding["policy"] == document["findings"][0]["policy"]
    with pytest.raises(LookupError, match="_SIGHTING_FIELDS"):
        finding.get("citation")
    assert kept.get("serial") == document.get("serial")


def test_a_vulnerability_case_is_verified_only_by_a_sighting_that_read_the_firmware(
    tmp_path: Path,
) -> None:
    # Given a device (by serial) with an actively exploited vulnerability to patch
    golden = from_contract(GOLDEN.read_text(encoding="utf-8"))
    first = golden.devices[0]
    patch = first.remediation[0].model_copy(
        update={"action": "patch", "priority": 1, "reason": "CVE-2021-36260"}
    )

    def scan(scan_id: str, year: int, **device: object) -> ScanDocument:
        document = _scan_of(scan_id, year, [("127.0.60.1", "SER-VULN-1")])
        (found,) = document.devices
        return document.model_copy(update={"devices": [found.model_copy(update=device)]})

    subject = "vulnerability:CVE-2021-36260"
    with open_store(normalise_db_arg(str(tmp_path / "posture.db"))) as store:
        store.save_document(
            scan("scan-2026", 2026, firmware="V5.5.0 build 170725", remediation=[patch])
        )
        (case,) = [c for c in store.cases() if c.subject == subject]
        assert case.status == "open"
        # When a later scan reads neither model nor firmware (so no vulnerability is judged)
        store.save_document(scan("scan-2027", 2027, model=None, firmware=None, remediation=[]))
        # Then nothing proves a patch: the case stays open
        assert store.case(case.id).status == "open"
        # When a scan reads the firmware and the finding is gone
        store.save_document(scan("scan-2028", 2028, firmware="V5.7.3 build 220112", remediation=[]))
        # Then the case is verified by that scan
        verified = store.case(case.id)
        assert verified.status == "verified"
        assert verified.events[-1].scan_id == "scan-2028"

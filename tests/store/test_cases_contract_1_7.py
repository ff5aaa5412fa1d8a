"""Remediation cases read contract 1.7's structured facts (an exposure's ``port`` and
``source``, a device's ``alternatives``), and posture's words only in documents stored
without them (1.6 and earlier).

Real stores (SQLite files under ``tmp_path``) fed through the real save path: documents made
by the real identification and posture stages from discovery's hosts (a UPnP gateway and the
camera its port mapping forwards to), and the golden scan's camera. A stored 1.6 document is
made the way an old store holds it: the rows of a saved scan without the 1.7 keys (SQLite's
json_remove on the file). Addresses are loopback and only data: nothing is sent."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from golden_sightings import golden_scan

from provscan.discovery.interface import DiscoveredHost, DiscoveryResult
from provscan.model import AttemptStatus, Observation
from provscan.observations import upnp as observe_upnp
from provscan.pipeline import identify_discovered
from provscan.report.contract import (
    AttemptEntry,
    ExposureEntry,
    MakerCandidateEntry,
    RemediationEntry,
    ScanDocument,
    from_contract,
    to_contract,
)
from provscan.store.cases import candidate_makers
from provscan.store.db import normalise_db_arg, open_store
from provscan.wire import upnp

GOLDEN = Path(__file__).parents[1] / "report" / "golden" / "scan_v1.json"
GOLDEN_1_6 = Path(__file__).parents[1] / "report" / "golden" / "scan_v1_6.json"
GATEWAY, CAMERA = "127.0.62.1", "127.0.62.64"
UPNP = "exposure:internet_upnp_mapping"
RTSP = "exposure:rtsp_unauthenticated"
IGD_PORT = 49152
#: The gateway's mapping that exposes the camera's web UI.
MAPPING = upnp.PortMapping(None, "8080", "TCP", "80", CAMERA, "1", "camera web")


def _discovered(*, gateway: str | None, mappings: list[upnp.PortMapping]) -> ScanDocument:
    """A discovery scan, identified and assessed by the real stages: the camera, and the
    gateway when ``gateway`` says how it answered: "read" (its mapping table read to the end,
    ``mappings``), "cut" (the table read but cut short: mappings, no end) or "description"
    (only its description: no table)."""
    camera = DiscoveredHost(
        CAMERA,
        None,
        None,
        None,
        ("ssdp",),
        (Observation("upnp", IGD_PORT, "upnp.manufacturer", "Axis"),),
    )
    hosts = [camera]
    if gateway is not None:
        observations = [Observation("upnp", IGD_PORT, "upnp.manufacturer", "TP-Link")]
        notes = []
        if gateway in ("read", "cut"):
            for mapping in mappings:
                observations.append(observe_upnp.port_mapping_observation(mapping, IGD_PORT))
                notes.append(f"UPnP IGD port mapping exposes {mapping.summary()}")
        if gateway == "read":
            observations.append(observe_upnp.mappings_read_observation(len(mappings), IGD_PORT))
        hosts.insert(
            0,
            DiscoveredHost(
                GATEWAY, None, None, None, ("ssdp",), tuple(observations), notes=tuple(notes)
            ),
        )
    result = identify_discovered(
        DiscoveryResult(tuple(hosts)),
        started=datetime.now(UTC),
        target_specs=["127.0.62.0/24"],
        policy_ids=["us"],
    )
    return to_contract(result)


def _at(document: ScanDocument, scan_id: str, days_ago: int) -> ScanDocument:
    """The document as scan ``scan_id``, started ``days_ago`` days ago (scans in order)."""
    started = datetime.now(UTC) - timedelta(days=days_ago)
    scan = document.scan.model_copy(
        update={"id": scan_id, "started_at": started, "finished_at": started}
    )
    return document.model_copy(update={"scan": scan})


def _case_of(store: Any, subject: str) -> Any:
    (case,) = [c for c in store.cases() if c.subject == subject]
    return case


def _as_stored_by_1_6(database: Path, scan_id: str) -> None:
    """Make a saved scan's rows what a 1.6 release stored: no exposure ``port`` or
    ``source``, no device ``alternatives``, schema version 1.6."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT id, json_array_length(document, '$.exposure') FROM devices WHERE scan_id = ?",
            (scan_id,),
        ).fetchall()
        for row_id, exposures in rows:
            paths = ["$.alternatives"]
            for index in range(exposures or 0):
                paths += [f"$.exposure[{index}].port", f"$.exposure[{index}].source"]
            placeholders = ", ".join("?" for _ in paths)
            connection.execute(
                f"UPDATE devices SET document = json_remove(document, {placeholders}) WHERE id = ?",
                (*paths, row_id),
            )
        connection.execute("UPDATE scans SET schema_version = '1.6' WHERE id = ?", (scan_id,))
        stored = [
            json.loads(text)
            for (text,) in connection.execute(
                "SELECT document FROM devices WHERE scan_id = ?", (scan_id,)
            )
        ]
    assert stored and not any("alternatives" in document for document in stored)
    exposures = [exposure for document in stored for exposure in document["exposure"]]
    assert exposures and not any({"port", "source"} & set(item) for item in exposures)


def _upnp_case_lifecycle(tmp_path: Path, *, stored_by_1_6: bool) -> None:
    database = tmp_path / "upnp.db"
    with open_store(normalise_db_arg(str(database))) as store:
        # Given a scan that read the gateway's table and found the mapping to the camera
        first = _discovered(gateway="read", mappings=[MAPPING])
        (camera,) = [d for d in first.devices if d.ip == CAMERA]
        (exposure,) = camera.exposure
        assert (exposure.kind, exposure.port, exposure.source) == (
            "internet_upnp_mapping",
            80,
            GATEWAY,
        )
        store.save_document(_at(first, "scan-1", 5))
        case = _case_of(store, UPNP)
        assert case.status == "open"
    if stored_by_1_6:
        _as_stored_by_1_6(database, "scan-1")
    with open_store(normalise_db_arg(str(database))) as store:
        # When a scan sees the camera without the exposure but never reached the gateway
        store.save_document(_at(_discovered(gateway=None, mappings=[]), "scan-2", 4))
        # Then nothing read the mappings: the case stays open (it was verified before 1.7)
        assert store.case(case.id).status == "open"
        # When the gateway answered but its mapping table was not read to the end
        store.save_document(_at(_discovered(gateway="description", mappings=[]), "scan-3", 3))
        assert store.case(case.id).status == "open"
        other = upnp.PortMapping(None, "2222", "TCP", "22", "127.0.62.99", "1", "")
        store.save_document(_at(_discovered(gateway="cut", mappings=[other]), "scan-4", 2))
        assert store.case(case.id).status == "open"
        # When a scan read the gateway's whole table and the mapping is gone (none left)
        store.save_document(_at(_discovered(gateway="read", mappings=[]), "scan-5", 1))
        # Then that scan verifies the case
        verified = store.case(case.id)
        assert verified.status == "verified"
        assert verified.events[-1].scan_id == "scan-5"


def test_a_upnp_mapping_case_is_verified_only_by_a_scan_that_read_the_gateway_again(
    tmp_path: Path,
) -> None:
    _upnp_case_lifecycle(tmp_path, stored_by_1_6=False)


def test_a_upnp_mapping_case_opened_by_a_1_6_document_finds_its_gateway_in_the_words(
    tmp_path: Path,
) -> None:
    _upnp_case_lifecycle(tmp_path, stored_by_1_6=True)


def test_a_upnp_mapping_case_stays_open_while_the_gateway_still_maps_the_camera(
    tmp_path: Path,
) -> None:
    with open_store(normalise_db_arg(str(tmp_path / "still.db"))) as store:
        store.save_document(_at(_discovered(gateway="read", mappings=[MAPPING]), "scan-1", 2))
        case = _case_of(store, UPNP)
        # When the gateway's table is read again and still holds the mapping
        store.save_document(_at(_discovered(gateway="read", mappings=[MAPPING]), "scan-2", 1))
        # Then the camera has the exposure again: the case is not verified
        assert store.case(case.id).status == "open"


def _golden_scan(scan_id: str, year: int, ports: list[int], **device: Any) -> ScanDocument:
    return golden_scan(scan_id, year, ports, ip="127.0.63.1", serial="SER-PORT-1", **device)


def _without_exposure(probe: str, port: int) -> dict[str, Any]:
    attempt = AttemptEntry(probe=probe, port=port, status=AttemptStatus.OK, error="", elapsed_s=0.1)
    return {"exposure": [], "remediation": [], "attempts": [attempt], "open_ports": [port]}


def _rtsp_case(tmp_path: Path, exposure: ExposureEntry, *, stored_by_1_6: bool) -> list[str]:
    """The case's status after each later scan: of port 80 only, then of 554."""
    database = tmp_path / "rtsp.db"
    urgent = RemediationEntry(
        action="reconfigure", reason=exposure.detail, priority=1, detail="enable RTSP auth"
    )
    with open_store(normalise_db_arg(str(database))) as store:
        fields = {"exposure": [exposure], "remediation": [urgent]}
        store.save_document(_golden_scan("scan-2026", 2026, [80, 554], **fields))
        case = _case_of(store, RTSP)
    if stored_by_1_6:
        _as_stored_by_1_6(database, "scan-2026")
    statuses = []
    with open_store(normalise_db_arg(str(database))) as store:
        store.save_document(_golden_scan("scan-2027", 2027, [80], **_without_exposure("http", 80)))
        statuses.append(store.case(case.id).status)
        store.save_document(
            _golden_scan("scan-2028", 2028, [554], **_without_exposure("rtsp", 554))
        )
        statuses.append(store.case(case.id).status)
    return statuses


def test_an_exposure_case_reads_the_structured_port_not_the_words(tmp_path: Path) -> None:
    # Given an exposure whose words name no port (or another one) but whose port is 554
    exposure = ExposureEntry(
        kind="rtsp_unauthenticated",
        detail="RTSP answered DESCRIBE with 200 without credentials (see port 80 notes)",
        evidence="rtsp.status_line 'RTSP/1.0 200 OK'",
        port=554,
    )
    # Then a scan of port 80 shows nothing; one whose RTSP probe answered on 554 verifies it
    assert _rtsp_case(tmp_path, exposure, stored_by_1_6=False) == ["open", "verified"]


def test_an_exposure_case_of_a_1_6_document_reads_the_port_from_the_words(
    tmp_path: Path,
) -> None:
    # Given the golden's exposure as a 1.6 release stored it (the port only in its words)
    golden_1_6 = from_contract(GOLDEN_1_6.read_text(encoding="utf-8"))
    (exposure,) = golden_1_6.devices[0].exposure
    assert exposure.port is None and "port 554" in exposure.detail
    # Then the case follows port 554 all the same
    assert _rtsp_case(tmp_path, exposure, stored_by_1_6=True) == ["open", "verified"]


def test_a_restricted_case_names_the_structured_alternatives(tmp_path: Path) -> None:
    # Given a restricted device whose evidence allows Dahua or Hikvision, said only in the
    # structured alternatives (its replace reason names one maker)
    golden = from_contract(GOLDEN.read_text(encoding="utf-8"))
    device = golden.devices[0]
    assert device.restricted and device.manufacturer == "Dahua"
    assert not any(" or " in item.reason for item in device.remediation)
    alternatives = [MakerCandidateEntry(maker="Hikvision", family="hikvision")]
    with open_store(normalise_db_arg(str(tmp_path / "makers.db"))) as store:
        store.save_document(_golden_scan("scan-2026", 2026, [80], alternatives=alternatives))
        case = _case_of(store, "restricted")
    # Then its case names both makers
    assert case.reason.startswith("restricted maker Dahua or Hikvision ("), case.reason


def test_a_1_6_document_names_the_candidate_makers_in_its_replace_reason() -> None:
    # Given a 1.6 device document (no alternatives) whose replace reason names two makers
    golden_1_6 = from_contract(GOLDEN_1_6.read_text(encoding="utf-8"))
    document: dict[str, Any] = golden_1_6.devices[0].model_dump(mode="json")
    del document["alternatives"]
    reason = (
        "maker Dahua or Hikvision (the evidence does not say which; each is restricted) "
        "is restricted by policy us"
    )
    document["remediation"] = [{"action": "replace", "reason": reason, "priority": 2}]
    # Then both are read from the words, as before 1.7
    assert candidate_makers(document) == ("Dahua", "Hikvision")
    # And a 1.7 document's alternatives are read without any words
    structured = {**document, "remediation": [], "alternatives": [{"maker": "Hikvision"}]}
    assert candidate_makers(structured) == ("Dahua", "Hikvision")

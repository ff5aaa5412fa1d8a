"""The JSON contract: golden output, committed schema, strict reading back."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from provscan.model import MakerCandidate, Observation, PhoneHome, ScanResult
from provscan.report.contract import (
    SCHEMA_FILENAME,
    SCHEMA_VERSION,
    from_contract,
    generate_schema_text,
    load_schema,
    to_contract,
    to_domain,
)
from provscan.report.formats import render_json

GOLDEN = Path(__file__).parent / "golden" / "scan_v1.json"
COMMITTED_SCHEMA = (
    Path(__file__).parents[2] / "src" / "provscan" / "report" / "schema" / SCHEMA_FILENAME
)


def _golden_object() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(GOLDEN.read_text(encoding="utf-8"))
    return data


def test_render_json_equals_the_golden_file(sample_result: ScanResult) -> None:
    rendered = render_json(sample_result)
    if os.environ.get("PROVSCAN_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(rendered, encoding="utf-8", newline="\n")
    assert rendered == GOLDEN.read_text(encoding="utf-8")


def test_golden_file_validates_against_the_committed_schema() -> None:
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(_golden_object())


def test_committed_schema_is_up_to_date() -> None:
    # Fix with: python scripts/gen_schema.py
    assert COMMITTED_SCHEMA.read_text(encoding="utf-8") == generate_schema_text()


def test_schema_rejects_unknown_keys_and_wrong_types() -> None:
    validator = jsonschema.Draft202012Validator(load_schema())
    extra = _golden_object()
    extra["devices"][0]["vendor_comment"] = "unexpected"
    assert not validator.is_valid(extra)
    wrong_type = _golden_object()
    wrong_type["devices"][0]["open_ports"] = ["80"]
    assert not validator.is_valid(wrong_type)


def test_document_carries_version_counts_and_utc_times(sample_result: ScanResult) -> None:
    document = to_contract(sample_result)
    assert document.schema_version == SCHEMA_VERSION == "1.8"
    assert document.scan.devices_found == 2
    assert document.scan.restricted_count == 1
    assert document.scan.started_at.utcoffset() is not None
    assert json.loads(render_json(sample_result))["scan"]["started_at"] == "2026-01-01T12:00:00Z"


def test_devices_are_ordered_by_address_not_by_completion(sample_result: ScanResult) -> None:
    # Given the same devices in two orders, one with an IPv6 host
    v6 = replace(sample_result.devices[0], ip="2001:db8::5")
    v4_high = replace(sample_result.devices[0], ip="192.0.2.100")
    forwards = replace(sample_result, devices=(*sample_result.devices, v6, v4_high))
    backwards = replace(sample_result, devices=tuple(reversed(forwards.devices)))
    # Then the contract lists them identically, IPv4 numerically first
    ips = [device.ip for device in to_contract(forwards).devices]
    assert ips == ["192.0.2.10", "192.0.2.20", "192.0.2.100", "2001:db8::5"]
    assert render_json(forwards) == render_json(backwards)


def test_naive_timestamps_are_taken_as_local_time_and_stored_as_utc(
    sample_result: ScanResult,
) -> None:
    naive = datetime(2026, 1, 1, 12, 0, 0)
    info = replace(sample_result.info, started_at=naive, finished_at=None)
    document = to_contract(replace(sample_result, info=info))
    assert document.scan.started_at == naive.astimezone()
    assert document.scan.started_at.utcoffset() is not None
    assert document.scan.finished_at is None


def test_from_contract_reads_text_and_objects_alike(sample_result: ScanResult) -> None:
    expected = to_contract(sample_result)
    assert from_contract(GOLDEN.read_text(encoding="utf-8")) == expected
    assert from_contract(GOLDEN.read_bytes()) == expected
    assert from_contract(_golden_object()) == expected


def test_to_domain_round_trips_through_the_contract(sample_result: ScanResult) -> None:
    document = from_contract(_golden_object())
    assert to_contract(to_domain(document)) == document


@pytest.mark.parametrize(
    ("where", "key", "value"),
    [
        ("top", "comment", "extra keys are refused"),
        ("top", "schema_version", "2.0"),
        ("device", "open_ports", ["80"]),
        ("device", "confidence", 1.5),
        ("device", "restricted", "yes"),
        ("scan", "started_at", "2026-01-01T12:00:00"),
        ("scan", "devices_found", 3),
        ("scan", "restricted_count", 0),
        ("attempt", "status", "exploded"),
    ],
)
def test_from_contract_is_strict(where: str, key: str, value: object) -> None:
    data = _golden_object()
    target = {
        "top": data,
        "scan": data["scan"],
        "device": data["devices"][0],
        "attempt": data["devices"][0]["attempts"][0],
    }[where]
    target[key] = value
    with pytest.raises(ValidationError):
        from_contract(data)


def test_from_contract_requires_every_key() -> None:
    data = _golden_object()
    del data["devices"][1]["serial"]
    with pytest.raises(ValidationError):
        from_contract(data)


def test_every_domain_field_survives_the_round_trip(sample_result: ScanResult) -> None:
    # Given a device with every contract field set, a context-only finding and a contact
    amcrest = next(device for device in sample_result.devices if device.brand == "Amcrest")
    context = replace(amcrest.findings[1], scope_note="Listed for context.", effect="context")
    contact = PhoneHome(
        service="Hik-Connect device platform",
        endpoint="litedev.hik-connect.com",
        packet=7,
        time=datetime(2026, 1, 1, 12, 0, 5, 500000, tzinfo=UTC),
    )
    full = replace(amcrest, findings=(amcrest.findings[0], context), phones_home=(contact,))
    result = replace(sample_result, devices=(full,))
    # When it goes to the contract and back
    document = to_contract(result)
    back = to_domain(document)
    # Then the domain values are the same, the effect and binding are fields of their own
    assert back == result
    finding = document.devices[0].findings[1]
    assert finding.scope_note == "Listed for context."
    assert (finding.effect, finding.binding) == ("context", True)
    assert document.scan.acting_as == ["us:federal-agency", "us:equipment-supplier"]


def test_in_process_fields_stay_out_of_the_contract(sample_result: ScanResult) -> None:
    device = sample_result.devices[0]
    observation = Observation(protocol="http", port=80, field="http.server", value="x")
    attempt = replace(device.attempts[0], observations=(observation,))
    busy = replace(device, observations=(observation,), attempts=(attempt, *device.attempts[1:]))
    result = replace(sample_result, devices=(busy,))
    assert to_contract(result) == to_contract(replace(sample_result, devices=(device,)))
    back = to_domain(to_contract(result)).devices[0]
    assert back.observations == back.attempts[0].observations == ()


def test_the_makers_the_evidence_leaves_open_cross_the_contract(
    sample_result: ScanResult,
) -> None:
    # Given a device whose evidence allows another maker as well (contract 1.7)
    device = replace(
        sample_result.devices[0],
        alternatives=(MakerCandidate(maker="Hikvision", family="hikvision"),),
    )
    document = to_contract(replace(sample_result, devices=(device,)))
    # Then the contract names it with its family, and reading it back gives the same device
    entry = document.devices[0]
    assert [(a.maker, a.family) for a in entry.alternatives] == [("Hikvision", "hikvision")]
    assert to_domain(document).devices[0].alternatives == device.alternatives
    # And alternatives without a manufacturer are refused
    broken = document.model_dump(mode="json")
    broken["devices"][0]["manufacturer"] = None
    broken["devices"][0]["verdict"] = "restricted"
    with pytest.raises(ValidationError, match="alternatives are given but manufacturer"):
        from_contract(broken)

"""Contract 1.4: every device says its verdict, so that a filter on ``restricted == false``
is not taken for "clear" (an unknown device is not restricted either: newcomer review)."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import jsonschema
import pydantic
import pytest

from provscan.model import Device, ScanResult
from provscan.report.contract import (
    SCHEMA_VERSION,
    from_contract,
    load_schema,
    to_contract,
    upgrade_document,
    verdict_of,
)
from provscan.report.formats import verdict

GOLDEN = Path(__file__).parent / "golden"


def _document(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GOLDEN / name).read_text(encoding="utf-8"))
    return data


def _four(device: Device) -> list[Device]:
    """The same device as restricted, to review, unknown and clear."""
    base = dataclasses.replace(device, restricted=False, findings=(), notes=())
    return [
        device if device.restricted else dataclasses.replace(device, restricted=True),
        dataclasses.replace(base, manufacturer=None, notes=("review: possibly made by Dahua",)),
        dataclasses.replace(base, manufacturer=None, brand=None),
        dataclasses.replace(base, manufacturer="Axis"),
    ]


def test_each_device_carries_its_verdict(sample_result: ScanResult) -> None:
    device = next(d for d in sample_result.devices if d.restricted)
    devices = _four(device)
    result = dataclasses.replace(sample_result, devices=tuple(devices))
    document = to_contract(result).model_dump(mode="json")
    by_ip = {d["ip"]: d for d in document["devices"]}
    # (one address for the four: ordered by address, so compare as the contract orders them)
    assert sorted(d["verdict"] for d in document["devices"]) == sorted(
        ["restricted", "review", "unknown", "clear"]
    )
    assert len(by_ip) == 1
    # The table groups by the same word
    assert [verdict(d) for d in devices] == ["restricted", "review", "unknown", "clear"]
    unknown = next(d for d in document["devices"] if d["verdict"] == "unknown")
    assert unknown["restricted"] is False, "not restricted, and not cleared either"
    jsonschema.Draft202012Validator(load_schema()).validate(document)


@pytest.mark.parametrize("name", ["scan_v1_3.json", "scan_v1_2.json"])
def test_an_earlier_document_reads_with_the_verdicts_its_fields_give(name: str) -> None:
    old = _document(name)
    before = copy.deepcopy(old)
    assert all("verdict" not in device for device in old["devices"])
    for source in (json.dumps(old), json.dumps(old).encode(), old):
        document = from_contract(source)
        assert document.schema_version == SCHEMA_VERSION == "1.8"
        for entry in document.devices:
            assert entry.verdict == verdict_of(entry.restricted, entry.notes, entry.manufacturer)
    upgraded = upgrade_document(old)
    jsonschema.Draft202012Validator(load_schema()).validate(upgraded)
    assert old == before, "the input is not changed"


def test_the_1_3_golden_reads_as_the_1_4_golden() -> None:
    assert from_contract(_document("scan_v1_3.json")) == from_contract(_document("scan_v1_4.json"))


def test_a_verdict_that_contradicts_the_fields_is_refused() -> None:
    document = _document("scan_v1.json")
    restricted = next(d for d in document["devices"] if d["restricted"])
    restricted["verdict"] = "clear"
    with pytest.raises(pydantic.ValidationError, match="verdict is 'clear'"):
        from_contract(document)
    with pytest.raises(jsonschema.ValidationError):
        bad = _document("scan_v1.json")
        bad["devices"][0]["verdict"] = "fine"
        jsonschema.Draft202012Validator(load_schema()).validate(bad)


def test_the_csv_ends_with_the_verdict(sample_result: ScanResult) -> None:
    import csv
    import io

    from provscan.report.formats import CSV_COLUMNS, render_csv

    device = next(d for d in sample_result.devices if d.restricted)
    devices = _four(device)
    rows = list(
        csv.DictReader(
            io.StringIO(render_csv(dataclasses.replace(sample_result, devices=tuple(devices))))
        )
    )
    assert CSV_COLUMNS[-1] == "verdict"
    assert sorted((r["restricted"], r["verdict"]) for r in rows) == sorted(
        [("true", "restricted"), ("false", "review"), ("false", "unknown"), ("false", "clear")]
    )

"""Contract 1.8: a remediation item carries ``effort``, the rough effort of its kind of action
(the table's Effort column, remediation.yaml). 1.7 documents (the committed golden a 1.7
release wrote) still read, with the effort not recorded."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from provscan.report.contract import (
    READABLE_VERSIONS,
    SCHEMA_VERSION,
    from_contract,
    load_schema,
    to_domain,
    upgrade_document,
)

GOLDEN = Path(__file__).parent / "golden"


def _document(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GOLDEN / name).read_text(encoding="utf-8"))
    return data


def test_the_current_golden_carries_each_items_effort() -> None:
    document = _document("scan_v1.json")
    assert document["schema_version"] == SCHEMA_VERSION == "1.8"
    items = [item for device in document["devices"] for item in device["remediation"]]
    assert [(item["action"], item["effort"]) for item in items] == [
        ("replace", "months"),
        ("reconfigure", "hours"),
    ]
    result = to_domain(from_contract(document))
    assert [r.effort for d in result.devices for r in d.remediation] == ["months", "hours"]


def test_a_1_7_document_reads_as_1_8_with_the_effort_not_recorded() -> None:
    old = _document("scan_v1_7.json")
    assert old["schema_version"] == "1.7" and "1.7" in READABLE_VERSIONS
    assert all("effort" not in r for device in old["devices"] for r in device["remediation"])
    before = copy.deepcopy(old)
    current = from_contract(_document("scan_v1.json"))
    for source in (json.dumps(old), json.dumps(old).encode(), old):
        document = from_contract(source)
        assert document.schema_version == SCHEMA_VERSION
        items = [r for device in document.devices for r in device.remediation]
        assert items and all(r.effort is None for r in items)
        # the same scan as the current golden but for the effort, not recorded in 1.7
        devices = [
            device.model_copy(
                update={
                    "remediation": [
                        r.model_copy(update={"effort": None}) for r in device.remediation
                    ]
                }
            )
            for device in current.devices
        ]
        assert document == current.model_copy(update={"devices": devices})
    jsonschema.Draft202012Validator(load_schema()).validate(upgrade_document(old))
    assert old == before, "the input is not changed"


def test_the_schema_describes_the_effort() -> None:
    item = load_schema()["$defs"]["RemediationEntry"]["properties"]["effort"]
    assert "Effort column" in item["description"]
    assert {"type": "null"} in item["anyOf"]


@pytest.mark.parametrize("value", [3, ["hours"], {"label": "hours"}])
def test_a_malformed_effort_is_refused(value: object) -> None:
    document = _document("scan_v1.json")
    document["devices"][0]["remediation"][0]["effort"] = value
    with pytest.raises(ValidationError):
        from_contract(document)

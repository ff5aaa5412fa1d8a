"""Contract 1.3 reads 1.2 documents (issue 12): the store keeps documents written by 1.2."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema

from provscan.report.contract import (
    CONTEXT_SCOPE_PREFIX,
    SCHEMA_VERSION,
    from_contract,
    load_schema,
    to_domain,
    upgrade_document,
)

GOLDEN_1_2 = Path(__file__).parent / "golden" / "scan_v1_2.json"


def _document_1_2() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(GOLDEN_1_2.read_text(encoding="utf-8"))
    assert data["schema_version"] == "1.2"
    return data


def test_a_1_2_document_reads_as_1_3() -> None:
    # Given a document a 1.2 release wrote, with one finding marked context the 1.2 way
    old = _document_1_2()
    finding = old["devices"][0]["findings"][1]
    finding["scope_note"] = CONTEXT_SCOPE_PREFIX + "Listed for context."
    before = copy.deepcopy(old)
    # When it is read, as text and as an object
    for source in (json.dumps(old), json.dumps(old).encode(), old):
        document = from_contract(source)
        # Then it is a 1.3 document: effect from the prefix, binding unknown, nobody acting
        assert document.schema_version == SCHEMA_VERSION == "1.8"
        assert document.scan.acting_as == []
        findings = document.devices[0].findings
        assert [(f.effect, f.binding) for f in findings] == [
            ("restricts", None),
            ("context", None),
        ]
        assert findings[1].scope_note == "Listed for context."
    # And the input object was not changed
    assert old == before


def test_an_upgraded_document_follows_the_committed_schema_and_reaches_the_domain() -> None:
    upgraded = upgrade_document(_document_1_2())
    jsonschema.Draft202012Validator(load_schema()).validate(upgraded)
    result = to_domain(from_contract(upgraded))
    restricted = [device for device in result.devices if device.restricted]
    assert restricted and all(f.restricts for f in restricted[0].findings)
    assert result.info.acting_as == ()


def test_a_1_3_document_is_left_as_it_is() -> None:
    upgraded = upgrade_document(_document_1_2())
    assert upgrade_document(upgraded) == upgraded

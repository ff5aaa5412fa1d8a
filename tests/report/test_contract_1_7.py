"""Contract 1.7: an exposure carries the port it is on and, for a UPnP mapping, the gateway
it was read from; a device carries the other makers its evidence allows. 1.6 documents (the
committed golden a 1.6 release wrote) still read, with those facts not recorded."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from provscan.report.contract import SCHEMA_VERSION, from_contract, load_schema, upgrade_document

GOLDEN = Path(__file__).parent / "golden"


def _document(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GOLDEN / name).read_text(encoding="utf-8"))
    return data


def test_a_1_6_document_reads_as_1_7_with_the_new_facts_not_recorded() -> None:
    old = _document("scan_v1_6.json")
    assert old["schema_version"] == "1.6"
    assert all("alternatives" not in device for device in old["devices"])
    assert all("port" not in e for device in old["devices"] for e in device["exposure"])
    before = copy.deepcopy(old)
    current = from_contract(_document("scan_v1.json"))
    for source in (json.dumps(old), json.dumps(old).encode(), old):
        document = from_contract(source)
        assert document.schema_version == SCHEMA_VERSION == "1.8"
        exposures = [e for device in document.devices for e in device.exposure]
        assert exposures and all(e.port is None and e.source is None for e in exposures)
        assert all(device.alternatives == [] for device in document.devices)
        # the same scan as the current golden, but for the port 1.6 said only in words
        (rtsp,) = current.devices[0].exposure
        assert rtsp.port == 554 and "port 554" in rtsp.detail
        first = current.devices[0].model_copy(
            update={"exposure": [rtsp.model_copy(update={"port": None})]}
        )
        # (and the effort of each remediation item, which 1.8 added: not recorded either)
        devices = [
            device.model_copy(
                update={
                    "remediation": [
                        r.model_copy(update={"effort": None}) for r in device.remediation
                    ]
                }
            )
            for device in (first, *current.devices[1:])
        ]
        assert document == current.model_copy(update={"devices": devices})
    jsonschema.Draft202012Validator(load_schema()).validate(upgrade_document(old))
    assert old == before, "the input is not changed"


def test_the_schema_describes_port_source_and_alternatives() -> None:
    definitions = load_schema()["$defs"]
    exposure = definitions["ExposureEntry"]["properties"]
    assert "UPnP" in exposure["source"]["description"]
    assert exposure["port"]["anyOf"][0]["maximum"] == 65535
    device = definitions["DeviceEntry"]["properties"]
    assert "manufacturer" in device["alternatives"]["description"]
    assert set(definitions["MakerCandidateEntry"]["properties"]) == {"maker", "family"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"port": 70000}, "less than or equal to 65535"),
        ({"port": "554"}, "valid integer"),
        ({"source": 1}, "valid string"),
    ],
)
def test_a_malformed_exposure_is_refused(change: dict[str, Any], message: str) -> None:
    document = _document("scan_v1.json")
    document["devices"][0]["exposure"][0].update(change)
    with pytest.raises(ValidationError, match=message):
        from_contract(document)
